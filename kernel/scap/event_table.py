"""Per-event schema of the scap format: event ids, names, categories, flags and ordered parameters.

The table covers every event id below 336 (``PPM_EVENT_MAX`` of libs 0.1.1dev+git20220316.e5c53d64, the
libs that Debian's sysdig 0.29.3 is built from), with the exact names, categories, flags and parameter
lists of that release (old ``_1``/``_2``... event versions included: old capture files use them), plus
the newer metadata events that appear in public captures (user/group added/deleted, ids 354-359), which
that reader drops. It also holds the generic-syscall table (``PPM_SC_*`` code -> syscall name and
category, used by ``PPME_GENERIC_E/X`` whose ``ID`` parameter carries that code) and errno names for
negative return values.

Facts of the format, written as Python data: ``event_info(type_id)`` returns an ``EventInfo``;
``syscall_name(code)``, ``syscall_category(code)``, ``errno_name(res)`` and ``category_name(category)``
give the texts sysdig shows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache

# The reader of sysdig 0.29.3 knows ids 0..335 and skips any event with a larger id.
SYSDIG_EVENT_MAX = 336
GENERIC_E = 0
GENERIC_X = 1


class ParamType(enum.IntEnum):
    """``ppm_param_type``: how a parameter is encoded on disk."""

    NONE = 0
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    CHARBUF = 9
    BYTEBUF = 10
    ERRNO = 11
    SOCKADDR = 12
    SOCKTUPLE = 13
    FD = 14
    PID = 15
    FDLIST = 16
    FSPATH = 17
    SYSCALLID = 18
    SIGTYPE = 19
    RELTIME = 20
    ABSTIME = 21
    PORT = 22
    L4PROTO = 23
    SOCKFAMILY = 24
    BOOL = 25
    IPV4ADDR = 26
    DYN = 27
    FLAGS8 = 28
    FLAGS16 = 29
    FLAGS32 = 30
    UID = 31
    GID = 32
    DOUBLE = 33
    SIGSET = 34
    CHARBUFARRAY = 35
    CHARBUF_PAIR_ARRAY = 36
    IPV4NET = 37
    IPV6ADDR = 38
    IPV6NET = 39
    IPADDR = 40
    IPNET = 41
    MODE = 42
    FSRELPATH = 43
    ENUMFLAGS8 = 44
    ENUMFLAGS16 = 45
    ENUMFLAGS32 = 46


class PrintFormat(enum.IntEnum):
    """``ppm_print_format``: how sysdig renders an integer parameter."""

    NA = 0
    DEC = 1
    HEX = 2
    PADDED_DEC = 3
    ID = 4
    DIR = 5
    OCT = 6


class Category(enum.IntEnum):
    """``ppm_event_category`` (the base category; newer libs OR in EC_SYSCALL/EC_METAEVENT bits)."""

    UNKNOWN = 0
    OTHER = 1
    FILE = 2
    NET = 3
    IPC = 4
    MEMORY = 5
    PROCESS = 6
    SLEEP = 7
    SYSTEM = 8
    SIGNAL = 9
    USER = 10
    TIME = 11
    PROCESSING = 12
    IO_READ = 32
    IO_WRITE = 33
    IO_OTHER = 34
    WAIT = 64
    SCHEDULER = 128
    INTERNAL = 256


class EventFlags(enum.IntFlag):
    """``ppm_event_flags``."""

    NONE = 0
    CREATES_FD = 1 << 0
    DESTROYS_FD = 1 << 1
    USES_FD = 1 << 2
    READS_FROM_FD = 1 << 3
    WRITES_TO_FD = 1 << 4
    MODIFIES_STATE = 1 << 5
    UNUSED = 1 << 6
    WAITS = 1 << 7
    SKIPPARSERESET = 1 << 8
    OLD_VERSION = 1 << 9
    DROP_SIMPLE_CONS = 1 << 10
    LARGE_PAYLOAD = 1 << 11


class ParamKind(enum.Enum):
    """The Arrow kind a parameter decodes to (see ``kernel.scap.decode``)."""

    INT = "int"  # int64 (unsigned 64-bit values keep their bit pattern)
    STRING = "string"  # NUL-terminated text, decoded as UTF-8 with replacement
    BYTES = "bytes"  # raw bytes: I/O buffers, sockaddr, socktuple, fdlist, dynamic values
    STRLIST = "strlist"  # NUL-separated strings (args, env, cgroups) -> list<string>


_INT_TYPES = frozenset({
    ParamType.INT8, ParamType.INT16, ParamType.INT32, ParamType.INT64, ParamType.UINT8, ParamType.UINT16,
    ParamType.UINT32, ParamType.UINT64, ParamType.ERRNO, ParamType.FD, ParamType.PID, ParamType.SYSCALLID,
    ParamType.SIGTYPE, ParamType.RELTIME, ParamType.ABSTIME, ParamType.PORT, ParamType.L4PROTO,
    ParamType.SOCKFAMILY, ParamType.BOOL, ParamType.FLAGS8, ParamType.FLAGS16, ParamType.FLAGS32,
    ParamType.UID, ParamType.GID, ParamType.SIGSET, ParamType.MODE, ParamType.ENUMFLAGS8,
    ParamType.ENUMFLAGS16, ParamType.ENUMFLAGS32,
})
# Types whose value is sign-extended when stored on fewer than 8 bytes.
SIGNED_TYPES = frozenset({
    ParamType.INT8, ParamType.INT16, ParamType.INT32, ParamType.INT64, ParamType.ERRNO, ParamType.FD,
    ParamType.PID,
})
_STRING_TYPES = frozenset({ParamType.CHARBUF, ParamType.FSPATH, ParamType.FSRELPATH})
# BYTEBUF parameters that hold several NUL-separated strings rather than raw I/O data.
_STRLIST_NAMES = frozenset({"args", "env", "cgroups"})


def param_kind(ptype: ParamType, name: str) -> ParamKind:
    """The Arrow kind of a parameter of type ``ptype`` called ``name``."""
    if ptype in _INT_TYPES:
        return ParamKind.INT
    if ptype in _STRING_TYPES:
        return ParamKind.STRING
    if ptype == ParamType.BYTEBUF and name in _STRLIST_NAMES:
        return ParamKind.STRLIST
    return ParamKind.BYTES


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One parameter of an event: its name, on-disk type and print format."""

    name: str
    type: ParamType
    fmt: PrintFormat

    @property
    def kind(self) -> ParamKind:
        return param_kind(self.type, self.name)


@dataclass(frozen=True, slots=True)
class EventInfo:
    """Schema of one event id."""

    id: int
    name: str
    category: Category
    flags: EventFlags
    params: tuple[ParamInfo, ...]

    @property
    def direction(self) -> str:
        """``>`` for enter events (even ids), ``<`` for exit events (odd ids)."""
        return "<" if self.id & 1 else ">"

    @property
    def is_internal(self) -> bool:
        return self.category == Category.INTERNAL

    @property
    def is_large_payload(self) -> bool:
        """Large-payload events store u32 parameter lengths instead of u16."""
        return bool(self.flags & EventFlags.LARGE_PAYLOAD)


C = Category
F = EventFlags
T = ParamType
P = PrintFormat

