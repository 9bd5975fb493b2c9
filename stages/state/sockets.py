"""Socket addresses of the scap format: decode `PT_SOCKTUPLE` / `PT_SOCKADDR` bytes and name sockets like sysdig.

Layouts (scap-format.md section 6): a family byte (1 unix, 2 IPv4, 10 IPv6), then for a tuple
`src addr, u16 sport, dst addr, u16 dport` (addresses in network order, ports little-endian) or, for unix,
`u64 src ptr, u64 dst ptr, path`; a sockaddr is `addr, u16 port` or a unix path. Only fd-changing events carry
these parameters (connect, accept, bind, sendto/recvfrom on datagram sockets), so they are decoded one by one
in Python: they are few next to the events that merely read state.

Names follow libsinsp: `1.2.3.4:5->6.7.8.9:10` for connected IP sockets (IPv6 addresses without brackets),
`ip:port` for bound/listening sockets, `<src hex>-><dst hex> path` for unix sockets.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

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


def _ip(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw)) if len(raw) in (4, 16) else ""


def _ipv6(raw: bytes) -> str:
    """IPv6 text; an IPv4-mapped address prints as its IPv4 form, as libsinsp's tuple does."""
    address = ipaddress.IPv6Address(raw)
    mapped = address.ipv4_mapped
    return str(mapped) if mapped is not None else str(address)


def _is_mapped(raw: bytes) -> bool:
    return ipaddress.IPv6Address(raw).ipv4_mapped is not None


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


def l4proto_of(sock_type: int | None, proto: int | None) -> str | None:
    """Transport protocol of a new socket from socket()'s type and protocol arguments (libsinsp's guess)."""
    if proto == IPPROTO_TCP:
        return "raw" if sock_type == SOCK_RAW else "tcp"
    if proto == IPPROTO_UDP:
        return "raw" if sock_type == SOCK_RAW else "udp"
    if proto == IPPROTO_ICMP:
        return "raw" if sock_type == SOCK_RAW else "icmp"
    base_type = (sock_type or 0) & 0xF
    if base_type == SOCK_STREAM:
        return "tcp"
    if base_type == SOCK_DGRAM:
        return "udp"
    if base_type == SOCK_RAW:
        return "raw"
    return None


def family_type(domain: int | None) -> str | None:
    """fd type of a socket created in `domain` (PPM_AF_*)."""
    return {AF_INET: "ipv4", AF_INET6: "ipv6", AF_UNIX: "unix"}.get(domain or -1, "netlink" if domain == 16 else None)
