"""Symbolic rendering of flag parameters (`evt.arg.flags` -> `O_RDONLY|O_CLOEXEC`), as libsinsp prints them.

The scap format stores flags in the driver's portable encoding (`PPM_O_*`, ...), not the kernel's. libsinsp
renders a flags value by walking its name table in table order, appending every name whose bits are all set
and clearing those bits so that a composite value (O_RDWR) is not also printed as its parts; a zero value
prints the table's zero name. The tables below are restated from the driver's flag definitions (values are
facts of the format). Rendering is done once per distinct value in a batch, then gathered.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# PPM_O_* open flags, in libsinsp's table order (order decides the printed order).
FILE_FLAGS: tuple[tuple[str, int], ...] = (
    ("O_LARGEFILE", 1 << 11), ("O_DIRECTORY", 1 << 10), ("O_DIRECT", 1 << 9), ("O_TRUNC", 1 << 8),
    ("O_SYNC", 1 << 7), ("O_NONBLOCK", 1 << 6), ("O_EXCL", 1 << 5), ("O_DSYNC", 1 << 4), ("O_APPEND", 1 << 3),
    ("O_CREAT", 1 << 2), ("O_RDWR", 3), ("O_WRONLY", 1 << 1), ("O_RDONLY", 1 << 0), ("O_CLOEXEC", 1 << 12),
    ("O_NONE", 0), ("O_TMPFILE", 1 << 13),
)
PPM_O_RDONLY = 1 << 0
PPM_O_WRONLY = 1 << 1
PPM_O_CREAT = 1 << 2
PPM_O_DIRECTORY = 1 << 10
PPM_O_TMPFILE = 1 << 13

# mmap flags (PPM_MAP_*), clone flags are not needed by any supported field.
MMAP_FLAGS: tuple[tuple[str, int], ...] = (
    ("MAP_SHARED", 1 << 0), ("MAP_PRIVATE", 1 << 1), ("MAP_FIXED", 1 << 2), ("MAP_ANONYMOUS", 1 << 3),
    ("MAP_32BIT", 1 << 4), ("MAP_RENAME", 1 << 5), ("MAP_NORESERVE", 1 << 6), ("MAP_POPULATE", 1 << 7),
    ("MAP_NONBLOCK", 1 << 8), ("MAP_GROWSDOWN", 1 << 9), ("MAP_DENYWRITE", 1 << 10),
    ("MAP_EXECUTABLE", 1 << 11), ("MAP_INHERIT", 1 << 12), ("MAP_FILE", 1 << 13), ("MAP_LOCKED", 1 << 14),
)

# Which table renders the `flags` parameter of an event (by event name); other events print the number.
FLAGS_TABLE_BY_EVENT: dict[str, tuple[tuple[str, int], ...]] = {
    "open": FILE_FLAGS, "openat": FILE_FLAGS, "openat2": FILE_FLAGS, "open_by_handle_at": FILE_FLAGS,
    "mmap": MMAP_FLAGS, "mmap2": MMAP_FLAGS,
}


def render_flags(value: int, table: tuple[tuple[str, int], ...]) -> str:
    """libsinsp's symbolic text of one flags value."""
    names = []
    remaining = value
    for name, bits in table:
        if bits == 0:
            if value == 0:
                names.append(name)
            continue
        if remaining and remaining & bits == bits:
            names.append(name)
            remaining &= ~bits
    return "|".join(names)


def render_flags_column(values: pa.Array, table: tuple[tuple[str, int], ...]) -> pa.Array:
    """Render a whole integer column: each distinct value is rendered once, then gathered."""
    values = values.cast(pa.int64())
    if len(values) == 0:
        return pa.array([], type=pa.string())
    encoded = pc.dictionary_encode(values)
    texts = pa.array([render_flags(v, table) for v in encoded.dictionary.to_pylist()], type=pa.string())
    indices = encoded.indices
    return texts.take(indices)


def has_bits(values: pa.Array, bits: int) -> np.ndarray:
    """Boolean mask: all `bits` set (nulls give False)."""
    raw = values.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    return (raw & bits) == bits