# (id, evt.type name, category, flags, ((param name, type, print format), ...))
_EVENT_ROWS: tuple[tuple, ...] = (
    (0, 'syscall', C.OTHER, F.NONE, (('ID', T.SYSCALLID, P.DEC), ('nativeID', T.UINT16, P.DEC))),
    (1, 'syscall', C.OTHER, F.NONE, (('ID', T.SYSCALLID, P.DEC),)),
    (2, 'open', C.FILE, F.CREATES_FD | F.MODIFIES_STATE, (('name', T.FSPATH, P.NA), ('flags', T.FLAGS32, P.HEX), ('mode', T.UINT32, P.OCT))),
    (3, 'open', C.FILE, F.CREATES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('name', T.FSPATH, P.NA), ('flags', T.FLAGS32, P.HEX), ('mode', T.UINT32, P.OCT), ('dev', T.UINT32, P.HEX))),
    (4, 'close', C.IO_OTHER, F.DESTROYS_FD | F.USES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC),)),
    (5, 'close', C.IO_OTHER, F.DESTROYS_FD | F.USES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (6, 'read', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC))),
    (7, 'read', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (8, 'write', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC))),
    (9, 'write', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (10, 'brk', C.MEMORY, F.OLD_VERSION, (('size', T.UINT32, P.DEC),)),
    (11, 'brk', C.MEMORY, F.OLD_VERSION, (('res', T.UINT64, P.HEX),)),
    (12, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (13, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.ERRNO, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.UINT64, P.DEC))),
    (14, 'clone', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (15, 'clone', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC))),
    (16, 'procexit', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (17, 'NA1', C.PROCESS, F.UNUSED, ()),
    (18, 'socket', C.NET, F.CREATES_FD | F.MODIFIES_STATE, (('domain', T.FLAGS32, P.DEC), ('type', T.UINT32, P.DEC), ('proto', T.UINT32, P.DEC))),
    (19, 'socket', C.NET, F.CREATES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC),)),
    (20, 'bind', C.NET, F.USES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC),)),
    (21, 'bind', C.NET, F.USES_FD | F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('addr', T.SOCKADDR, P.NA))),
    (22, 'connect', C.NET, F.USES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('addr', T.SOCKADDR, P.NA))),
    (23, 'connect', C.NET, F.USES_FD | F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('tuple', T.SOCKTUPLE, P.NA))),
    (24, 'listen', C.NET, F.USES_FD, (('fd', T.FD, P.DEC), ('backlog', T.UINT32, P.DEC))),
    (25, 'listen', C.NET, F.USES_FD, (('res', T.ERRNO, P.DEC),)),
    (26, 'accept', C.NET, F.CREATES_FD | F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (27, 'accept', C.NET, F.CREATES_FD | F.MODIFIES_STATE | F.OLD_VERSION, (('fd', T.FD, P.DEC), ('tuple', T.SOCKTUPLE, P.NA), ('queuepct', T.UINT8, P.DEC))),
    (28, 'send', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC))),
    (29, 'send', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (30, 'sendto', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC), ('tuple', T.SOCKTUPLE, P.NA))),
    (31, 'sendto', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (32, 'recv', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC))),
    (33, 'recv', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (34, 'recvfrom', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC))),
    (35, 'recvfrom', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA), ('tuple', T.SOCKTUPLE, P.NA))),
    (36, 'shutdown', C.NET, F.USES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('how', T.FLAGS8, P.HEX))),
    (37, 'shutdown', C.NET, F.USES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (38, 'getsockname', C.NET, F.DROP_SIMPLE_CONS, ()),
    (39, 'getsockname', C.NET, F.DROP_SIMPLE_CONS, ()),
    (40, 'getpeername', C.NET, F.DROP_SIMPLE_CONS, ()),
    (41, 'getpeername', C.NET, F.DROP_SIMPLE_CONS, ()),
    (42, 'socketpair', C.IPC, F.CREATES_FD | F.MODIFIES_STATE, (('domain', T.FLAGS32, P.DEC), ('type', T.UINT32, P.DEC), ('proto', T.UINT32, P.DEC))),
    (43, 'socketpair', C.IPC, F.CREATES_FD | F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('fd1', T.FD, P.DEC), ('fd2', T.FD, P.DEC), ('source', T.UINT64, P.HEX), ('peer', T.UINT64, P.HEX))),
    (44, 'setsockopt', C.NET, F.NONE, ()),
    (45, 'setsockopt', C.NET, F.USES_FD, (('res', T.ERRNO, P.DEC), ('fd', T.FD, P.DEC), ('level', T.FLAGS8, P.DEC), ('optname', T.FLAGS8, P.DEC), ('val', T.DYN, P.DEC), ('optlen', T.UINT32, P.DEC))),
    (46, 'getsockopt', C.NET, F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, ()),
    (47, 'getsockopt', C.NET, F.USES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('fd', T.FD, P.DEC), ('level', T.FLAGS8, P.DEC), ('optname', T.FLAGS8, P.DEC), ('val', T.DYN, P.DEC), ('optlen', T.UINT32, P.DEC))),
    (48, 'sendmsg', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC), ('tuple', T.SOCKTUPLE, P.NA))),
    (49, 'sendmsg', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (50, 'sendmmsg', C.IO_WRITE, F.DROP_SIMPLE_CONS, ()),
    (51, 'sendmmsg', C.IO_WRITE, F.DROP_SIMPLE_CONS, ()),
    (52, 'recvmsg', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC),)),
    (53, 'recvmsg', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('size', T.UINT32, P.DEC), ('data', T.BYTEBUF, P.NA), ('tuple', T.SOCKTUPLE, P.NA))),
    (54, 'recvmmsg', C.IO_READ, F.DROP_SIMPLE_CONS, ()),
    (55, 'recvmmsg', C.IO_READ, F.DROP_SIMPLE_CONS, ()),
    (56, 'accept', C.NET, F.CREATES_FD | F.MODIFIES_STATE | F.OLD_VERSION, (('flags', T.INT32, P.HEX),)),
    (57, 'accept', C.NET, F.CREATES_FD | F.MODIFIES_STATE | F.OLD_VERSION, (('fd', T.FD, P.DEC), ('tuple', T.SOCKTUPLE, P.NA), ('queuepct', T.UINT8, P.DEC))),
    (58, 'creat', C.FILE, F.CREATES_FD | F.MODIFIES_STATE, (('name', T.FSPATH, P.NA), ('mode', T.UINT32, P.OCT))),
    (59, 'creat', C.FILE, F.CREATES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('name', T.FSPATH, P.NA), ('mode', T.UINT32, P.OCT), ('dev', T.UINT32, P.HEX))),
    (60, 'pipe', C.IPC, F.CREATES_FD | F.MODIFIES_STATE, ()),
    (61, 'pipe', C.IPC, F.CREATES_FD | F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('fd1', T.FD, P.DEC), ('fd2', T.FD, P.DEC), ('ino', T.UINT64, P.DEC))),
    (62, 'eventfd', C.IPC, F.CREATES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('initval', T.UINT64, P.DEC), ('flags', T.FLAGS32, P.HEX))),
    (63, 'eventfd', C.IPC, F.CREATES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('res', T.FD, P.DEC),)),
    (64, 'futex', C.IPC, F.DROP_SIMPLE_CONS, (('addr', T.UINT64, P.HEX), ('op', T.FLAGS16, P.HEX), ('val', T.UINT64, P.DEC))),
    (65, 'futex', C.IPC, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (66, 'stat', C.FILE, F.DROP_SIMPLE_CONS, ()),
    (67, 'stat', C.FILE, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('path', T.FSPATH, P.NA))),
    (68, 'lstat', C.FILE, F.DROP_SIMPLE_CONS, ()),
    (69, 'lstat', C.FILE, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('path', T.FSPATH, P.NA))),
    (70, 'fstat', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.NA),)),
    (71, 'fstat', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (72, 'stat64', C.FILE, F.DROP_SIMPLE_CONS, ()),
    (73, 'stat64', C.FILE, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('path', T.FSPATH, P.NA))),
    (74, 'lstat64', C.FILE, F.DROP_SIMPLE_CONS, ()),
    (75, 'lstat64', C.FILE, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('path', T.FSPATH, P.NA))),
    (76, 'fstat64', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.NA),)),
    (77, 'fstat64', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (78, 'epoll_wait', C.WAIT, F.WAITS | F.DROP_SIMPLE_CONS, (('maxevents', T.ERRNO, P.DEC),)),
    (79, 'epoll_wait', C.WAIT, F.WAITS | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (80, 'poll', C.WAIT, F.WAITS | F.DROP_SIMPLE_CONS, (('fds', T.FDLIST, P.DEC), ('timeout', T.INT64, P.DEC))),
    (81, 'poll', C.WAIT, F.WAITS | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('fds', T.FDLIST, P.DEC))),
    (82, 'select', C.WAIT, F.WAITS | F.DROP_SIMPLE_CONS, ()),
    (83, 'select', C.WAIT, F.WAITS | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (84, 'select', C.WAIT, F.WAITS | F.DROP_SIMPLE_CONS, ()),
    (85, 'select', C.WAIT, F.WAITS | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (86, 'lseek', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('offset', T.UINT64, P.DEC), ('whence', T.FLAGS8, P.DEC))),
    (87, 'lseek', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (88, 'llseek', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('offset', T.UINT64, P.DEC), ('whence', T.FLAGS8, P.DEC))),
    (89, 'llseek', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (90, 'ioctl', C.IO_OTHER, F.USES_FD | F.OLD_VERSION, (('fd', T.FD, P.DEC), ('request', T.UINT64, P.HEX))),
    (91, 'ioctl', C.IO_OTHER, F.USES_FD | F.OLD_VERSION, (('res', T.ERRNO, P.DEC),)),
    (92, 'getcwd', C.FILE, F.DROP_SIMPLE_CONS, ()),
    (93, 'getcwd', C.FILE, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('path', T.CHARBUF, P.NA))),
    (94, 'chdir', C.FILE, F.MODIFIES_STATE, ()),
    (95, 'chdir', C.FILE, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('path', T.CHARBUF, P.NA))),
    (96, 'fchdir', C.FILE, F.USES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.NA),)),
    (97, 'fchdir', C.FILE, F.USES_FD | F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC),)),
    (98, 'mkdir', C.FILE, F.NONE, (('path', T.FSPATH, P.NA), ('mode', T.UINT32, P.HEX))),
    (99, 'mkdir', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC),)),
    (100, 'rmdir', C.FILE, F.NONE, (('path', T.FSPATH, P.NA),)),
    (101, 'rmdir', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC),)),
    (102, 'openat', C.FILE, F.CREATES_FD | F.MODIFIES_STATE | F.OLD_VERSION, (('dirfd', T.FD, P.DEC), ('name', T.CHARBUF, P.NA), ('flags', T.FLAGS32, P.HEX), ('mode', T.UINT32, P.OCT))),
    (103, 'openat', C.FILE, F.CREATES_FD | F.MODIFIES_STATE | F.OLD_VERSION, (('fd', T.FD, P.DEC),)),
    (104, 'link', C.FILE, F.OLD_VERSION, (('oldpath', T.FSPATH, P.NA), ('newpath', T.FSPATH, P.NA))),
    (105, 'link', C.FILE, F.OLD_VERSION, (('res', T.ERRNO, P.DEC),)),
    (106, 'linkat', C.FILE, F.OLD_VERSION, (('olddir', T.FD, P.DEC), ('oldpath', T.CHARBUF, P.NA), ('newdir', T.FD, P.DEC), ('newpath', T.CHARBUF, P.NA))),
    (107, 'linkat', C.FILE, F.OLD_VERSION, (('res', T.ERRNO, P.DEC),)),
    (108, 'unlink', C.FILE, F.OLD_VERSION, (('path', T.FSPATH, P.NA),)),
    (109, 'unlink', C.FILE, F.OLD_VERSION, (('res', T.ERRNO, P.DEC),)),
    (110, 'unlinkat', C.FILE, F.OLD_VERSION, (('dirfd', T.FD, P.DEC), ('name', T.CHARBUF, P.NA))),
    (111, 'unlinkat', C.FILE, F.OLD_VERSION, (('res', T.ERRNO, P.DEC),)),
    (112, 'pread', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC), ('pos', T.UINT64, P.DEC))),
    (113, 'pread', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (114, 'pwrite', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC), ('pos', T.UINT64, P.DEC))),
    (115, 'pwrite', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (116, 'readv', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC),)),
    (117, 'readv', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('size', T.UINT32, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (118, 'writev', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC))),
    (119, 'writev', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (120, 'preadv', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('pos', T.UINT64, P.DEC))),
    (121, 'preadv', C.IO_READ, F.USES_FD | F.READS_FROM_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('size', T.UINT32, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (122, 'pwritev', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('size', T.UINT32, P.DEC), ('pos', T.UINT64, P.DEC))),
    (123, 'pwritev', C.IO_WRITE, F.USES_FD | F.WRITES_TO_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('data', T.BYTEBUF, P.NA))),
    (124, 'dup', C.IO_OTHER, F.CREATES_FD | F.USES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC),)),
    (125, 'dup', C.IO_OTHER, F.CREATES_FD | F.USES_FD | F.MODIFIES_STATE, (('res', T.FD, P.DEC),)),
    (126, 'signalfd', C.SIGNAL, F.CREATES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('mask', T.UINT32, P.HEX), ('flags', T.FLAGS8, P.HEX))),
    (127, 'signalfd', C.SIGNAL, F.CREATES_FD | F.MODIFIES_STATE, (('res', T.FD, P.DEC),)),
    (128, 'kill', C.SIGNAL, F.NONE, (('pid', T.PID, P.DEC), ('sig', T.SIGTYPE, P.DEC))),
    (129, 'kill', C.SIGNAL, F.NONE, (('res', T.ERRNO, P.DEC),)),
    (130, 'tkill', C.SIGNAL, F.NONE, (('tid', T.PID, P.DEC), ('sig', T.SIGTYPE, P.DEC))),
    (131, 'tkill', C.SIGNAL, F.NONE, (('res', T.ERRNO, P.DEC),)),
    (132, 'tgkill', C.SIGNAL, F.NONE, (('pid', T.PID, P.DEC), ('tid', T.PID, P.DEC), ('sig', T.SIGTYPE, P.DEC))),
    (133, 'tgkill', C.SIGNAL, F.NONE, (('res', T.ERRNO, P.DEC),)),
    (134, 'nanosleep', C.SLEEP, F.WAITS | F.DROP_SIMPLE_CONS, (('interval', T.RELTIME, P.DEC),)),
    (135, 'nanosleep', C.SLEEP, F.WAITS | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (136, 'timerfd_create', C.TIME, F.CREATES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('clockid', T.UINT8, P.DEC), ('flags', T.FLAGS8, P.HEX))),
    (137, 'timerfd_create', C.TIME, F.CREATES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('res', T.FD, P.DEC),)),
    (138, 'inotify_init', C.IPC, F.CREATES_FD | F.MODIFIES_STATE, (('flags', T.FLAGS8, P.HEX),)),
    (139, 'inotify_init', C.IPC, F.CREATES_FD | F.MODIFIES_STATE, (('res', T.FD, P.DEC),)),
    (140, 'getrlimit', C.PROCESS, F.DROP_SIMPLE_CONS, (('resource', T.FLAGS8, P.DEC),)),
    (141, 'getrlimit', C.PROCESS, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('cur', T.INT64, P.DEC), ('max', T.INT64, P.DEC))),
    (142, 'setrlimit', C.PROCESS, F.DROP_SIMPLE_CONS, (('resource', T.FLAGS8, P.DEC),)),
    (143, 'setrlimit', C.PROCESS, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('cur', T.INT64, P.DEC), ('max', T.INT64, P.DEC))),
    (144, 'prlimit', C.PROCESS, F.NONE, (('pid', T.PID, P.DEC), ('resource', T.FLAGS8, P.DEC))),
    (145, 'prlimit', C.PROCESS, F.NONE, (('res', T.ERRNO, P.DEC), ('newcur', T.INT64, P.DEC), ('newmax', T.INT64, P.DEC), ('oldcur', T.INT64, P.DEC), ('oldmax', T.INT64, P.DEC))),
    (146, 'switch', C.SCHEDULER, F.SKIPPARSERESET | F.OLD_VERSION | F.DROP_SIMPLE_CONS, (('next', T.PID, P.DEC),)),
    (147, 'NA2', C.SCHEDULER, F.UNUSED | F.SKIPPARSERESET | F.OLD_VERSION, ()),
    (148, 'drop', C.INTERNAL, F.SKIPPARSERESET, (('ratio', T.UINT32, P.DEC),)),
    (149, 'drop', C.INTERNAL, F.SKIPPARSERESET, (('ratio', T.UINT32, P.DEC),)),
    (150, 'fcntl', C.IO_OTHER, F.USES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.DEC), ('cmd', T.FLAGS8, P.DEC))),
    (151, 'fcntl', C.IO_OTHER, F.USES_FD | F.MODIFIES_STATE | F.DROP_SIMPLE_CONS, (('res', T.FD, P.DEC),)),
    (152, 'switch', C.SCHEDULER, F.DROP_SIMPLE_CONS, (('next', T.PID, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC))),
    (153, 'NA2', C.SCHEDULER, F.UNUSED, ()),
    (154, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (155, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.ERRNO, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.UINT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC))),
    (156, 'clone', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (157, 'clone', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC))),
    (158, 'brk', C.MEMORY, F.DROP_SIMPLE_CONS, (('addr', T.UINT64, P.HEX),)),
    (159, 'brk', C.MEMORY, F.DROP_SIMPLE_CONS, (('res', T.UINT64, P.HEX), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC))),
    (160, 'mmap', C.MEMORY, F.DROP_SIMPLE_CONS, (('addr', T.UINT64, P.HEX), ('length', T.UINT64, P.DEC), ('prot', T.FLAGS32, P.HEX), ('flags', T.FLAGS32, P.HEX), ('fd', T.FD, P.DEC), ('offset', T.UINT64, P.DEC))),
    (161, 'mmap', C.MEMORY, F.DROP_SIMPLE_CONS, (('res', T.UINT64, P.HEX), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC))),
    (162, 'mmap2', C.MEMORY, F.DROP_SIMPLE_CONS, (('addr', T.UINT64, P.HEX), ('length', T.UINT64, P.DEC), ('prot', T.FLAGS32, P.HEX), ('flags', T.FLAGS32, P.HEX), ('fd', T.FD, P.DEC), ('pgoffset', T.UINT64, P.DEC))),
    (163, 'mmap2', C.MEMORY, F.DROP_SIMPLE_CONS, (('res', T.UINT64, P.HEX), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC))),
    (164, 'munmap', C.MEMORY, F.DROP_SIMPLE_CONS, (('addr', T.UINT64, P.HEX), ('length', T.UINT64, P.DEC))),
    (165, 'munmap', C.MEMORY, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC))),
    (166, 'splice', C.IO_OTHER, F.USES_FD | F.DROP_SIMPLE_CONS, (('fd_in', T.FD, P.DEC), ('fd_out', T.FD, P.DEC), ('size', T.UINT64, P.DEC), ('flags', T.FLAGS32, P.HEX))),
    (167, 'splice', C.IO_OTHER, F.USES_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (168, 'ptrace', C.PROCESS, F.NONE, (('request', T.FLAGS16, P.DEC), ('pid', T.PID, P.DEC))),
    (169, 'ptrace', C.PROCESS, F.NONE, (('res', T.ERRNO, P.DEC), ('addr', T.DYN, P.HEX), ('data', T.DYN, P.HEX))),
    (170, 'ioctl', C.IO_OTHER, F.USES_FD, (('fd', T.FD, P.DEC), ('request', T.UINT64, P.HEX), ('argument', T.UINT64, P.HEX))),
    (171, 'ioctl', C.IO_OTHER, F.USES_FD, (('res', T.ERRNO, P.DEC),)),
    (172, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (173, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.ERRNO, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.UINT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('env', T.BYTEBUF, P.NA))),
    (174, 'rename', C.FILE, F.NONE, ()),
    (175, 'rename', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('oldpath', T.FSPATH, P.NA), ('newpath', T.FSPATH, P.NA))),
    (176, 'renameat', C.FILE, F.NONE, ()),
    (177, 'renameat', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('olddirfd', T.FD, P.DEC), ('oldpath', T.FSRELPATH, P.NA), ('newdirfd', T.FD, P.DEC), ('newpath', T.FSRELPATH, P.NA))),
    (178, 'symlink', C.FILE, F.NONE, ()),
    (179, 'symlink', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('target', T.CHARBUF, P.NA), ('linkpath', T.FSPATH, P.NA))),
    (180, 'symlinkat', C.FILE, F.NONE, ()),
    (181, 'symlinkat', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('target', T.CHARBUF, P.NA), ('linkdirfd', T.FD, P.DEC), ('linkpath', T.FSRELPATH, P.NA))),
    (182, 'fork', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (183, 'fork', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC))),
    (184, 'vfork', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (185, 'vfork', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC))),
    (186, 'procexit', C.PROCESS, F.MODIFIES_STATE, (('status', T.ERRNO, P.DEC), ('ret', T.ERRNO, P.DEC), ('sig', T.SIGTYPE, P.DEC), ('core', T.UINT8, P.DEC))),
    (187, 'NA1', C.PROCESS, F.UNUSED, ()),
    (188, 'sendfile', C.IO_WRITE, F.USES_FD | F.DROP_SIMPLE_CONS, (('out_fd', T.FD, P.DEC), ('in_fd', T.FD, P.DEC), ('offset', T.UINT64, P.DEC), ('size', T.UINT64, P.DEC))),
    (189, 'sendfile', C.IO_WRITE, F.USES_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('offset', T.UINT64, P.DEC))),
    (190, 'quotactl', C.USER, F.NONE, (('cmd', T.FLAGS16, P.DEC), ('type', T.FLAGS8, P.DEC), ('id', T.UINT32, P.DEC), ('quota_fmt', T.FLAGS8, P.DEC))),
    (191, 'quotactl', C.USER, F.NONE, (('res', T.ERRNO, P.DEC), ('special', T.CHARBUF, P.NA), ('quotafilepath', T.CHARBUF, P.NA), ('dqb_bhardlimit', T.UINT64, P.DEC), ('dqb_bsoftlimit', T.UINT64, P.DEC), ('dqb_curspace', T.UINT64, P.DEC), ('dqb_ihardlimit', T.UINT64, P.DEC), ('dqb_isoftlimit', T.UINT64, P.DEC), ('dqb_btime', T.RELTIME, P.DEC), ('dqb_itime', T.RELTIME, P.DEC), ('dqi_bgrace', T.RELTIME, P.DEC), ('dqi_igrace', T.RELTIME, P.DEC), ('dqi_flags', T.FLAGS8, P.DEC), ('quota_fmt_out', T.FLAGS8, P.DEC))),
    (192, 'setresuid', C.USER, F.MODIFIES_STATE, (('ruid', T.UID, P.DEC), ('euid', T.UID, P.DEC), ('suid', T.UID, P.DEC))),
    (193, 'setresuid', C.USER, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC),)),
    (194, 'setresgid', C.USER, F.MODIFIES_STATE, (('rgid', T.GID, P.DEC), ('egid', T.GID, P.DEC), ('sgid', T.GID, P.DEC))),
    (195, 'setresgid', C.USER, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC),)),
    (196, 'sysdigevent', C.INTERNAL, F.SKIPPARSERESET, (('event_type', T.UINT32, P.DEC), ('event_data', T.UINT64, P.DEC))),
    (197, 'sysdigevent', C.INTERNAL, F.UNUSED, ()),
    (198, 'setuid', C.USER, F.MODIFIES_STATE, (('uid', T.UID, P.DEC),)),
    (199, 'setuid', C.USER, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC),)),
    (200, 'setgid', C.USER, F.MODIFIES_STATE, (('gid', T.GID, P.DEC),)),
    (201, 'setgid', C.USER, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC),)),
    (202, 'getuid', C.USER, F.DROP_SIMPLE_CONS, ()),
    (203, 'getuid', C.USER, F.DROP_SIMPLE_CONS, (('uid', T.UID, P.DEC),)),
    (204, 'geteuid', C.USER, F.DROP_SIMPLE_CONS, ()),
    (205, 'geteuid', C.USER, F.DROP_SIMPLE_CONS, (('euid', T.UID, P.DEC),)),
    (206, 'getgid', C.USER, F.DROP_SIMPLE_CONS, ()),
    (207, 'getgid', C.USER, F.DROP_SIMPLE_CONS, (('gid', T.GID, P.DEC),)),
    (208, 'getegid', C.USER, F.DROP_SIMPLE_CONS, ()),
    (209, 'getegid', C.USER, F.DROP_SIMPLE_CONS, (('egid', T.GID, P.DEC),)),
    (210, 'getresuid', C.USER, F.DROP_SIMPLE_CONS, ()),
    (211, 'getresuid', C.USER, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('ruid', T.UID, P.DEC), ('euid', T.UID, P.DEC), ('suid', T.UID, P.DEC))),
    (212, 'getresgid', C.USER, F.DROP_SIMPLE_CONS, ()),
    (213, 'getresgid', C.USER, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('rgid', T.GID, P.DEC), ('egid', T.GID, P.DEC), ('sgid', T.GID, P.DEC))),
    (214, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (215, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.ERRNO, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.UINT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('env', T.BYTEBUF, P.NA))),
    (216, 'clone', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (217, 'clone', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC))),
    (218, 'fork', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (219, 'fork', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC))),
    (220, 'vfork', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (221, 'vfork', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC))),
    (222, 'clone', C.PROCESS, F.MODIFIES_STATE, ()),
    (223, 'clone', C.PROCESS, F.MODIFIES_STATE, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('cgroups', T.BYTEBUF, P.NA), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC), ('vtid', T.PID, P.DEC), ('vpid', T.PID, P.DEC))),
    (224, 'fork', C.PROCESS, F.MODIFIES_STATE, ()),
    (225, 'fork', C.PROCESS, F.MODIFIES_STATE, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('cgroups', T.BYTEBUF, P.NA), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC), ('vtid', T.PID, P.DEC), ('vpid', T.PID, P.DEC))),
    (226, 'vfork', C.PROCESS, F.MODIFIES_STATE, ()),
    (227, 'vfork', C.PROCESS, F.MODIFIES_STATE, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('cgroups', T.BYTEBUF, P.NA), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC), ('vtid', T.PID, P.DEC), ('vpid', T.PID, P.DEC))),
    (228, 'container', C.INTERNAL, F.MODIFIES_STATE | F.SKIPPARSERESET | F.OLD_VERSION, (('id', T.CHARBUF, P.NA), ('type', T.UINT32, P.DEC), ('name', T.CHARBUF, P.NA), ('image', T.CHARBUF, P.NA))),
    (229, 'container', C.INTERNAL, F.UNUSED | F.OLD_VERSION, ()),
    (230, 'execve', C.PROCESS, F.MODIFIES_STATE, ()),
    (231, 'execve', C.PROCESS, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.UINT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('cgroups', T.BYTEBUF, P.NA), ('env', T.BYTEBUF, P.NA))),
    (232, 'signaldeliver', C.SIGNAL, F.DROP_SIMPLE_CONS, (('spid', T.PID, P.DEC), ('dpid', T.PID, P.DEC), ('sig', T.SIGTYPE, P.DEC))),
    (233, 'signaldeliver', C.SIGNAL, F.UNUSED, ()),
    (234, 'procinfo', C.INTERNAL, F.SKIPPARSERESET | F.DROP_SIMPLE_CONS, (('cpu_usr', T.UINT64, P.DEC), ('cpu_sys', T.UINT64, P.DEC))),
    (235, 'NA2', C.INTERNAL, F.UNUSED, ()),
    (236, 'getdents', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.NA),)),
    (237, 'getdents', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (238, 'getdents64', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('fd', T.FD, P.NA),)),
    (239, 'getdents64', C.FILE, F.USES_FD | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (240, 'setns', C.PROCESS, F.USES_FD, (('fd', T.FD, P.NA), ('nstype', T.FLAGS32, P.HEX))),
    (241, 'setns', C.PROCESS, F.USES_FD, (('res', T.ERRNO, P.DEC),)),
    (242, 'flock', C.FILE, F.USES_FD, (('fd', T.FD, P.NA), ('operation', T.FLAGS32, P.HEX))),
    (243, 'flock', C.FILE, F.USES_FD, (('res', T.ERRNO, P.DEC),)),
    (244, 'cpu_hotplug', C.SYSTEM, F.MODIFIES_STATE | F.SKIPPARSERESET, (('cpu', T.UINT32, P.DEC), ('action', T.UINT32, P.DEC))),
    (245, 'NA2', C.SYSTEM, F.UNUSED, ()),
    (246, 'accept', C.NET, F.CREATES_FD | F.MODIFIES_STATE, ()),
    (247, 'accept', C.NET, F.CREATES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('tuple', T.SOCKTUPLE, P.NA), ('queuepct', T.UINT8, P.DEC), ('queuelen', T.UINT32, P.DEC), ('queuemax', T.UINT32, P.DEC))),
    (248, 'accept', C.NET, F.CREATES_FD | F.MODIFIES_STATE, (('flags', T.INT32, P.HEX),)),
    (249, 'accept', C.NET, F.CREATES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('tuple', T.SOCKTUPLE, P.NA), ('queuepct', T.UINT8, P.DEC), ('queuelen', T.UINT32, P.DEC), ('queuemax', T.UINT32, P.DEC))),
    (250, 'semop', C.PROCESS, F.DROP_SIMPLE_CONS, (('semid', T.INT32, P.DEC),)),
    (251, 'semop', C.PROCESS, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('nsops', T.UINT32, P.DEC), ('sem_num_0', T.UINT16, P.DEC), ('sem_op_0', T.INT16, P.DEC), ('sem_flg_0', T.FLAGS16, P.HEX), ('sem_num_1', T.UINT16, P.DEC), ('sem_op_1', T.INT16, P.DEC), ('sem_flg_1', T.FLAGS16, P.HEX))),
    (252, 'semctl', C.PROCESS, F.DROP_SIMPLE_CONS, (('semid', T.INT32, P.DEC), ('semnum', T.INT32, P.DEC), ('cmd', T.FLAGS16, P.HEX), ('val', T.INT32, P.DEC))),
    (253, 'semctl', C.PROCESS, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (254, 'ppoll', C.WAIT, F.WAITS | F.DROP_SIMPLE_CONS, (('fds', T.FDLIST, P.DEC), ('timeout', T.RELTIME, P.DEC), ('sigmask', T.SIGSET, P.DEC))),
    (255, 'ppoll', C.WAIT, F.WAITS | F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('fds', T.FDLIST, P.DEC))),
    (256, 'mount', C.FILE, F.MODIFIES_STATE, (('flags', T.FLAGS32, P.HEX),)),
    (257, 'mount', C.FILE, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('dev', T.CHARBUF, P.NA), ('dir', T.FSPATH, P.NA), ('type', T.CHARBUF, P.NA))),
    (258, 'umount', C.FILE, F.MODIFIES_STATE, (('flags', T.FLAGS32, P.HEX),)),
    (259, 'umount', C.FILE, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('name', T.FSPATH, P.NA))),
    (260, 'k8s', C.INTERNAL, F.MODIFIES_STATE | F.SKIPPARSERESET, (('json', T.CHARBUF, P.NA),)),
    (261, 'NA3', C.SYSTEM, F.UNUSED, ()),
    (262, 'semget', C.PROCESS, F.DROP_SIMPLE_CONS, (('key', T.INT32, P.HEX), ('nsems', T.INT32, P.DEC), ('semflg', T.FLAGS32, P.HEX))),
    (263, 'semget', C.PROCESS, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (264, 'access', C.FILE, F.DROP_SIMPLE_CONS, (('mode', T.FLAGS32, P.HEX),)),
    (265, 'access', C.FILE, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC), ('name', T.FSPATH, P.NA))),
    (266, 'chroot', C.PROCESS, F.MODIFIES_STATE, ()),
    (267, 'chroot', C.PROCESS, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('path', T.FSPATH, P.NA))),
    (268, 'tracer', C.OTHER, F.NONE, (('id', T.INT64, P.DEC), ('tags', T.CHARBUFARRAY, P.NA), ('args', T.CHARBUF_PAIR_ARRAY, P.NA))),
    (269, 'tracer', C.OTHER, F.NONE, (('id', T.INT64, P.DEC), ('tags', T.CHARBUFARRAY, P.NA), ('args', T.CHARBUF_PAIR_ARRAY, P.NA))),
    (270, 'mesos', C.INTERNAL, F.MODIFIES_STATE | F.SKIPPARSERESET, (('json', T.CHARBUF, P.NA),)),
    (271, 'NA4', C.SYSTEM, F.UNUSED, ()),
    (272, 'container', C.PROCESS, F.MODIFIES_STATE, (('json', T.CHARBUF, P.NA),)),
    (273, 'container', C.PROCESS, F.UNUSED, ()),
    (274, 'setsid', C.PROCESS, F.MODIFIES_STATE, ()),
    (275, 'setsid', C.PROCESS, F.MODIFIES_STATE, (('res', T.PID, P.DEC),)),
    (276, 'mkdir', C.FILE, F.NONE, (('mode', T.UINT32, P.HEX),)),
    (277, 'mkdir', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('path', T.FSPATH, P.NA))),
    (278, 'rmdir', C.FILE, F.NONE, ()),
    (279, 'rmdir', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('path', T.FSPATH, P.NA))),
    (280, 'notification', C.OTHER, F.SKIPPARSERESET, (('id', T.CHARBUF, P.DEC), ('desc', T.CHARBUF, P.NA))),
    (281, 'NA4', C.SYSTEM, F.UNUSED, ()),
    (282, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, ()),
    (283, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.ERRNO, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.UINT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('cgroups', T.BYTEBUF, P.NA), ('env', T.BYTEBUF, P.NA), ('tty', T.INT32, P.DEC))),
    (284, 'unshare', C.PROCESS, F.NONE, (('flags', T.FLAGS32, P.HEX),)),
    (285, 'unshare', C.PROCESS, F.NONE, (('res', T.ERRNO, P.DEC),)),
    (286, 'infra', C.INTERNAL, F.SKIPPARSERESET, (('source', T.CHARBUF, P.DEC), ('name', T.CHARBUF, P.NA), ('description', T.CHARBUF, P.NA), ('scope', T.CHARBUF, P.NA))),
    (287, 'NA4', C.SYSTEM, F.UNUSED, ()),
    (288, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('filename', T.FSPATH, P.NA),)),
    (289, 'execve', C.PROCESS, F.MODIFIES_STATE | F.OLD_VERSION, (('res', T.ERRNO, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.UINT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('cgroups', T.BYTEBUF, P.NA), ('env', T.BYTEBUF, P.NA), ('tty', T.INT32, P.DEC))),
    (290, 'page_fault', C.OTHER, F.SKIPPARSERESET | F.DROP_SIMPLE_CONS, (('addr', T.UINT64, P.HEX), ('ip', T.UINT64, P.HEX), ('error', T.FLAGS32, P.HEX))),
    (291, 'NA5', C.OTHER, F.UNUSED, ()),
    (292, 'execve', C.PROCESS, F.MODIFIES_STATE, (('filename', T.FSPATH, P.NA),)),
    (293, 'execve', C.PROCESS, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.UINT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('cgroups', T.BYTEBUF, P.NA), ('env', T.BYTEBUF, P.NA), ('tty', T.INT32, P.DEC), ('pgid', T.PID, P.DEC), ('loginuid', T.INT32, P.DEC), ('flags', T.FLAGS32, P.HEX))),
    (294, 'setpgid', C.PROCESS, F.MODIFIES_STATE, (('pid', T.PID, P.DEC), ('pgid', T.PID, P.DEC))),
    (295, 'setpgid', C.PROCESS, F.MODIFIES_STATE, (('res', T.PID, P.DEC),)),
    (296, 'bpf', C.OTHER, F.CREATES_FD, (('cmd', T.INT64, P.DEC),)),
    (297, 'bpf', C.OTHER, F.CREATES_FD, (('res_or_fd', T.DYN, P.DEC),)),
    (298, 'seccomp', C.OTHER, F.NONE, (('op', T.UINT64, P.DEC),)),
    (299, 'seccomp', C.OTHER, F.NONE, (('res', T.ERRNO, P.DEC),)),
    (300, 'unlink', C.FILE, F.NONE, ()),
    (301, 'unlink', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('path', T.FSPATH, P.NA))),
    (302, 'unlinkat', C.FILE, F.NONE, ()),
    (303, 'unlinkat', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('dirfd', T.FD, P.DEC), ('name', T.FSRELPATH, P.NA), ('flags', T.FLAGS32, P.HEX))),
    (304, 'mkdirat', C.FILE, F.NONE, ()),
    (305, 'mkdirat', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('dirfd', T.FD, P.DEC), ('path', T.FSRELPATH, P.NA), ('mode', T.UINT32, P.HEX))),
    (306, 'openat', C.FILE, F.CREATES_FD | F.MODIFIES_STATE, (('dirfd', T.FD, P.DEC), ('name', T.FSRELPATH, P.NA), ('flags', T.FLAGS32, P.HEX), ('mode', T.UINT32, P.OCT))),
    (307, 'openat', C.FILE, F.CREATES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('dirfd', T.FD, P.DEC), ('name', T.FSRELPATH, P.NA), ('flags', T.FLAGS32, P.HEX), ('mode', T.UINT32, P.OCT), ('dev', T.UINT32, P.HEX))),
    (308, 'link', C.FILE, F.NONE, ()),
    (309, 'link', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('oldpath', T.FSPATH, P.NA), ('newpath', T.FSPATH, P.NA))),
    (310, 'linkat', C.FILE, F.NONE, ()),
    (311, 'linkat', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('olddir', T.FD, P.DEC), ('oldpath', T.FSRELPATH, P.NA), ('newdir', T.FD, P.DEC), ('newpath', T.FSRELPATH, P.NA), ('flags', T.FLAGS32, P.HEX))),
    (312, 'fchmodat', C.FILE, F.NONE, ()),
    (313, 'fchmodat', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('dirfd', T.FD, P.DEC), ('filename', T.FSRELPATH, P.NA), ('mode', T.MODE, P.OCT))),
    (314, 'chmod', C.FILE, F.NONE, ()),
    (315, 'chmod', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('filename', T.FSPATH, P.NA), ('mode', T.MODE, P.OCT))),
    (316, 'fchmod', C.FILE, F.NONE, ()),
    (317, 'fchmod', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('fd', T.FD, P.DEC), ('mode', T.MODE, P.OCT))),
    (318, 'renameat2', C.FILE, F.NONE, ()),
    (319, 'renameat2', C.FILE, F.NONE, (('res', T.ERRNO, P.DEC), ('olddirfd', T.FD, P.DEC), ('oldpath', T.FSRELPATH, P.NA), ('newdirfd', T.FD, P.DEC), ('newpath', T.FSRELPATH, P.NA), ('flags', T.FLAGS32, P.HEX))),
    (320, 'userfaultfd', C.FILE, F.CREATES_FD | F.MODIFIES_STATE, ()),
    (321, 'userfaultfd', C.FILE, F.CREATES_FD | F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('flags', T.FLAGS32, P.HEX))),
    (322, 'pluginevent', C.OTHER, F.LARGE_PAYLOAD, (('plugin ID', T.UINT32, P.DEC), ('event_data', T.BYTEBUF, P.NA))),
    (323, 'pluginevent', C.OTHER, F.UNUSED, ()),
    (324, 'container', C.PROCESS, F.MODIFIES_STATE | F.LARGE_PAYLOAD, (('json', T.CHARBUF, P.NA),)),
    (325, 'container', C.PROCESS, F.UNUSED, ()),
    (326, 'openat2', C.FILE, F.CREATES_FD | F.MODIFIES_STATE, (('dirfd', T.FD, P.DEC), ('name', T.FSRELPATH, P.NA), ('flags', T.FLAGS32, P.HEX), ('mode', T.UINT32, P.OCT), ('resolve', T.FLAGS32, P.HEX))),
    (327, 'openat2', C.FILE, F.CREATES_FD | F.MODIFIES_STATE, (('fd', T.FD, P.DEC), ('dirfd', T.FD, P.DEC), ('name', T.FSRELPATH, P.NA), ('flags', T.FLAGS32, P.HEX), ('mode', T.UINT32, P.OCT), ('resolve', T.FLAGS32, P.HEX))),
    (328, 'mprotect', C.MEMORY, F.DROP_SIMPLE_CONS, (('addr', T.UINT64, P.HEX), ('length', T.UINT64, P.DEC), ('prot', T.FLAGS32, P.HEX))),
    (329, 'mprotect', C.MEMORY, F.DROP_SIMPLE_CONS, (('res', T.ERRNO, P.DEC),)),
    (330, 'execveat', C.PROCESS, F.MODIFIES_STATE, (('dirfd', T.FD, P.DEC), ('pathname', T.FSRELPATH, P.NA), ('flags', T.FLAGS32, P.HEX))),
    (331, 'execveat', C.PROCESS, F.MODIFIES_STATE, (('res', T.ERRNO, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.UINT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('cgroups', T.BYTEBUF, P.NA), ('env', T.BYTEBUF, P.NA), ('tty', T.INT32, P.DEC), ('pgid', T.PID, P.DEC), ('loginuid', T.INT32, P.DEC), ('flags', T.FLAGS32, P.HEX))),
    (332, 'copy_file_range', C.FILE, F.USES_FD | F.READS_FROM_FD | F.WRITES_TO_FD, (('fdin', T.FD, P.DEC), ('offin', T.UINT64, P.DEC), ('len', T.UINT64, P.DEC))),
    (333, 'copy_file_range', C.FILE, F.USES_FD | F.READS_FROM_FD | F.WRITES_TO_FD, (('res', T.ERRNO, P.DEC), ('fdout', T.FD, P.DEC), ('offout', T.UINT64, P.DEC))),
    (334, 'clone3', C.PROCESS, F.MODIFIES_STATE, ()),
    (335, 'clone3', C.PROCESS, F.MODIFIES_STATE, (('res', T.PID, P.DEC), ('exe', T.CHARBUF, P.NA), ('args', T.BYTEBUF, P.NA), ('tid', T.PID, P.DEC), ('pid', T.PID, P.DEC), ('ptid', T.PID, P.DEC), ('cwd', T.CHARBUF, P.NA), ('fdlimit', T.INT64, P.DEC), ('pgft_maj', T.UINT64, P.DEC), ('pgft_min', T.UINT64, P.DEC), ('vm_size', T.UINT32, P.DEC), ('vm_rss', T.UINT32, P.DEC), ('vm_swap', T.UINT32, P.DEC), ('comm', T.CHARBUF, P.NA), ('cgroups', T.BYTEBUF, P.NA), ('flags', T.FLAGS32, P.HEX), ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC), ('vtid', T.PID, P.DEC), ('vpid', T.PID, P.DEC))),
)

