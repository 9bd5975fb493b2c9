"""Socket addresses of the scap format: decode `PT_SOCKTUPLE` / `PT_SOCKADDR` bytes and name sockets like sysdig.

Layouts (scap-format.md section 6): a family byte (1 unix, 2 IPv4, 10 IPv6), then for a tuple
`src addr, u16 sport, dst addr, u16 dport` (addresses in network order, ports little-endian) or, for unix,
`u64 src ptr, u64 dst ptr, path`; a sockaddr is `addr, u16 port` or a unix path. Only fd-changing events carry
these parameters (connect, accept, bind, sendto/recvfrom on datagram sockets). Those applied one by one in
event order are decoded one by one in Python (`decode_tuple`); the tuples of accepts, which a busy server
makes by the thousand, are decoded for a whole batch with numpy (`decode_tuples`), each distinct address
formatted once.

Names follow libsinsp: `1.2.3.4:5->6.7.8.9:10` for connected IP sockets (IPv6 addresses without brackets),
`ip:port` for bound/listening sockets, `<src hex>-><dst hex> path` for unix sockets.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

AF_UNIX = 1
AF_INET = 2
AF_INET6 = 10

# scap_l4_proto values used by the FD list.
L4_NAMES = {2: "tcp", 3: "udp", 4: "icmp", 5: "raw"}
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMP = 1
SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3


@dataclass(frozen=True)
class Endpoints:
    """A decoded tuple or address. `family` is "ipv4", "ipv6" or "unix"; absent parts are None."""

    family: str
    cip: str | None = None
    cport: int | None = None
    sip: str | None = None
    sport: int | None = None
    unix_path: str | None = None
    unix_src: int | None = None
    unix_dst: int | None = None

    @property
    def name(self) -> str:
        """The fd name sysdig gives a socket with these endpoints."""
        if self.family == "unix":
            return f"{self.unix_src or 0:x}->{self.unix_dst or 0:x} {self.unix_path or ''}"
        if self.cip is None:
            return f"{self.sip}:{self.sport}"
        return f"{self.cip}:{self.cport}->{self.sip}:{self.sport}"


# Address text is made by `ipaddress` (1.2–1.7 µs a call); a host talks to few addresses, so each is made once while
# it stays among the most recent ones.
_ADDRESS_CACHE = 1 << 14


@functools.lru_cache(maxsize=_ADDRESS_CACHE)
def _ip(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw)) if len(raw) in (4, 16) else ""


@functools.lru_cache(maxsize=_ADDRESS_CACHE)
def _ipv6(raw: bytes) -> str:
    """IPv6 text; an IPv4-mapped address prints as its IPv4 form, as libsinsp's tuple does."""
    address = ipaddress.IPv6Address(raw)
    mapped = address.ipv4_mapped
    return str(mapped) if mapped is not None else str(address)


def _is_mapped(raw: bytes) -> bool:
    return raw[:12] == _MAPPED_PREFIX


_MAPPED_PREFIX = bytes(10) + b"\xff\xff"  # ::ffff:a.b.c.d
_MAPPED_BYTES = np.frombuffer(_MAPPED_PREFIX, dtype=np.uint8)


def decode_tuple(data: bytes | None) -> Endpoints | None:
    """A `PT_SOCKTUPLE` value; None when empty or not understood."""
    if not data:
        return None
    family = data[0]
    try:
        if family == AF_INET and len(data) >= 13:
            sip, sport, dip, dport = struct.unpack_from("<4sH4sH", data, 1)
            return Endpoints("ipv4", _ip(sip), sport, _ip(dip), dport)
        if family == AF_INET6 and len(data) >= 37:
            sip, sport, dip, dport = struct.unpack_from("<16sH16sH", data, 1)
            # libsinsp turns a socket whose two ends are IPv4-mapped into an IPv4 one.
            family = "ipv4" if _is_mapped(sip) and _is_mapped(dip) else "ipv6"
            return Endpoints(family, _ipv6(sip), sport, _ipv6(dip), dport)
        if family == AF_UNIX and len(data) >= 17:
            src, dst = struct.unpack_from("<QQ", data, 1)
            path = data[17:].split(b"\0", 1)[0].decode("utf-8", "replace")
            return Endpoints("unix", unix_src=src, unix_dst=dst, unix_path=path)
    except (struct.error, ValueError):
        return None
    return None


@dataclass(frozen=True)
class TupleColumns:
    """`decode_tuple` of every value of a column, as columns: the family ("ipv4", "ipv6", "unix"), the ends
    and the socket name; null where a value does not decode."""

    family: pa.Array
    cip: pa.Array
    cport: pa.Array
    sip: pa.Array
    sport: pa.Array
    name: pa.Array


