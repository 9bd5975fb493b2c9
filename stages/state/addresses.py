"""Socket addresses as libsinsp (sysdig 0.29) updates them: connect, bind and datagram tuples, in event order.

An IP socket keeps a client end (`cip`:`cport`) and a server end (`sip`:`sport`) and a role (none, client,
server). What changes them:

- connect: the enter names the target (when the event carries it); a successful (or in-progress) exit's
  tuple sets the client end and fills the server end only where it is still empty, so a UDP socket
  connected again keeps its first peer (a UDP server socket has the two ends swapped);
- bind: a port makes the socket a server bound there; port 0 only renames it;
- datagrams: the tuple of a sendto/sendmsg (from its enter) or recvfrom/recvmsg (its exit) that succeeded
  updates a socket that is not TCP or has no name yet, with the connect exit's rule; an unknown transport
  becomes UDP; an unspecified address on one end is inferred from the capture's network interfaces
  (`Interfaces.infer`); a socket without a role becomes a client, and a tuple seen the other way round (sent
  by a server, received by a client) is swapped into client -> server order;
- a tuple equal to the socket's, either way round, changes nothing.

Each rule reads the socket as it is, so `stages.state.fds` applies the updates one socket at a time in event
order, from its state as of the batch's other fd versions. These rows are few next to the events that only
read state, and their addresses are decoded one by one anyway.

One deviation: a datagram on a socket bound to a port leaves it as bound (see `_bound`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace

from stages.state.sockets import Endpoints

UNSPECIFIED = {"ipv4": "0.0.0.0", "ipv6": "::"}


@dataclass(frozen=True)
class Socket:
    """The address state of one socket fd (the fd table's columns of the same names)."""

    type: str | None = None
    name: str | None = None
    l4proto: str | None = None
    cip: str | None = None
    cport: int | None = None
    sip: str | None = None
    sport: int | None = None
    is_server: bool | None = None
    has_tuple: bool | None = None
    role: str | None = None  # "client", "server", None before any


# The fd fields an update sets, in `Socket`'s order (all of them, so a version never mixes two states of one
# socket).
FIELDS = tuple(item.name for item in fields(Socket))


@dataclass(frozen=True)
class Update:
    """One event that changes a socket's addresses: `kind` is connect_enter, connect_exit, bind, send or recv."""

    kind: str
    endpoints: Endpoints


@dataclass
class Interfaces:
    """The capture's network interfaces (address, netmask), by family, for libsinsp's address inference."""

    ipv4: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = field(default_factory=list)
    ipv6: list[tuple[ipaddress.IPv6Address, ipaddress.IPv6Address]] = field(default_factory=list)

    @classmethod
    def from_capture(cls, interfaces: Iterable[object]) -> Interfaces:
        found = cls()
        for info in interfaces:
            try:
                address, netmask = ipaddress.ip_address(info.addr), ipaddress.ip_address(info.netmask)
            except (AttributeError, ValueError):
                continue
            (found.ipv4 if address.version == 4 else found.ipv6).append((address, netmask))
        return found

    def infer(self, family: str, other_end: str) -> str:
        """The local address libsinsp assumes for a socket talking to `other_end`: the interface that has that
        address, else one on its subnet, else the first that is not loopback; unspecified without one."""
        entries = self.ipv4 if family == "ipv4" else self.ipv6
        try:
            target = ipaddress.ip_address(other_end)
        except ValueError:
            return UNSPECIFIED[family]
        for address, _ in entries:
            if address == target:
                return str(address)
        for address, netmask in entries:
            if int(address) & int(netmask) == int(target) & int(netmask):
                return str(address)
        for address, _ in entries:
            if not address.is_loopback:
                return str(address)
        return UNSPECIFIED[family]


def apply(update: Update, socket: Socket, interfaces: Interfaces) -> Socket | None:
    """The socket after `update`; None when libsinsp leaves it as it is."""
    endpoints = update.endpoints
    if update.kind == "connect_enter":
        if endpoints.family == "unix":
            return None  # a unix socket is named by the tuple of the exit
        return replace(socket, name=endpoints.name, cip=None, cport=None, sip=endpoints.sip, sport=endpoints.sport,
                       has_tuple=True, is_server=False)
    if update.kind == "bind":
        return _bind(socket, endpoints)
    if endpoints.family == "unix":
        if update.kind != "connect_exit":
            return None
        return replace(socket, type="unix", name=endpoints.name, cip=None, cport=None, sip=None, sport=None,
                       has_tuple=True, is_server=False, role=socket.role or "client")
    if update.kind in ("send", "recv") and socket.name and socket.l4proto == "tcp":
        return None  # a TCP socket's tuple is its connection's
    if update.kind in ("send", "recv") and _bound(socket):
        return None  # see `_bound`
    return _with_tuple(update.kind, socket, endpoints, interfaces)


def _bound(socket: Socket) -> bool:
    """A socket bound to a port and nothing more (libsinsp's server socket type). libsinsp keeps its address
    apart and reads a datagram tuple's destination through the memory of that address, so sysdig shows
    made-up peers there: Saker leaves such a socket as bound, and a connect fills its server end."""
    return bool(socket.is_server) and socket.cip is None and socket.sip is not None


def _bind(socket: Socket, endpoints: Endpoints) -> Socket:
    """bind: a port makes an IP socket a server bound at that address; port 0 only names it. A unix socket
    is named by its path."""
    if endpoints.family != "unix" and not endpoints.sport:
        return replace(socket, name=endpoints.name)
    role = socket.role if endpoints.family == "unix" else "server"
    return replace(socket, name=endpoints.name, cip=endpoints.cip, cport=endpoints.cport, sip=endpoints.sip,
                   sport=endpoints.sport, has_tuple=True, is_server=True, role=role)


def _with_tuple(kind: str, socket: Socket, tuple_: Endpoints, interfaces: Interfaces) -> Socket | None:
    """An IP tuple (source -> destination as the event carries it) on a socket: see the module docstring."""
    if socket.has_tuple and socket.type == tuple_.family and _same_ends(socket, tuple_):
        return None if kind != "connect_exit" else replace(socket, role=socket.role or "client")
    empty = UNSPECIFIED[tuple_.family]
    has_peer = socket.type == tuple_.family and not _bound(socket)
    sip = socket.sip if has_peer and socket.sip not in (None, empty) else tuple_.sip
    sport = socket.sport if has_peer and socket.sport else tuple_.sport
    cip, cport = tuple_.cip, tuple_.cport
    l4proto = socket.l4proto
    if kind in ("send", "recv"):
        l4proto = l4proto or "udp"
        cip, sip = _inferred(tuple_.family, cip, cport, sip, sport, interfaces)
    role = socket.role or "client"
    server_connect = kind == "connect_exit" and role == "server" and l4proto == "udp"
    if (kind == "send" and role == "server") or (kind == "recv" and role == "client") or server_connect:
        cip, cport, sip, sport = sip, sport, cip, cport
    return Socket(type=tuple_.family, name=f"{cip}:{cport}->{sip}:{sport}", l4proto=l4proto, cip=cip, cport=cport,
                  sip=sip, sport=sport, is_server=role == "server", has_tuple=True, role=role)


def _same_ends(socket: Socket, tuple_: Endpoints) -> bool:
    ends = ((socket.cip, socket.cport), (socket.sip, socket.sport))
    return ends in (((tuple_.cip, tuple_.cport), (tuple_.sip, tuple_.sport)),
                    ((tuple_.sip, tuple_.sport), (tuple_.cip, tuple_.cport)))


def _inferred(family: str, cip: str | None, cport: int | None, sip: str | None, sport: int | None,
              interfaces: Interfaces) -> tuple[str | None, str | None]:
    """One unspecified end filled from the interfaces, unless the other end names the same address and
    port (libsinsp's patch of a datagram tuple sent from or to an unbound address)."""
    empty = UNSPECIFIED[family]
    if cip != empty and sip != empty:
        return cip, sip
    if cip == empty:
        guess = interfaces.infer(family, sip or empty)
        return (cip if guess == sip and cport == sport else guess), sip
    guess = interfaces.infer(family, cip or empty)
    return cip, (sip if guess == cip and cport == sport else guess)