# Newer metadata events found in public captures; sysdig 0.29.3 drops them (id >= 336).
_EXTRA_EVENT_ROWS: tuple[tuple, ...] = (
    (354, 'useradded', C.PROCESS, F.MODIFIES_STATE, (
        ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC), ('name', T.CHARBUF, P.NA), ('home', T.CHARBUF, P.NA),
        ('shell', T.CHARBUF, P.NA), ('container_id', T.CHARBUF, P.NA))),
    (355, 'NA', C.UNKNOWN, F.UNUSED, ()),
    (356, 'userdeleted', C.PROCESS, F.MODIFIES_STATE, (
        ('uid', T.UINT32, P.DEC), ('gid', T.UINT32, P.DEC), ('name', T.CHARBUF, P.NA), ('home', T.CHARBUF, P.NA),
        ('shell', T.CHARBUF, P.NA), ('container_id', T.CHARBUF, P.NA))),
    (357, 'NA', C.UNKNOWN, F.UNUSED, ()),
    (358, 'groupadded', C.PROCESS, F.MODIFIES_STATE, (
        ('gid', T.UINT32, P.DEC), ('name', T.CHARBUF, P.NA), ('container_id', T.CHARBUF, P.NA))),
    (359, 'NA', C.UNKNOWN, F.UNUSED, ()),
    (360, 'groupdeleted', C.PROCESS, F.MODIFIES_STATE, (
        ('gid', T.UINT32, P.DEC), ('name', T.CHARBUF, P.NA), ('container_id', T.CHARBUF, P.NA))),
    (361, 'NA', C.UNKNOWN, F.UNUSED, ()),
)


