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

from kernel.scap.decode import filled


class RawBatch:
    """Wraps a raw RecordBatch with helpers returning numpy arrays and Arrow columns.

    With `rows`, it stands for those rows of `batch` only, each column gathered when first read: a view of a
    batch's candidate rows reads a dozen of its ~56 columns."""

    def __init__(self, batch: pa.RecordBatch, rows: np.ndarray | None = None) -> None:
        self.batch = batch
        self.rows = rows
        self._take = None if rows is None else pa.array(rows, type=pa.int64())
        self.n = batch.num_rows if rows is None else len(rows)
        self.names = set(batch.schema.names)
        self._cache: dict[str, object] = {}

    def has(self, name: str) -> bool:
        return name in self.names

    def restricted(self, rows: np.ndarray) -> "RawBatch":
        """These rows (positions in this view) of the batch."""
        return RawBatch(self.batch, rows if self.rows is None else self.rows[rows])

    def column(self, name: str) -> pa.Array:
        """The column as stored (the view's rows of it)."""
        if self._take is None:
            return self.batch.column(name)
        key = ("column", name)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self.batch.column(name).take(self._take)
        return cached

    def arrow(self, name: str, kind: pa.DataType | None = None) -> pa.Array:
        """The column (chunks combined, dictionaries decoded), or all-null of `kind` when absent (memoized)."""
        key = ("arrow", name, kind)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._arrow(name, kind)
        return cached

    def _arrow(self, name: str, kind: pa.DataType | None) -> pa.Array:
        if name not in self.names:
            return pa.nulls(self.n, type=kind or pa.null())
        column = self.column(name)
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
                elif column.type != pa.int64():
                    column = column.cast(pa.int64())
                self._cache[key] = filled(column, default)
        return self._cache[key]

    def valid(self, name: str) -> np.ndarray:
        if name not in self.names:
            return np.zeros(self.n, dtype=bool)
        key = ("valid", name)
        if key not in self._cache:
            column = self.column(name)
            if column.null_count == 0:
                self._cache[key] = np.ones(self.n, dtype=bool)
            else:
                self._cache[key] = column.is_valid().to_numpy(zero_copy_only=False)
        return self._cache[key]

    def codes(self, name: str) -> tuple[np.ndarray, pa.Array]:
        """A text column as (code per row, -1 where null; distinct values): the decoder's dictionary
        column as is, a plain column encoded once. Membership tests then cost one lookup per distinct value."""
        key = ("codes", name)
        if key not in self._cache:
            column = self.column(name) if name in self.names else pa.nulls(self.n, type=pa.string())
            if isinstance(column, pa.ChunkedArray):
                column = column.combine_chunks()
            if not pa.types.is_dictionary(column.type):
                column = pc.dictionary_encode(column)
            indices = column.indices
            if indices.type != pa.int32():
                indices = indices.cast(pa.int32())
            if indices.null_count:
                indices = indices.fill_null(-1)
            # As intp: numpy gathers through 32-bit indices ~3x slower (the lookups of `text_in` are many).
            indices = indices.to_numpy(zero_copy_only=False).astype(np.intp)
            self._cache[key] = (indices, _text_dictionary(column.dictionary))
        return self._cache[key]

    def text_in(self, name: str, values: Iterable[str]) -> np.ndarray:
        """Rows whose text column `name` is one of `values` (memoized per value set)."""
        values = frozenset(values)
        key = ("in", name, values)
        if key not in self._cache:
            indices, dictionary = self.codes(name)
            mask = _membership(dictionary, values)[indices]
            mask.flags.writeable = False  # shared by every caller of this batch
            self._cache[key] = mask
        return self._cache[key]

    def type_in(self, names: Iterable[str]) -> np.ndarray:
        """Rows whose `evt.type` is one of `names`."""
        return self.text_in("evt.type", names)

    def types_present(self, rows: np.ndarray | None = None) -> frozenset[str]:
        """The event types of the rows (all, memoized, or the given ones), read from the type codes: a live
        batch holds a few, so per-type work can skip the others."""
        indices, dictionary = self.codes("evt.type")
        if rows is not None:
            return _used(indices[rows], dictionary)
        key = ("present",)
        if key not in self._cache:
            self._cache[key] = _used(indices, dictionary)
        return self._cache[key]

    def is_exit(self) -> np.ndarray:
        if "evt.dir" in self.names:
            return self.text_in("evt.dir", ("<",))
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


# Membership tables of the last dictionary seen, per value set: the decoder gives every batch the same
# dictionary, so the string comparisons run once per stream rather than once per batch.
_MEMBERSHIP: dict[frozenset[str], tuple[pa.Array, np.ndarray]] = {}
_DICTIONARIES: list[tuple[pa.Array, pa.Array]] = []  # (dictionary, as strings) of the last few seen


def _text_dictionary(dictionary: pa.Array) -> pa.Array:
    """`dictionary` as strings, the very same object for a dictionary equal to one seen lately: the membership
    tables then recognise it by identity, and neither the cast nor a comparison is repeated per value set."""
    for seen, text in _DICTIONARIES:
        if seen is dictionary or (seen.type == dictionary.type and seen.equals(dictionary)):
            return text
    # Kept as a copy: the dictionary is a slice of its batch's memory, which the cache would keep whole
    # (~27 MB for a replay's batch) and which replay reuses for later batches once nothing points into it.
    dictionary = pa.concat_arrays([dictionary])
    text = dictionary.cast(pa.string())
    _DICTIONARIES.insert(0, (dictionary, text))
    del _DICTIONARIES[8:]
    return text


def _membership(dictionary: pa.Array, values: frozenset[str]) -> np.ndarray:
    """Per dictionary entry, whether it is one of `values`; one extra False entry at the end serves nulls (-1)."""
    cached = _MEMBERSHIP.get(values)
    if cached is not None and (cached[0] is dictionary or cached[0].equals(dictionary)):
        return cached[1]
    lookup = np.zeros(len(dictionary) + 1, dtype=bool)
    if len(dictionary):
        lookup[:-1] = pc.fill_null(pc.is_in(dictionary, value_set=pa.array(sorted(values), type=pa.string())),
                                   False).to_numpy(zero_copy_only=False)
    if len(_MEMBERSHIP) > 256:
        _MEMBERSHIP.clear()
    _MEMBERSHIP[values] = (dictionary, lookup)
    return lookup


def _used(indices: np.ndarray, dictionary: pa.Array) -> frozenset[str]:
    """The dictionary values that `indices` (-1: null) use."""
    used = np.flatnonzero(np.bincount(indices[indices >= 0], minlength=len(dictionary)))  # no sort
    return frozenset(dictionary.take(pa.array(used, type=pa.int64())).to_pylist())
