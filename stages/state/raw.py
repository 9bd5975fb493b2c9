"""Typed access to the columns of a raw event batch (`kernel.scap` column contract), absent columns tolerated.

A raw batch has `evt.num`, `evt.rawtime`, `thread.tid`, `evt.type_id`, `evt.type`, `evt.dir`, `evt.rawres` and
one `arg.<name>` column per event parameter; a parameter an event does not carry is null. Live capture
produces the same model with exit events only.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class RawBatch:
    """Wraps a raw RecordBatch with helpers returning numpy arrays and Arrow columns."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        self.batch = batch
        self.n = batch.num_rows
        self.names = set(batch.schema.names)
        self._cache: dict[str, object] = {}

    def has(self, name: str) -> bool:
        return name in self.names

    def arrow(self, name: str, kind: pa.DataType | None = None) -> pa.Array:
        """The column (chunks combined), or all-null of `kind` when absent."""
        if name not in self.names:
            return pa.nulls(self.n, type=kind or pa.null())
        column = self.batch.column(name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if kind is not None and column.type != kind:
            column = column.cast(kind)
        return column

    def ints(self, name: str, default: int = 0) -> np.ndarray:
        """int64 values, `default` where null or absent."""
        key = f"ints:{name}:{default}"
        if key not in self._cache:
            if name not in self.names:
                self._cache[key] = np.full(self.n, default, dtype=np.int64)
            else:
                column = self.arrow(name)
                if pa.types.is_unsigned_integer(column.type):
                    column = pc.cast(column, pa.int64(), safe=False)
                self._cache[key] = column.cast(pa.int64()).fill_null(default).to_numpy(zero_copy_only=False)
        return self._cache[key]

    def valid(self, name: str) -> np.ndarray:
        if name not in self.names:
            return np.zeros(self.n, dtype=bool)
        return self.arrow(name).is_valid().to_numpy(zero_copy_only=False)

    def type_in(self, names: Iterable[str]) -> np.ndarray:
        """Rows whose `evt.type` is one of `names`."""
        column = self.arrow("evt.type", pa.string())
        return pc.fill_null(pc.is_in(column, value_set=pa.array(sorted(names), type=pa.string())),
                            False).to_numpy(zero_copy_only=False)

    def is_exit(self) -> np.ndarray:
        if "evt.dir" in self.names:
            return pc.fill_null(pc.equal(self.arrow("evt.dir", pa.string()), "<"), False).to_numpy(
                zero_copy_only=False)
        return (self.ints("evt.type_id") & 1) == 1

    def rows_pos(self) -> np.ndarray:
        """Query positions of the rows for as-of joins (see `stages.state.asof`)."""
        return 2 * np.arange(self.n, dtype=np.int64)

    def strings(self, name: str) -> pa.Array:
        """A string column (binary decoded as UTF-8), all-null when absent."""
        column = self.arrow(name) if name in self.names else pa.nulls(self.n, type=pa.string())
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            column = pc.cast(column, pa.string(), safe=False)
        if pa.types.is_large_string(column.type):
            column = column.cast(pa.string())
        if pa.types.is_null(column.type):
            column = column.cast(pa.string())
        return column

    def string_list(self, name: str) -> pa.Array:
        """A list<string> column (args, env, cgroups); NUL-separated text is split; all-null when absent."""
        if name not in self.names:
            return pa.nulls(self.n, type=pa.list_(pa.string()))
        column = self.arrow(name)
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            return column.cast(pa.list_(pa.string()))
        text = self.strings(name)
        parts = pc.split_pattern(pc.utf8_rtrim(text, characters="\0"), pattern="\0")
        return parts.cast(pa.list_(pa.string()))
