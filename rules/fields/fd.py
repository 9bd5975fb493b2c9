"""File descriptor fields (`fd.*`, `fdlist.*`): files, sockets and the fd lists of poll calls."""

from __future__ import annotations

from rules.fields.base import FieldClass, FieldType
from rules.fields.table import row

T = FieldType

# Fields that match either end of a connection have no single printable value (filter-only) and cannot be
# compared with another field or transformed.
_EITHER_END = "FO no-rhs no-tr"

_FD = (
    row("fd.num", T.INT64, "fd number; open-family calls give -1 on failure."),
    row("fd.type", T.CHARBUF,
        "Kind of fd: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, memfd..."),
    row("fd.typechar", T.CHARBUF, "Kind of fd as one character (f file, 4/6 ip sockets, u unix, p pipe...)."),
    row("fd.name", T.CHARBUF, "Full name: the absolute path of a file, the connection tuple of a socket."),
    row("fd.directory", T.CHARBUF, "Directory part of a file path."),
    row("fd.filename", T.CHARBUF, "Last component of a file path."),
    row("fd.ip", T.IPADDR, "Filter-only: matches the client or the server address.", _EITHER_END),
    row("fd.cip", T.IPADDR, "Client address."),
    row("fd.sip", T.IPADDR, "Server address."),
    row("fd.lip", T.IPADDR, "Local address."),
    row("fd.rip", T.IPADDR, "Remote address."),
    row("fd.port", T.PORT, "Filter-only: matches the client or the server port.", _EITHER_END),
    row("fd.cport", T.PORT, "Client port."),
    row("fd.sport", T.PORT, "Server port."),
    row("fd.lport", T.PORT, "Local port."),
    row("fd.rport", T.PORT, "Remote port."),
    row("fd.l4proto", T.CHARBUF, "Transport protocol: tcp, udp, icmp or raw."),
    row("fd.sockfamily", T.CHARBUF, "Socket family: ip or unix."),
    row("fd.is_server", T.BOOL, "True when this process is the server end."),
    row("fd.uid", T.CHARBUF, "fd number joined with the thread id."),
    row("fd.containername", T.CHARBUF, "Container id joined with the fd name."),
    row("fd.containerdirectory", T.CHARBUF, "Container id joined with the directory."),
    row("fd.proto", T.PORT, "Filter-only: matches the client or the server protocol name.", _EITHER_END),
    row("fd.cproto", T.CHARBUF, "Client port as a protocol name."),
    row("fd.sproto", T.CHARBUF, "Server port as a protocol name."),
    row("fd.lproto", T.CHARBUF, "Local port as a protocol name."),
    row("fd.rproto", T.CHARBUF, "Remote port as a protocol name."),
    row("fd.net", T.IPNET, "Filter-only: the client or the server address lies in a CIDR.", _EITHER_END),
    row("fd.cnet", T.IPNET, "Filter-only: the client address lies in a CIDR.", _EITHER_END),
    row("fd.snet", T.IPNET, "Filter-only: the server address lies in a CIDR.", _EITHER_END),
    row("fd.lnet", T.IPNET, "Filter-only: the local address lies in a CIDR.", _EITHER_END),
    row("fd.rnet", T.IPNET, "Filter-only: the remote address lies in a CIDR.", _EITHER_END),
    row("fd.connected", T.BOOL, "True when the socket is connected."),
    row("fd.name_changed", T.BOOL, "True when this event changed the fd name (a UDP peer change, say)."),
    row("fd.cip.name", T.CHARBUF, "DNS name seen for the client address.", "no-rhs no-tr"),
    row("fd.sip.name", T.CHARBUF, "DNS name seen for the server address.", "no-rhs no-tr"),
    row("fd.lip.name", T.CHARBUF, "DNS name seen for the local address.", "no-rhs no-tr"),
    row("fd.rip.name", T.CHARBUF, "DNS name seen for the remote address.", "no-rhs no-tr"),
    row("fd.dev", T.INT32, "Device number of the file."),
    row("fd.dev.major", T.INT32, "Major device number of the file."),
    row("fd.dev.minor", T.INT32, "Minor device number of the file."),
    row("fd.ino", T.INT64, "Inode number of the file."),
    row("fd.nameraw", T.CHARBUF, "File path as passed to the syscall, not made absolute."),
    row("fd.types", T.CHARBUF, "fd kinds the process holds, one value each; [N] for a single fd.",
        "arg? index list no-rhs"),
    row("fd.is_upper_layer", T.BOOL, "True when the file sits in an overlayfs upper layer."),
    row("fd.is_lower_layer", T.BOOL, "True when the file sits in an overlayfs lower layer."),
)

_FDLIST = (
    row("fdlist.nums", T.CHARBUF, "poll family: the fd numbers, comma-separated."),
    row("fdlist.names", T.CHARBUF, "poll family: the fd names, comma-separated."),
    row("fdlist.cips", T.CHARBUF, "poll family: client addresses, comma-separated."),
    row("fdlist.sips", T.CHARBUF, "poll family: server addresses, comma-separated."),
    row("fdlist.cports", T.CHARBUF, "poll family: client ports, comma-separated."),
    row("fdlist.sports", T.CHARBUF, "poll family: server ports, comma-separated."),
)

FD = FieldClass(
    name="fd",
    source="syscall",
    description="File descriptor fields: the file or socket an event works on.",
    fields=_FD,
)

FDLIST = FieldClass(
    name="fdlist",
    source="syscall",
    description="fd list fields of poll-family events.",
    fields=_FDLIST,
)