def _build_events() -> dict[int, EventInfo]:
    events = {}
    for type_id, name, category, flags, params in _EVENT_ROWS + _EXTRA_EVENT_ROWS:
        infos = tuple(ParamInfo(pname, ptype, fmt) for pname, ptype, fmt in params)
        events[type_id] = EventInfo(type_id, name, category, flags, infos)
    return events


EVENTS: dict[int, EventInfo] = _build_events()


def event_info(type_id: int) -> EventInfo | None:
    """Schema of event ``type_id``, or None for an id this table does not know."""
    return EVENTS.get(type_id)


# Generic-syscall table: index = PPM_SC_* code carried in the ID parameter of PPME_GENERIC_E/X.
_SYSCALL_ROWS: tuple[tuple[str, Category], ...] = (
    ('<unknown>', C.OTHER), ('restart_syscall', C.SYSTEM), ('exit', C.PROCESS), ('read', C.IO_READ),
    ('write', C.IO_WRITE), ('open', C.FILE), ('close', C.FILE), ('creat', C.FILE), ('link', C.FILE),
    ('unlink', C.FILE), ('chdir', C.FILE), ('time', C.TIME), ('mknod', C.FILE), ('chmod', C.FILE), ('stat', C.FILE),
    ('lseek', C.FILE), ('getpid', C.PROCESS), ('mount', C.FILE), ('ptrace', C.OTHER), ('alarm', C.TIME),
    ('fstat', C.FILE), ('pause', C.WAIT), ('utime', C.TIME), ('access', C.FILE), ('sync', C.IO_OTHER),
    ('kill', C.IPC), ('rename', C.FILE), ('mkdir', C.FILE), ('rmdir', C.FILE), ('dup', C.IO_OTHER), ('pipe', C.IPC),
    ('times', C.TIME), ('brk', C.MEMORY), ('acct', C.PROCESS), ('ioctl', C.IO_OTHER), ('fcntl', C.WAIT),
    ('setpgid', C.PROCESS), ('umask', C.PROCESS), ('chroot', C.IPC), ('ustat', C.FILE), ('dup2', C.IO_OTHER),
    ('getppid', C.PROCESS), ('getpgrp', C.PROCESS), ('setsid', C.PROCESS), ('sethostname', C.SYSTEM),
    ('setrlimit', C.PROCESS), ('getrusage', C.PROCESS), ('gettimeofday', C.TIME), ('settimeofday', C.TIME),
    ('symlink', C.FILE), ('lstat', C.FILE), ('readlink', C.FILE), ('uselib', C.PROCESS), ('swapon', C.PROCESS),
    ('reboot', C.SYSTEM), ('mmap', C.FILE), ('munmap', C.FILE), ('truncate', C.FILE), ('ftruncate', C.FILE),
    ('fchmod', C.FILE), ('getpriority', C.PROCESS), ('setpriority', C.PROCESS), ('statfs', C.FILE),
    ('fstatfs', C.FILE), ('syslog', C.SYSTEM), ('setitimer', C.TIME), ('getitimer', C.TIME), ('uname', C.SYSTEM),
    ('vhangup', C.OTHER), ('wait4', C.WAIT), ('swapoff', C.SYSTEM), ('sysinfo', C.SYSTEM), ('fsync', C.IO_OTHER),
    ('setdomainname', C.SYSTEM), ('adjtimex', C.SYSTEM), ('mprotect', C.MEMORY), ('init_module', C.SYSTEM),
    ('delete_module', C.SYSTEM), ('quotactl', C.SYSTEM), ('getpgid', C.PROCESS), ('fchdir', C.FILE),
    ('sysfs', C.SYSTEM), ('personality', C.PROCESS), ('getdents', C.FILE), ('select', C.WAIT), ('flock', C.FILE),
    ('msync', C.IO_OTHER), ('readv', C.IO_READ), ('writev', C.IO_WRITE), ('getsid', C.PROCESS),
    ('fdatasync', C.IO_OTHER), ('mlock', C.MEMORY), ('munlock', C.MEMORY), ('mlockall', C.MEMORY),
    ('munlockall', C.MEMORY), ('sched_setparam', C.PROCESS), ('sched_getparam', C.PROCESS),
    ('sched_setscheduler', C.PROCESS), ('sched_getscheduler', C.PROCESS), ('sched_yield', C.SLEEP),
    ('sched_get_priority_max', C.PROCESS), ('sched_get_priority_min', C.PROCESS),
    ('sched_rr_get_interval', C.PROCESS), ('nanosleep', C.SLEEP), ('mremap', C.FILE), ('poll', C.WAIT),
    ('prctl', C.PROCESS), ('rt_sigaction', C.SIGNAL), ('rt_sigprocmask', C.SIGNAL), ('rt_sigpending', C.SIGNAL),
    ('rt_sigtimedwait', C.SIGNAL), ('rt_sigqueueinfo', C.SIGNAL), ('rt_sigsuspend', C.SIGNAL), ('getcwd', C.FILE),
    ('capget', C.PROCESS), ('capset', C.PROCESS), ('sendfile', C.FILE), ('getrlimit', C.PROCESS), ('lchown', C.FILE),
    ('getuid', C.USER), ('getgid', C.USER), ('geteuid', C.USER), ('getegid', C.USER), ('setreuid', C.USER),
    ('setregid', C.USER), ('getgroups', C.USER), ('setgroups', C.USER), ('fchown', C.FILE), ('setresuid', C.USER),
    ('getresuid', C.USER), ('setresgid', C.USER), ('getresgid', C.USER), ('chown', C.FILE), ('setuid', C.USER),
    ('setgid', C.USER), ('setfsuid', C.USER), ('setfsgid', C.USER), ('pivot_root', C.PROCESS), ('mincore', C.MEMORY),
    ('madvise', C.MEMORY), ('gettid', C.PROCESS), ('setxattr', C.FILE), ('lsetxattr', C.FILE), ('fsetxattr', C.FILE),
    ('getxattr', C.FILE), ('lgetxattr', C.FILE), ('fgetxattr', C.FILE), ('listxattr', C.FILE), ('llistxattr', C.FILE),
    ('flistxattr', C.FILE), ('removexattr', C.FILE), ('lremovexattr', C.FILE), ('fremovexattr', C.FILE),
    ('tkill', C.SIGNAL), ('futex', C.IPC), ('sched_setaffinity', C.PROCESS), ('sched_getaffinity', C.PROCESS),
    ('set_thread_area', C.PROCESS), ('get_thread_area', C.PROCESS), ('io_setup', C.IO_OTHER),
    ('io_destroy', C.IO_OTHER), ('io_getevents', C.IO_OTHER), ('io_submit', C.IO_OTHER), ('io_cancel', C.IO_OTHER),
    ('exit_group', C.IO_OTHER), ('epoll_create', C.WAIT), ('epoll_ctl', C.WAIT), ('epoll_wait', C.WAIT),
    ('remap_file_pages', C.FILE), ('set_tid_address', C.PROCESS), ('timer_create', C.TIME), ('timer_settime', C.TIME),
    ('timer_gettime', C.TIME), ('timer_getoverrun', C.TIME), ('timer_delete', C.TIME), ('clock_settime', C.TIME),
    ('clock_gettime', C.TIME), ('clock_getres', C.TIME), ('clock_nanosleep', C.SLEEP), ('tgkill', C.SIGNAL),
    ('utimes', C.FILE), ('mq_open', C.IPC), ('mq_unlink', C.IPC), ('mq_timedsend', C.IPC), ('mq_timedreceive', C.IPC),
    ('mq_notify', C.IPC), ('mq_getsetattr', C.IPC), ('kexec_load', C.SYSTEM), ('waitid', C.WAIT),
    ('add_key', C.SYSTEM), ('request_key', C.SYSTEM), ('keyctl', C.SYSTEM), ('ioprio_set', C.PROCESS),
    ('ioprio_get', C.PROCESS), ('inotify_init', C.IPC), ('inotify_add_watch', C.IPC), ('inotify_rm_watch', C.IPC),
    ('openat', C.FILE), ('mkdirat', C.FILE), ('mknodat', C.FILE), ('fchownat', C.FILE), ('futimesat', C.FILE),
    ('unlinkat', C.FILE), ('renameat', C.FILE), ('linkat', C.FILE), ('symlinkat', C.FILE), ('readlinkat', C.FILE),
    ('fchmodat', C.FILE), ('faccessat', C.FILE), ('pselect6', C.WAIT), ('ppoll', C.WAIT), ('unshare', C.PROCESS),
    ('set_robust_list', C.PROCESS), ('get_robust_list', C.PROCESS), ('splice', C.IPC), ('tee', C.IPC),
    ('vmsplice', C.IPC), ('getcpu', C.PROCESS), ('epoll_pwait', C.WAIT), ('utimensat', C.FILE),
    ('signalfd', C.SIGNAL), ('timerfd_create', C.TIME), ('eventfd', C.IPC), ('timerfd_settime', C.TIME),
    ('timerfd_gettime', C.TIME), ('signalfd4', C.SIGNAL), ('eventfd2', C.IPC), ('epoll_create1', C.WAIT),
    ('dup3', C.IO_OTHER), ('pipe2', C.IPC), ('inotify_init1', C.IPC), ('preadv', C.IO_READ), ('pwritev', C.IO_WRITE),
    ('rt_tgsigqueueinfo', C.OTHER), ('perf_event_open', C.OTHER), ('fanotify_init', C.IPC), ('prlimit64', C.PROCESS),
    ('clock_adjtime', C.OTHER), ('syncfs', C.FILE), ('setns', C.PROCESS), ('getdents64', C.IPC), ('socket', C.NET),
    ('bind', C.NET), ('connect', C.NET), ('listen', C.NET), ('accept', C.NET), ('getsockname', C.NET),
    ('getpeername', C.NET), ('socketpair', C.NET), ('sendto', C.NET), ('recvfrom', C.NET), ('shutdown', C.NET),
    ('setsockopt', C.NET), ('getsockopt', C.NET), ('sendmsg', C.NET), ('sendmmsg', C.NET), ('recvmsg', C.NET),
    ('recvmmsg', C.NET), ('accept4', C.NET), ('semop', C.IPC), ('semget', C.IPC), ('semctl', C.IPC),
    ('msgsnd', C.IPC), ('msgrcv', C.IPC), ('msgget', C.IPC), ('msgctl', C.IPC), ('shmdt', C.IPC), ('shmget', C.IPC),
    ('shmctl', C.IPC), ('statfs64', C.FILE), ('fstatfs64', C.FILE), ('fstatat64', C.FILE), ('sendfile64', C.FILE),
    ('ugetrlimit', C.PROCESS), ('bdflush', C.OTHER), ('sigprocmask', C.SIGNAL), ('ipc', C.IPC), ('socketcall', C.NET),
    ('stat64', C.FILE), ('lstat64', C.FILE), ('fstat64', C.FILE), ('fcntl64', C.FILE), ('mmap2', C.FILE),
    ('newselect', C.WAIT), ('sgetmask', C.SIGNAL), ('ssetmask', C.SIGNAL), ('sigpending', C.SIGNAL),
    ('olduname', C.SYSTEM), ('umount', C.FILE), ('signal', C.SIGNAL), ('nice', C.PROCESS), ('stime', C.TIME),
    ('llseek', C.FILE), ('waitpid', C.WAIT), ('pread64', C.FILE), ('pwrite64', C.FILE), ('arch_prctl', C.PROCESS),
    ('shmat', C.IPC), ('sigreturn', C.SIGNAL), ('fallocate', C.IO_OTHER), ('newfstatat', C.IO_OTHER),
    ('process_vm_readv', C.IO_OTHER), ('process_vm_writev', C.IO_OTHER), ('fork', C.IO_OTHER), ('vfork', C.IO_OTHER),
    ('setuid', C.IO_OTHER), ('getuid', C.IO_OTHER), ('setgid', C.IO_OTHER), ('geteuid', C.IO_OTHER),
    ('getgid', C.IO_OTHER), ('setresuid', C.IO_OTHER), ('setresgid', C.IO_OTHER), ('getresuid', C.IO_OTHER),
    ('getresgid', C.IO_OTHER), ('finit_module', C.SYSTEM), ('bpf', C.OTHER), ('seccomp', C.OTHER),
    ('sigaltstack', C.IO_OTHER), ('getrandom', C.IO_OTHER), ('fadvise64', C.IO_OTHER), ('renameat2', C.FILE),
    ('userfaultfd', C.FILE), ('openat2', C.FILE), ('umount2', C.FILE), ('execve', C.SYSTEM), ('execveat', C.SYSTEM),
    ('copy_file_range', C.FILE), ('clone', C.PROCESS), ('clone3', C.PROCESS),
)

