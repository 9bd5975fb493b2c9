"""Container layer of a `.scap` capture: bytes, block chain and the metadata blocks.

A capture (plain or gzip, told apart by the gzip magic) is a chain of pcapng-like blocks
``u32 type, u32 total_length, body, padding to 4, u32 total_length``. ``read_layout(path)`` loads the
file, walks every block once, checks every length trailer, parses the metadata blocks (machine info,
interface list, user list, process list, fd lists) into plain dataclasses and returns the offsets of
the event blocks, which ``kernel.scap.decode`` decodes with numpy. Every format problem raises
``ScapFormatError`` naming the file and the byte offset (in the uncompressed stream).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SHB_BLOCK = 0x0A0D0D0A
SHB_MAGIC = 0x1A2B3C4D
MI_BLOCKS = frozenset({0x201, 0x8002ABCD})
PL_VERSIONS = {
    0x202: 1, 0x8000ABCD: 1, 0x207: 2, 0x8013ABCD: 2, 0x209: 3, 0x8014ABCD: 3,
    0x210: 4, 0x211: 5, 0x212: 6, 0x213: 7, 0x214: 8, 0x215: 9,
}
FDL_VERSIONS = {0x203: 1, 0x8001ABCD: 1, 0x218: 2}
IL_VERSIONS = {0x205: 1, 0x8011ABCD: 1, 0x219: 2}
UL_VERSIONS = {0x206: 1, 0x8012ABCD: 1, 0x220: 2}
# Event blocks: type -> (has u32 flags before the header, header stores nparams).
EVENT_BLOCKS = {
    0x204: (False, False), 0x8010ABCD: (False, False), 0x216: (False, True), 0x221: (False, True),
    0x208: (True, False), 0x217: (True, True), 0x222: (True, True),
}
_MIN_BLOCK = 12  # header (8) + trailer (4)
_FIRST_TYPE, _LAST_TYPE = 0x201, 0x222  # the current block types; older ones are 0x80xxABCD

# scap_fd_type values.
FD_FILE, FD_DIRECTORY, FD_IPV4_SOCK, FD_IPV6_SOCK, FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK = 1, 2, 3, 4, 5, 6
FD_FIFO, FD_UNIX_SOCK, FD_FILE_V2 = 7, 8, 16
FD_TYPE_NAMES = {
    0: "unknown", 1: "file", 2: "directory", 3: "ipv4", 4: "ipv6", 5: "ipv4_server", 6: "ipv6_server",
    7: "fifo", 8: "unix", 9: "event", 10: "unsupported", 11: "signalfd", 12: "eventpoll", 13: "inotify",
    14: "timerfd", 15: "netlink", 16: "file", 17: "bpf", 18: "userfaultfd", 19: "io_uring", 20: "memfd",
    21: "pidfd",
}
_MAX_FD_TYPE = 21


class ScapFormatError(ValueError):
    """A capture file that cannot be read: truncated, corrupt or of an unknown kind."""

    def __init__(self, path: str | Path, offset: int, message: str):
        super().__init__(f"{path}: at byte {offset}: {message}")
        self.path = str(path)
        self.offset = offset
        self.message = message

    def __reduce__(self):  # pickled whole: replay's reader process hands it to the capture process
        return type(self), (self.path, self.offset, self.message)


@dataclass(slots=True)
class MachineInfo:
    num_cpus: int
    memory_size_bytes: int
    max_pid: int
    hostname: str
    boot_ts_epoch: int = 0
    flags: int = 0


@dataclass(slots=True)
class ThreadInfo:
    """One entry of the process list block (a thread known when the capture started)."""

    tid: int
    pid: int
    ptid: int
    sid: int = -1
    vpgid: int = -1
    comm: str = ""
    exe: str = ""
    exepath: str = ""
    args: list[str] = field(default_factory=list)
    cwd: str = ""
    fdlimit: int = 0
    flags: int = 0
    uid: int = 0
    gid: int = 0
    vmsize_kb: int = 0
    vmrss_kb: int = 0
    vmswap_kb: int = 0
    pfmajor: int = 0
    pfminor: int = 0
    env: list[str] = field(default_factory=list)
    vtid: int = -1
    vpid: int = -1
    cgroups: list[str] = field(default_factory=list)
    root: str = ""
    pidns_init_start_ts: int = 0
    tty: int = 0
    loginuid: int = 0xFFFFFFFF
    exe_writable: bool = False
    cap_inheritable: int = 0
    cap_permitted: int = 0
    cap_effective: int = 0
    exe_upper_layer: bool = False
    exe_ino: int = 0
    exe_ino_ctime: int = 0
    exe_ino_mtime: int = 0
    exe_from_memfd: bool = False
    exe_lower_layer: bool = False
    pgid: int | None = None


@dataclass(slots=True)
class FdInfo:
    """One fd of a thread (fd list block). Socket fields are set for socket types only."""

    tid: int
    fd: int
    ino: int
    type: int
    name: str = ""
    open_flags: int = 0
    dev: int = 0
    sip: str | None = None
    dip: str | None = None
    sport: int | None = None
    dport: int | None = None
    l4proto: int | None = None
    unix_source: int | None = None
    unix_dest: int | None = None

    @property
    def type_name(self) -> str:
        return FD_TYPE_NAMES.get(self.type, "unknown")


@dataclass(slots=True)
class InterfaceInfo:
    type: int  # 1 IPv4, 2 IPv6, 3/4 the same without linkspeed
    name: str
    addr: str
    netmask: str
    bcast: str
    linkspeed: int = 0


@dataclass(slots=True)
class UserInfo:
    uid: int
    gid: int
    name: str
    homedir: str
    shell: str


@dataclass(slots=True)
class GroupInfo:
    gid: int
    name: str


@dataclass(slots=True)
class CaptureLayout:
    """Everything ``read_layout`` learned: metadata plus where the event blocks are."""

    path: str
    data: memoryview  # the capture's content: `padded` without its PAD zero bytes
    version: tuple[int, int]
    machine: MachineInfo | None
    threads: dict[int, ThreadInfo]
    fds: list[FdInfo]
    interfaces: list[InterfaceInfo]
    users: list[UserInfo]
    groups: list[GroupInfo]
    event_offsets: np.ndarray  # int64 byte offsets of event blocks, file order
    event_block_types: np.ndarray  # uint32 block type of each
    padded: np.ndarray  # uint8: the content followed by PAD zero bytes, what the decoder reads (read_padded)


PAD = 16  # zero bytes after a capture's content in memory: the decoder's 8-byte gathers near its end stay inside


def read_padded(path: str | Path) -> np.ndarray:
    """The uncompressed content of a capture (gzip is detected by its magic, not the file name) followed by PAD
    zero bytes. A plain file is read straight into that memory: read as bytes and then copied into fresh padded
    memory, the 68 MB test capture took ~53 ms (sometimes 100-200 ms: a page fault every 4 KB), against ~20 ms."""
    with open(path, "rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size
        padded = np.empty(size + PAD, dtype=np.uint8)
        view, done = memoryview(padded), 0
        while done < size:
            got = handle.readinto(view[done:size])
            if not got:
                break
            done += got
    padded = padded[: done + PAD]
    padded[done:] = 0
    if bytes(padded[:2]) != b"\x1f\x8b":
        return padded
    try:
        raw = gzip.decompress(padded[:done])
    except (EOFError, OSError, zlib.error) as exc:
        raise ScapFormatError(path, done, f"corrupt or truncated gzip stream ({exc})") from None
    padded = np.zeros(len(raw) + PAD, dtype=np.uint8)
    padded[: len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    return padded


def read_bytes(path: str | Path) -> memoryview:
    """The uncompressed content of a capture, as bytes-like memory (followed by PAD zero bytes, see read_padded)."""
    return memoryview(read_padded(path))[:-PAD]


def read_layout(path: str | Path) -> CaptureLayout:
    """Read a capture: check the framing, parse metadata, index the event blocks."""
    padded = read_padded(path)
    data = memoryview(padded)[:-PAD]
    version = _read_shb(path, data)
    offsets = _walk_blocks(path, data)
    words = np.frombuffer(data, dtype="<u4", count=len(data) // 4)
    types = words[offsets >> 2]
    is_event = np.isin(types, np.fromiter(EVENT_BLOCKS, dtype=np.uint32))
    layout = CaptureLayout(str(path), data, version, None, {}, [], [], [], [], offsets[is_event], types[is_event],
                           padded)
    for offset in offsets[~is_event].tolist():
        _parse_metadata_block(layout, offset)
    return layout


def _read_shb(path: str | Path, data: bytes) -> tuple[int, int]:
    if len(data) < 28:
        raise ScapFormatError(path, len(data), "file too short for a section header block")
    block_type, _, magic, major, minor = struct.unpack_from("<IIIHH", data, 0)
    if block_type != SHB_BLOCK or magic != SHB_MAGIC:
        raise ScapFormatError(path, 0, "not a scap capture (no section header block magic)")
    return major, minor


def _walk_blocks(path: str | Path, data: bytes) -> np.ndarray:
    """Byte offsets of every block; checks lengths and trailers. A well-formed file is indexed with numpy
    (`_tiling_blocks`); anything else is walked block by block, which names the first fault and its offset."""
    found = _tiling_blocks(data)
    return found if found is not None else _walk_blocks_one_by_one(path, data)


def _tiling_blocks(data: bytes) -> np.ndarray | None:
    """The block offsets of a well-formed file without a Python step per block, or None.

    Every 4-byte word is a candidate block start if it holds a known block type, the next word a plausible
    length and the word that length ends on repeats it (the trailer). Payload bytes can look like that too;
    but a real block start is the file's start or the end of another real block, so candidates that are
    neither are dropped until every one left is (look-alikes are rare, and a chain of them rarer: a pass or
    two). If the survivors tile the file exactly, from offset 0 to its end, they are its blocks (a file with
    a block type this reader does not know does not tile, and is walked one by one)."""
    if len(data) % 4 or len(data) < _MIN_BLOCK or len(data) >= 2**33:
        return None
    words = np.frombuffer(data, dtype="<u4")
    nwords = len(words)
    starts = _block_type_words(words[:-1])
    lengths = words[starts + 1]
    ends = starts + (lengths >> 2).astype(np.int64)
    framed = (lengths >= _MIN_BLOCK) & ((lengths & 3) == 0) & (ends <= nwords)
    starts, ends, lengths = starts[framed], ends[framed], lengths[framed]
    framed = words[ends - 1] == lengths
    starts, ends = starts[framed], ends[framed]
    while len(starts):
        reached = np.zeros(nwords + 1, dtype=bool)
        reached[0] = True
        reached[ends] = True
        chained = reached[starts]
        if chained.all():
            break
        starts, ends = starts[chained], ends[chained]
    if not len(starts) or starts[0] != 0 or ends[-1] != nwords or (ends[:-1] != starts[1:]).any():
        return None
    return starts * 4


def _block_type_words(types: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """Indices of the words holding a known block type. A chunk at a time: the tests' temporaries then stay
    in the cache instead of each being a new array the size of the file (~3x faster on a 68 MB capture)."""
    found = []
    for at in range(0, len(types), chunk):
        part = types[at: at + chunk]
        hit = (part - np.uint32(_FIRST_TYPE)) <= np.uint32(_LAST_TYPE - _FIRST_TYPE)
        hit |= (part & np.uint32(0xFFFF)) == np.uint32(0xABCD)
        hit |= part == np.uint32(SHB_BLOCK)
        found.append(np.flatnonzero(hit) + at)
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _walk_blocks_one_by_one(path: str | Path, data: bytes) -> np.ndarray:
    """Byte offsets of every block, walking the length words one by one; raises on the first fault."""
    size = len(data)
    words = memoryview(data)[: size - size % 4].cast("I")
    nwords = len(words)
    starts = []
    append = starts.append
    i = 0
    while i < nwords:
        if i + 1 >= nwords:
            raise ScapFormatError(path, i * 4, "truncated block header")
        length = words[i + 1]
        if length < _MIN_BLOCK or length & 3:
            raise ScapFormatError(path, i * 4, f"invalid block length {length}")
        append(i)
        i += length >> 2
    if i * 4 > size:
        raise ScapFormatError(path, starts[-1] * 4, f"truncated block (file ends at byte {size})")
    if size % 4:
        raise ScapFormatError(path, nwords * 4, f"{size % 4} trailing bytes after the last block")
    index = np.array(starts, dtype=np.int64)
    all_words = np.frombuffer(data, dtype="<u4")
    lengths = all_words[index + 1]
    bad = np.flatnonzero(all_words[index + (lengths >> 2) - 1] != lengths)
    if bad.size:
        at = int(index[bad[0]]) * 4
        trailer = int(all_words[int(index[bad[0]]) + (int(lengths[bad[0]]) >> 2) - 1])
        raise ScapFormatError(path, at, f"block length trailer {trailer} != header {int(lengths[bad[0]])}")
    return index * 4


class _Cursor:
    """Sequential little-endian reader over one block body, with errors that name file and offset."""

    __slots__ = ("path", "data", "pos", "end")

    def __init__(self, path: str, data: bytes, pos: int, end: int):
        self.path, self.data, self.pos, self.end = path, data, pos, end

    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise ScapFormatError(self.path, self.pos, f"record needs {n} bytes, block has {self.remaining()} left")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        st = struct.Struct("<" + fmt)
        if self.pos + st.size > self.end:
            raise ScapFormatError(self.path, self.pos, f"record needs {st.size} bytes, block has {self.remaining()} left")
        out = st.unpack_from(self.data, self.pos)
        self.pos += st.size
        return out

    def u8(self) -> int:
        return self.unpack("B")[0]

    def u16(self) -> int:
        return self.unpack("H")[0]

    def u32(self) -> int:
        return self.unpack("I")[0]

    def u64(self) -> int:
        return self.unpack("Q")[0]

    def i64(self) -> int:
        return self.unpack("q")[0]

    def text(self) -> str:
        """A ``u16 len`` + bytes string (no NUL on disk; a trailing NUL, if any, is dropped)."""
        raw = self.take(self.u16())
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    def strings(self) -> list[str]:
        """A ``u16 len`` + NUL-separated strings field (args, env, cgroups)."""
        return split_nul_list(self.take(self.u16()))


def split_nul_list(raw: bytes) -> list[str]:
    """``b"a\\0b\\0"`` -> ``["a", "b"]``; a missing final NUL still ends the last string."""
    if not raw:
        return []
    parts = raw.split(b"\0")
    if raw.endswith(b"\0"):
        parts.pop()
    return [part.decode("utf-8", "replace") for part in parts]


def _parse_metadata_block(layout: CaptureLayout, offset: int) -> None:
    data = layout.data
    block_type, length = struct.unpack_from("<II", data, offset)
    cur = _Cursor(layout.path, data, offset + 8, offset + length - 4)
    if block_type == SHB_BLOCK:
        return  # a later section header (merged capture): its metadata blocks follow and are merged
    if block_type in MI_BLOCKS:
        layout.machine = _parse_machine(cur)
    elif block_type in PL_VERSIONS:
        for thread in _parse_proclist(cur, PL_VERSIONS[block_type]):
            layout.threads[thread.tid] = thread
    elif block_type in FDL_VERSIONS:
        layout.fds.extend(_parse_fdlist(cur, FDL_VERSIONS[block_type]))
    elif block_type in IL_VERSIONS:
        layout.interfaces.extend(_parse_iflist(cur, IL_VERSIONS[block_type]))
    elif block_type in UL_VERSIONS:
        users, groups = _parse_userlist(cur, UL_VERSIONS[block_type])
        layout.users.extend(users)
        layout.groups.extend(groups)
    # Unknown block types are skipped by their length, as libscap does.


def _parse_machine(cur: _Cursor) -> MachineInfo:
    num_cpus, memory, max_pid = cur.unpack("IQQ")
    hostname = cur.take(128).split(b"\0", 1)[0].decode("utf-8", "replace")
    info = MachineInfo(num_cpus, memory, max_pid, hostname)
    if cur.remaining() >= 16:
        info.boot_ts_epoch, info.flags = cur.unpack("QQ")
    return info


def _parse_proclist(cur: _Cursor, version: int) -> list[ThreadInfo]:
    threads = []
    while cur.remaining() >= 4:
        start = cur.pos
        sub_len = cur.u32() if version >= 9 else 0
        thread = _parse_thread_core(cur, version)
        if version >= 9:
            _parse_thread_tail(cur, thread, start, sub_len)
        threads.append(thread)
    return threads


def _parse_thread_core(cur: _Cursor, version: int) -> ThreadInfo:
    tid, pid, ptid = cur.unpack("QQQ")
    t = ThreadInfo(_signed(tid), _signed(pid), _signed(ptid))
    if version >= 6:
        t.sid = cur.i64()
    if version >= 8:
        t.vpgid = cur.i64()
    t.comm, t.exe = cur.text(), cur.text()
    if version >= 7:
        t.exepath = cur.text()
    t.args, t.cwd = cur.strings(), cur.text()
    t.fdlimit, t.flags, t.uid, t.gid = cur.unpack("QIII")
    if version >= 2:
        t.vmsize_kb, t.vmrss_kb, t.vmswap_kb, t.pfmajor, t.pfminor = cur.unpack("IIIQQ")
    if version >= 3:
        t.env = cur.strings()
    if version >= 4:
        t.vtid, t.vpid = cur.unpack("qq")
        t.cgroups = cur.strings()
    if version >= 5:
        t.root = cur.text()
    return t


# V9 tail fields after ``root``: (attribute, struct format), each present only if sub_len has room.
_TAIL_OLD_LIBS = (("loginuid", "I"), ("exe_writable", "B"), ("cap_inheritable", "Q"),
                  ("cap_permitted", "Q"), ("cap_effective", "Q"))
_TAIL_NEW = (("exe_upper_layer", "B"), ("exe_ino", "Q"), ("exe_ino_ctime", "Q"), ("exe_ino_mtime", "Q"),
             ("exe_from_memfd", "B"), ("exe_lower_layer", "B"), ("pgid", "q"))
_PRE_0_10_TAIL_BYTES = 29  # loginuid + exe_writable + 3 capability sets: all that libs < 0.10 wrote


def _parse_thread_tail(cur: _Cursor, thread: ThreadInfo, start: int, sub_len: int) -> None:
    end = start + sub_len
    if end > cur.end or sub_len < cur.pos - start:
        raise ScapFormatError(cur.path, start, f"process record length {sub_len} does not fit its fields")
    fields: tuple[tuple[str, str], ...] = _TAIL_OLD_LIBS + _TAIL_NEW
    if end - cur.pos > _PRE_0_10_TAIL_BYTES:
        fields = (("pidns_init_start_ts", "Q"), ("tty", "I")) + fields
    for name, fmt in fields:
        if cur.pos + struct.calcsize("<" + fmt) > end:
            break
        value = cur.unpack(fmt)[0]
        setattr(thread, name, bool(value) if fmt == "B" else value)
    cur.pos = end  # skip fields newer than this reader


def _parse_fdlist(cur: _Cursor, version: int) -> list[FdInfo]:
    tid = _signed(cur.u64())
    fds = []
    while cur.remaining() >= 4:
        start = cur.pos
        sub_len = cur.u32() if version >= 2 else 0
        fd, ino, fd_type = cur.unpack("qQB")
        info = FdInfo(tid, fd, ino, fd_type)
        end = start + sub_len if version >= 2 else start  # V1 records carry no optional tail
        _parse_fd_payload(cur, info, end)
        if version >= 2:
            if end > cur.end or end < cur.pos:
                raise ScapFormatError(cur.path, start, f"fd record length {sub_len} does not fit its fields")
            cur.pos = end
        fds.append(info)
    return fds


def _parse_fd_payload(cur: _Cursor, info: FdInfo, end: int) -> None:
    t = info.type
    if t == FD_IPV4_SOCK:
        sip, dip, info.sport, info.dport, info.l4proto = cur.unpack("4s4sHHB")
        info.sip, info.dip = _ip(sip), _ip(dip)
    elif t == FD_IPV6_SOCK:
        sip, dip, info.sport, info.dport, info.l4proto = cur.unpack("16s16sHHB")
        info.sip, info.dip = _ip(sip), _ip(dip)
    elif t == FD_IPV4_SERVSOCK:
        ip, info.sport, info.l4proto = cur.unpack("4sHB")
        info.sip = _ip(ip)
    elif t == FD_IPV6_SERVSOCK:
        ip, info.sport, info.l4proto = cur.unpack("16sHB")
        info.sip = _ip(ip)
    elif t == FD_UNIX_SOCK:
        info.unix_source, info.unix_dest = cur.unpack("QQ")
        info.name = cur.text()
    elif t == FD_FILE_V2:
        info.open_flags = cur.u32()
        info.name = cur.text()
        if cur.pos + 4 <= end:
            info.dev = cur.u32()
    elif 0 < t <= _MAX_FD_TYPE:
        info.name = cur.text()
    else:
        raise ScapFormatError(cur.path, cur.pos, f"unknown fd type {t} (fd {info.fd} of thread {info.tid})")


def _parse_iflist(cur: _Cursor, version: int) -> list[InterfaceInfo]:
    interfaces = []
    while cur.remaining() >= 4:
        start = cur.pos
        entry_len = cur.u32() if version >= 2 else 0
        if_type, name_len = cur.unpack("HH")
        width = 4 if if_type in (1, 3) else 16 if if_type in (2, 4) else 0
        if not width:
            raise ScapFormatError(cur.path, start, f"unknown interface type {if_type}")
        addr, netmask, bcast = (_ip(cur.take(width)) for _ in range(3))
        linkspeed = cur.u64() if if_type in (1, 2) else 0
        name = cur.take(name_len).split(b"\0", 1)[0].decode("utf-8", "replace")
        interfaces.append(InterfaceInfo(if_type, name, addr, netmask, bcast, linkspeed))
        if version >= 2 and start + entry_len > cur.pos:
            cur.pos = start + entry_len
    return interfaces


def _parse_userlist(cur: _Cursor, version: int) -> tuple[list[UserInfo], list[GroupInfo]]:
    users, groups = [], []
    while cur.remaining() >= 4:
        start = cur.pos
        sub_len = cur.u32() if version >= 2 else 0
        kind = cur.u8()
        if kind == 0:
            uid, gid = cur.unpack("II")
            users.append(UserInfo(uid, gid, cur.text(), cur.text(), cur.text()))
        elif kind == 1:
            groups.append(GroupInfo(cur.u32(), cur.text()))
        else:
            raise ScapFormatError(cur.path, start, f"unknown user list record type {kind}")
        if version >= 2 and start + sub_len > cur.pos:
            cur.pos = start + sub_len
    return users, groups


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _ip(raw: bytes) -> str:
    """Network-order address bytes as text (IPv4 dotted quad or compressed IPv6)."""
    import ipaddress

    return str(ipaddress.ip_address(raw))
