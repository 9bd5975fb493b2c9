"""Socket tuples and addresses of live records -> the scap encodings of `arg.tuple` and `arg.addr.bytes`.

The probe's `exit_sock` writes, in a record's string area, the socket's tuple read from the kernel (40 bytes:
u16 family, local port, remote port, then the local and the remote address at bytes 8 and 24; the kernel
pointer of a unix socket at byte 8) and after it the `struct sockaddr` the caller passed (header `len[1]`
bytes of it, up to 128). The encodings (scap-format.md section 6): one family byte, then the addresses in
network order and the ports little-endian; a unix socket's path ends with a NUL.

IPv4 and IPv6 values are built with numpy for all of a batch's records of one syscall at once, from 32 of them
on, straight into an Arrow binary array: a server accepts thousands of connections a second (50-80 ns a
record against 1.0-1.3 us one by one). Fewer records, unix sockets and malformed addresses are decoded one by
one (`value_of_record`, also the reference the tests hold the vectorized decoding to).
"""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa

from kernel.records import HEADER, SOCK_TUPLE_LEN

_USER_READ = 24  # bytes of a user sockaddr read: an IPv6 one's family, port, flow info and address
_INET = ((2, 4), (10, 16))  # AF_INET, AF_INET6 and the width of their addresses
# Records: below this, the ~35 us of numpy calls cost more than decoding each record on its own (~1.3 us).
VECTORIZED_FROM = 32


def values(source: str, buf: np.ndarray, record_at: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """The `source` value of each record at `record_at` in `buf` (`lengths`: their headers' `len` fields), as a
    binary array, null where a record has none.

    `source`: "@sockaddr" (the caller's address), "@tuple_out" (local end, then remote), "@tuple_in" (accept:
    the peer first), "@tuple_dest" (sendto/sendmsg: the remote end is the address sent to, when it is of
    the socket's family) or "@tuple_from" (recvfrom/recvmsg: the address received from first, then the local end;
    none without such an address, as the driver gives none for a connected socket's receive)."""
    tuple_lens, addr_lens = lengths[:, 0].tolist(), lengths[:, 1].tolist()
    if len(record_at) < VECTORIZED_FROM:
        return pa.array([value_of_record(source, buf, record, tuple_len, addr_len)
                         for record, tuple_len, addr_len in zip(record_at.tolist(), tuple_lens, addr_lens)],
                        type=pa.binary())
    at = record_at + HEADER.itemsize
    user_at = at + SOCK_TUPLE_LEN
    addr_len = lengths[:, 1].astype(np.int64)
    user_family = _u16(buf, user_at)  # meaningless where addr_len < 2: every use below is masked
    user_inet = ((user_family == 2) & (addr_len >= 8)) | ((user_family == 10) & (addr_len >= 24))
    if source == "@sockaddr":
        family, inet, rare = user_family, user_inet, (addr_len > 0) & ~user_inet
    else:
        family = _u16(buf, at)
        has_tuple = lengths[:, 0] == SOCK_TUPLE_LEN
        inet = has_tuple & ((family == 2) | (family == 10))
        rare = has_tuple & ~inet
        if source == "@tuple_from":
            inet &= user_inet & (user_family == family)
            rare &= addr_len > 0
    out = _Values(len(record_at))
    for code, width in _INET:
        rows = np.flatnonzero(inet & (family == code))
        if len(rows):
            out.put(rows, _inet_values(source, buf, at[rows], user_at[rows], code, width,
                                       (user_inet & (user_family == code))[rows]))
    for row in np.flatnonzero(rare).tolist():
        out.put_one(row, value_of_record(source, buf, int(record_at[row]), tuple_lens[row], addr_lens[row]))
    return out.array()


def _inet_values(source: str, buf: np.ndarray, at: np.ndarray, user_at: np.ndarray, code: int, width: int,
                 user_same_family: np.ndarray) -> np.ndarray:
    """(records, bytes) of the values of records whose value is an IPv4 (`code` 2) or IPv6 (10) one."""
    kind = np.full((len(at), 1), code, dtype=np.uint8)
    user = _areas(buf, user_at, _USER_READ)
    user_ip = user[:, 4:8] if code == 2 else user[:, 8:24]
    user_port = user[:, 3:1:-1]  # network order -> little-endian
    if source == "@sockaddr":
        return np.hstack([kind, user_ip, user_port])
    raw = _areas(buf, at, SOCK_TUPLE_LEN)
    local, local_port = raw[:, 8: 8 + width], raw[:, 2:4]
    remote, remote_port = raw[:, 24: 24 + width], raw[:, 4:6]
    if source == "@tuple_from":  # every record here has an address of the socket's family
        return np.hstack([kind, user_ip, user_port, local, local_port])
    if source == "@tuple_dest":
        to_user = user_same_family[:, None]
        remote, remote_port = np.where(to_user, user_ip, remote), np.where(to_user, user_port, remote_port)
    if source == "@tuple_in":
        return np.hstack([kind, remote, remote_port, local, local_port])
    return np.hstack([kind, local, local_port, remote, remote_port])


class _Values:
    """Byte strings of some of n records: blocks of equal-width values, plus single ones."""

    def __init__(self, n: int) -> None:
        self.lengths = np.zeros(n, dtype=np.int64)
        self.valid = np.zeros(n, dtype=bool)
        self.blocks: list[tuple[np.ndarray, np.ndarray]] = []
        self.single: list[tuple[int, bytes]] = []

    def put(self, rows: np.ndarray, block: np.ndarray) -> None:
        self.lengths[rows] = block.shape[1]
        self.valid[rows] = True
        self.blocks.append((rows, block))

    def put_one(self, row: int, value: bytes | None) -> None:
        if value is not None:
            self.lengths[row] = len(value)
            self.valid[row] = True
            self.single.append((row, value))

    def array(self) -> pa.Array:
        n = len(self.lengths)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(self.lengths, out=offsets[1:])
        if len(self.blocks) == 1 and not self.single and len(self.blocks[0][0]) == n:
            data = self.blocks[0][1]  # every record's value, row after row (a block is C-contiguous)
        else:
            data = np.empty(int(offsets[-1]), dtype=np.uint8)
            for rows, block in self.blocks:
                data[offsets[rows][:, None] + np.arange(block.shape[1])] = block
            for row, value in self.single:
                data[offsets[row]: offsets[row + 1]] = np.frombuffer(value, dtype=np.uint8)
        nulls = n - int(np.count_nonzero(self.valid))
        bitmap = pa.py_buffer(np.packbits(self.valid, bitorder="little")) if nulls else None
        return pa.Array.from_buffers(pa.binary(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)],
                                     null_count=nulls)