SYSCALL_NAMES: tuple[str, ...] = tuple(name for name, _ in _SYSCALL_ROWS)
UNKNOWN_SYSCALL = "<unknown>"


def syscall_name(code: int) -> str:
    """``evt.type`` of a generic event whose ID parameter is ``code``."""
    return SYSCALL_NAMES[code] if 0 <= code < len(SYSCALL_NAMES) else UNKNOWN_SYSCALL


def syscall_category(code: int) -> Category:
    """Category of a generic event whose ID parameter is ``code``."""
    return _SYSCALL_ROWS[code][1] if 0 <= code < len(_SYSCALL_ROWS) else Category.OTHER


_CATEGORY_NAMES = {
    Category.UNKNOWN: "unknown", Category.OTHER: "other", Category.FILE: "file", Category.NET: "net",
    Category.IPC: "IPC", Category.MEMORY: "memory", Category.PROCESS: "process", Category.SLEEP: "sleep",
    Category.SYSTEM: "system", Category.SIGNAL: "signal", Category.USER: "user", Category.TIME: "time",
    Category.PROCESSING: "processing", Category.IO_READ: "io_read", Category.IO_WRITE: "io_write",
    Category.IO_OTHER: "io_other", Category.WAIT: "wait", Category.SCHEDULER: "scheduler",
    Category.INTERNAL: "internal",
}


