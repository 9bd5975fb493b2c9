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


# Enumerations: a parameter that holds one value of a list (not a set of bits) prints that value's name.
PTRACE_REQUESTS = ("PTRACE_UNKNOWN", "PTRACE_TRACEME", "PTRACE_PEEKTEXT", "PTRACE_PEEKDATA", "PTRACE_PEEKUSR",
                   "PTRACE_POKETEXT", "PTRACE_POKEDATA", "PTRACE_POKEUSR", "PTRACE_CONT", "PTRACE_KILL",
                   "PTRACE_SINGLESTEP", "PTRACE_ATTACH", "PTRACE_DETACH", "PTRACE_SYSCALL", "PTRACE_SETOPTIONS",
                   "PTRACE_GETEVENTMSG", "PTRACE_GETSIGINFO", "PTRACE_SETSIGINFO", "PTRACE_GETREGSET",
                   "PTRACE_SETREGSET", "PTRACE_SEIZE", "PTRACE_INTERRUPT", "PTRACE_LISTEN", "PTRACE_PEEKSIGINFO",
                   "PTRACE_GETSIGMASK", "PTRACE_SETSIGMASK", "PTRACE_GETREGS", "PTRACE_SETREGS",
                   "PTRACE_GETFPREGS", "PTRACE_SETFPREGS", "PTRACE_GETFPXREGS")  # PPM_PTRACE_* = index
SOCKET_FAMILIES = {0: "AF_UNSPEC", 1: "AF_LOCAL", 2: "AF_INET", 3: "AF_AX25", 4: "AF_IPX", 5: "AF_APPLETALK",
                   6: "AF_NETROM", 7: "AF_BRIDGE", 8: "AF_ATMPVC", 9: "AF_X25", 10: "AF_INET6", 11: "AF_ROSE",
                   12: "AF_DECnet", 13: "AF_NETBEUI", 14: "AF_SECURITY", 15: "AF_KEY", 16: "AF_NETLINK",
                   17: "AF_PACKET", 18: "AF_ASH", 19: "AF_ECONET", 20: "AF_ATMSVC", 21: "AF_RDS", 22: "AF_SNA",
                   23: "AF_IRDA", 24: "AF_PPPOX", 25: "AF_WANPIPE", 26: "AF_LLC", 29: "AF_CAN", 30: "AF_TIPC",
                   31: "AF_BLUETOOTH", 32: "AF_IUCV", 33: "AF_RXRPC", 34: "AF_ISDN", 35: "AF_PHONET",
                   36: "AF_IEEE802154", 37: "AF_CAIF", 38: "AF_ALG", 39: "AF_NFC", 40: "AF_VSOCK"}
RLIMIT_RESOURCES = {0: "RLIMIT_CPU", 1: "RLIMIT_FSIZE", 2: "RLIMIT_DATA", 3: "RLIMIT_STACK", 4: "RLIMIT_CORE",
                    5: "RLIMIT_RSS", 6: "RLIMIT_NPROC", 7: "RLIMIT_NOFILE", 8: "RLIMIT_MEMLOCK", 9: "RLIMIT_AS",
                    10: "RLIMIT_LOCKS", 11: "RLIMIT_SIGPENDING", 12: "RLIMIT_MSGQUEUE", 13: "RLIMIT_NICE",
                    14: "RLIMIT_RTPRIO", 15: "RLIMIT_RTTIME", 255: "RLIMIT_UNKNOWN"}
# (event name, parameter) -> {value: name}
ENUM_TABLES: dict[tuple[str, str], dict[int, str]] = {
    ("ptrace", "request"): dict(enumerate(PTRACE_REQUESTS)),
    ("socket", "domain"): SOCKET_FAMILIES,
    ("socketpair", "domain"): SOCKET_FAMILIES,
    ("getrlimit", "resource"): RLIMIT_RESOURCES,
    ("setrlimit", "resource"): RLIMIT_RESOURCES,
    ("prlimit", "resource"): RLIMIT_RESOURCES,
}


def render_enum_column(values: pa.Array, table: dict[int, str]) -> pa.Array:
    """Each value's name from `table`, or the number when it has none (once per table entry, vectorized)."""
    keys, names = _enum_arrays(table)
    index = pc.index_in(values.cast(pa.int64()), value_set=keys)
    return pc.coalesce(names.take(index), pc.cast(values, pa.string()))


_ENUM_ARRAYS: dict[int, tuple[dict[int, str], pa.Array, pa.Array]] = {}


def _enum_arrays(table: dict[int, str]) -> tuple[pa.Array, pa.Array]:
    """(values, names) of an enumeration table as Arrow arrays, built once per table rather than per batch."""
    cached = _ENUM_ARRAYS.get(id(table))
    if cached is None or cached[0] is not table:
        cached = _ENUM_ARRAYS[id(table)] = (table, pa.array(list(table), type=pa.int64()),
                                            pa.array(list(table.values()), type=pa.string()))
    return cached[1], cached[2]


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