def _u16(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian u16 at each offset of `buf`."""
    return buf[at].astype(np.uint16) | (buf[at + 1].astype(np.uint16) << 8)


def _areas(buf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """(len(at), width) bytes: `width` bytes from each offset, each copied as one item."""
    items = np.ndarray((len(buf) - width + 1,), dtype=np.dtype((np.void, width)), buffer=buf, strides=(1,))
    return items[at].view(np.uint8).reshape(len(at), width)


# --- one record at a time --------------------------------------------------------------------------------

def value_of_record(source: str, buf: np.ndarray, record: int, tuple_len: int, addr_len: int) -> bytes | None:
    """One record's `source` value, decoded byte by byte."""
    at = record + HEADER.itemsize
    raw_tuple = bytes(buf[at: at + tuple_len]) if tuple_len == SOCK_TUPLE_LEN else b""
    user = _user_sockaddr(bytes(buf[at + SOCK_TUPLE_LEN: at + SOCK_TUPLE_LEN + addr_len])) if addr_len else None
    return _scap_sockaddr(user) if source == "@sockaddr" else _tuple(source, raw_tuple, user)


def _user_sockaddr(raw: bytes) -> tuple[int, bytes, int, str] | None:
    """(family, address bytes, port, unix path) of a user `struct sockaddr`."""
    if len(raw) < 2:
        return None
    family = struct.unpack_from("<H", raw)[0]
    if family == 2 and len(raw) >= 8:
        return 2, raw[4:8], struct.unpack_from(">H", raw, 2)[0], ""
    if family == 10 and len(raw) >= 24:
        return 10, raw[8:24], struct.unpack_from(">H", raw, 2)[0], ""
    if family == 1:
        return 1, b"", 0, raw[2:].split(b"\0", 1)[0].decode("utf-8", "replace")
    return None


def _scap_sockaddr(addr: tuple[int, bytes, int, str] | None) -> bytes | None:
    if addr is None:
        return None
    family, ip, port, path = addr
    if family == 1:
        return b"\x01" + path.encode() + b"\0"
    return bytes([family]) + ip + port.to_bytes(2, "little")


def _tuple(source: str, raw: bytes, user) -> bytes | None:
    if not raw:
        return None
    family, lport, rport = struct.unpack_from("<HHH", raw)
    width = 4 if family == 2 else 16
    local, remote = raw[8: 8 + width], raw[24: 24 + width]
    if family == 1:
        if source == "@tuple_from" and not (user and user[0] == 1):
            return None
        path = user[3] if user and user[0] == 1 else ""
        return b"\x01" + raw[8:16] + bytes(8) + path.encode() + b"\0"
    if family not in (2, 10):
        return None
    if source == "@tuple_from":
        if user is None or user[0] != family:
            return None
        return bytes([family]) + user[1] + user[2].to_bytes(2, "little") + local + lport.to_bytes(2, "little")
    if source == "@tuple_dest" and user is not None and user[0] == family:
        remote, rport = user[1], user[2]
    if source == "@tuple_in":  # accept: the peer (client) first, then our end (server)
        return bytes([family]) + remote + rport.to_bytes(2, "little") + local + lport.to_bytes(2, "little")
    return bytes([family]) + local + lport.to_bytes(2, "little") + remote + rport.to_bytes(2, "little")