def decode_tuples(values: pa.Array) -> TupleColumns:
    """`decode_tuple` over a binary column: IPv4 and IPv6 tuples with numpy (each distinct address formatted
    once), the rest (unix, empty, not understood) value by value."""
    values = values.cast(pa.binary())
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset: values.offset + n + 1].astype(np.int64)
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8) if values.buffers()[2] is not None else \
        np.zeros(0, dtype=np.uint8)
    data = np.concatenate([data, np.zeros(64, dtype=np.uint8)])  # every fixed-size read stays in bounds
    start, length = offsets[:-1], np.diff(offsets)
    if values.null_count:
        length = np.where(values.is_valid().to_numpy(zero_copy_only=False), length, 0)
    family = np.where(length > 0, data[start], 0)
    is_v4 = (family == AF_INET) & (length >= 13)
    is_v6 = (family == AF_INET6) & (length >= 37)
    columns = {name: np.full(n, None, dtype=object) for name in ("family", "cip", "sip")}
    ports = {name: np.zeros(n, dtype=np.int64) for name in ("cport", "sport")}
    for rows, size, text_of in ((np.flatnonzero(is_v4), 4, _ip), (np.flatnonzero(is_v6), 16, _ipv6)):
        if not len(rows):
            continue
        at = start[rows] + 1
        client, server = _bytes_at(data, at, size), _bytes_at(data, at + size + 2, size)
        columns["cip"][rows] = _per_distinct(client, text_of)
        columns["sip"][rows] = _per_distinct(server, text_of)
        ports["cport"][rows] = _u16_at(data, at + size)
        ports["sport"][rows] = _u16_at(data, at + 2 * size + 2)
        if size == 4:
            columns["family"][rows] = "ipv4"
        else:  # libsinsp turns a socket whose two ends are IPv4-mapped into an IPv4 one
            mapped = (client[:, :12] == _MAPPED_BYTES).all(axis=1) & (server[:, :12] == _MAPPED_BYTES).all(axis=1)
            columns["family"][rows] = np.where(mapped, "ipv4", "ipv6")
    has_ip = is_v4 | is_v6
    one_by_one = ~has_ip & (length > 0)  # unix and malformed tuples: few
    others = np.full(n, None, dtype=object)  # their names
    for row in np.flatnonzero(one_by_one).tolist():
        endpoints = decode_tuple(values[row].as_py())
        if endpoints is not None:  # a unix tuple (an IP one of these lengths does not decode)
            columns["family"][row], others[row] = endpoints.family, endpoints.name
    text = {name: pa.array(column.tolist(), type=pa.string()) for name, column in columns.items()}
    port = {name: pa.array(column, mask=~has_ip, type=pa.int64()) for name, column in ports.items()}
    name = pc.binary_join_element_wise(text["cip"], ":", port["cport"].cast(pa.string()), "->", text["sip"], ":",
                                       port["sport"].cast(pa.string()), "")
    if one_by_one.any():
        name = pc.coalesce(name, pa.array(others.tolist(), type=pa.string()))
    return TupleColumns(text["family"], text["cip"], port["cport"], text["sip"], port["sport"], name)


def _bytes_at(data: np.ndarray, at: np.ndarray, size: int) -> np.ndarray:
    """`size` bytes at each offset as rows of a (len(at), size) array."""
    return data[at[:, None] + np.arange(size)]


def _u16_at(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    return data[at].astype(np.int64) | (data[at + 1].astype(np.int64) << 8)


def _per_distinct(rows: np.ndarray, convert) -> np.ndarray:
    """`convert(bytes)` of each row (4 or 16 bytes), called once per distinct row: the rows are compared as
    one or two 64-bit words (numpy's row-wise `unique` compares them byte by byte, ~30x slower)."""
    words = np.ascontiguousarray(rows).view("<u4" if rows.shape[1] == 4 else "<u8")
    order = np.lexsort(words.T[::-1])
    ordered = words[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    distinct = ordered[first].view(np.uint8)
    return np.array([convert(bytes(row)) for row in distinct], dtype=object)[inverse]


def decode_sockaddr(data: bytes | None) -> Endpoints | None:
    """A `PT_SOCKADDR` value as a server-side endpoint (bind, connect enter); None when empty/unknown."""
    if not data:
        return None
    family = data[0]
    try:
        if family == AF_INET and len(data) >= 7:
            addr, port = struct.unpack_from("<4sH", data, 1)
            return Endpoints("ipv4", sip=_ip(addr), sport=port)
        if family == AF_INET6 and len(data) >= 19:
            addr, port = struct.unpack_from("<16sH", data, 1)
            return Endpoints("ipv6", sip=_ipv6(addr), sport=port)
        if family == AF_UNIX:
            path = data[1:].split(b"\0", 1)[0].decode("utf-8", "replace")
            return Endpoints("unix", unix_path=path)
    except (struct.error, ValueError):
        return None
    return None


def new_socket_types(domain: pa.Array, sock_type: pa.Array, proto: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(fd type, l4 protocol) of the sockets socket() made, for a batch. The type follows the domain (PPM_AF_*;
    "unknown" for others); an IP socket's protocol is libsinsp's guess from socket()'s protocol, else its
    type (a SOCK_RAW socket is "raw" whatever the protocol)."""
    family = _ints(domain, -1)
    kind = np.select([family == AF_INET, family == AF_INET6, family == AF_UNIX, family == 16],
                     ["ipv4", "ipv6", "unix", "netlink"], "unknown")
    stype, protocol = _ints(sock_type, 0), _ints(proto, -1)
    raw = stype == SOCK_RAW
    base = stype & 0xF
    l4 = np.select([protocol == IPPROTO_TCP, protocol == IPPROTO_UDP, protocol == IPPROTO_ICMP,
                    base == SOCK_STREAM, base == SOCK_DGRAM, base == SOCK_RAW],
                   [np.where(raw, "raw", "tcp"), np.where(raw, "raw", "udp"), np.where(raw, "raw", "icmp"),
                    "tcp", "udp", "raw"], "")
    no_l4 = (l4 == "") | ((kind != "ipv4") & (kind != "ipv6"))
    return pa.array(kind, type=pa.string()), pa.array(l4, mask=no_l4, type=pa.string())


def _ints(values: pa.Array, missing: int) -> np.ndarray:
    return values.cast(pa.int64()).fill_null(missing).to_numpy(zero_copy_only=False)