def category_name(category: Category) -> str:
    """Text of a schema category as sysdig spells it (``IPC`` upper-case, like sysdig).

    I/O categories give ``io_read``/``io_write``/``io_other``: sysdig replaces them with the category of
    the fd's type (``file``, ``net``, ``ipc``...), which needs fd state this reader does not track.
    """
    return _CATEGORY_NAMES[category]


# Linux errno names (asm-generic errno-base.h, errno.h and the kernel-internal 512+ codes).
ERRNO_NAMES: dict[int, str] = {
    1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
    9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 15: "ENOTBLK",
    16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
    23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE",
    30: "EROFS", 31: "EMLINK", 32: "EPIPE", 33: "EDOM", 34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG",
    37: "ENOLCK", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 42: "ENOMSG", 43: "EIDRM", 44: "ECHRNG",
    45: "EL2NSYNC", 46: "EL3HLT", 47: "EL3RST", 48: "ELNRNG", 49: "EUNATCH", 50: "ENOCSI", 51: "EL2HLT",
    52: "EBADE", 53: "EBADR", 54: "EXFULL", 55: "ENOANO", 56: "EBADRQC", 57: "EBADSLT", 59: "EBFONT",
    60: "ENOSTR", 61: "ENODATA", 62: "ETIME", 63: "ENOSR", 64: "ENONET", 65: "ENOPKG", 66: "EREMOTE",
    67: "ENOLINK", 68: "EADV", 69: "ESRMNT", 70: "ECOMM", 71: "EPROTO", 72: "EMULTIHOP", 73: "EDOTDOT",
    74: "EBADMSG", 75: "EOVERFLOW", 76: "ENOTUNIQ", 77: "EBADFD", 78: "EREMCHG", 79: "ELIBACC",
    80: "ELIBBAD", 81: "ELIBSCN", 82: "ELIBMAX", 83: "ELIBEXEC", 84: "EILSEQ", 85: "ERESTART",
    86: "ESTRPIPE", 87: "EUSERS", 88: "ENOTSOCK", 89: "EDESTADDRREQ", 90: "EMSGSIZE", 91: "EPROTOTYPE",
    92: "ENOPROTOOPT", 93: "EPROTONOSUPPORT", 94: "ESOCKTNOSUPPORT", 95: "EOPNOTSUPP", 96: "EPFNOSUPPORT",
    97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 100: "ENETDOWN", 101: "ENETUNREACH",
    102: "ENETRESET", 103: "ECONNABORTED", 104: "ECONNRESET", 105: "ENOBUFS", 106: "EISCONN",
    107: "ENOTCONN", 108: "ESHUTDOWN", 109: "ETOOMANYREFS", 110: "ETIMEDOUT", 111: "ECONNREFUSED",
    112: "EHOSTDOWN", 113: "EHOSTUNREACH", 114: "EALREADY", 115: "EINPROGRESS", 116: "ESTALE",
    117: "EUCLEAN", 118: "ENOTNAM", 119: "ENAVAIL", 120: "EISNAM", 121: "EREMOTEIO", 122: "EDQUOT",
    123: "ENOMEDIUM", 124: "EMEDIUMTYPE", 125: "ECANCELED", 126: "ENOKEY", 127: "EKEYEXPIRED",
    128: "EKEYREVOKED", 129: "EKEYREJECTED", 130: "EOWNERDEAD", 131: "ENOTRECOVERABLE", 132: "ERFKILL",
    133: "EHWPOISON",
    512: "ERESTARTSYS", 513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND", 515: "ENOIOCTLCMD",
    516: "ERESTART_RESTARTBLOCK", 517: "EPROBE_DEFER", 518: "EOPENSTALE", 519: "ENOPARAM",
    521: "EBADHANDLE", 522: "ENOTSYNC", 523: "EBADCOOKIE", 524: "ENOTSUPP", 525: "ETOOSMALL",
    526: "ESERVERFAULT", 527: "EBADTYPE", 528: "EJUKEBOX", 529: "EIOCBQUEUED", 530: "ERECALLCONFLICT",
}


def errno_name(res: int) -> str | None:
    """Name of a negative return value (``-2`` -> ``ENOENT``); None for success or an unknown code."""
    return ERRNO_NAMES.get(-res) if res < 0 else None


@cache
def canonical_param_kinds() -> dict[str, ParamKind]:
    """For every parameter name, the kind most event types give it (ties: ParamKind order).

    A parameter whose kind differs from its name's canonical kind goes to the column
    ``arg.<name>.<kind>`` instead of ``arg.<name>`` (see ``kernel.scap.decode.param_column``).
    """
    counts: dict[str, dict[ParamKind, int]] = {}
    for info in EVENTS.values():
        for param in info.params:
            per_kind = counts.setdefault(param.name, {})
            per_kind[param.kind] = per_kind.get(param.kind, 0) + 1
    order = list(ParamKind)
    return {name: max(per_kind, key=lambda k: (per_kind[k], -order.index(k))) for name, per_kind in counts.items()}
