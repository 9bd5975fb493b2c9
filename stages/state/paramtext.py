"""Text of one event parameter as libsinsp prints it (`sinsp_evt::get_param_as_str`), for values alone.

A parameter renders as a value text plus an optional resolved text; `evt.args` prints `name=value` or
`name=value(resolved)`. This module covers every part that depends on the value only: numbers in their
print format, errno and signal names, flag names, relative times, data buffers, socket addresses and
tuples. Resolutions that need the thread and fd tables (fd names, thread names, user names, paths) are
made by `stages.state.evt_args`.

The printf conventions of libsinsp are kept because they show in the text: unsigned 32-bit values print
through `%d` (so 0xFFFFFFFF prints -1), 64-bit ones through `PRId64` in decimal and `PRIX64` (upper case,
no prefix) in hex, octal with a leading 0, flags always in decimal.
"""

from __future__ import annotations

import ipaddress
import re
import struct

import numpy as np
import pyarrow as pa

from kernel.scap import event_table as et
from kernel.scap.value_names import SIGNAL_NAMES, NameTable

T = et.ParamType
P = et.PrintFormat

# Width in bits of the integer types, and whether printf sees them signed (`%d` for every type up to 32 bits,
# PRId64 for 64-bit ones: an unsigned 32-bit value above 2^31 prints negative, as libsinsp shows it).
_WIDTH = {T.INT8: 8, T.UINT8: 8, T.INT16: 16, T.UINT16: 16, T.INT32: 32, T.UINT32: 32, T.INT64: 64, T.UINT64: 64}
_UNSIGNED_SMALL = frozenset({T.UINT8, T.UINT16})
NO_RESOLUTION = ""
_PPM_AF_UNIX, _PPM_AF_INET, _PPM_AF_INET6 = 1, 2, 10


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def number_text(value: int, ptype: et.ParamType, fmt: et.PrintFormat) -> str:
    """An integer parameter in its print format (`SET_NUMERIC_FORMAT`)."""
    bits = _WIDTH.get(ptype, 64)
    masked = value & ((1 << bits) - 1)
    # printf promotes 8/16-bit types to int: unsigned ones stay positive, signed ones keep their sign.
    as_int = masked if ptype in _UNSIGNED_SMALL else _signed(value, bits)
    if fmt == P.HEX:
        return format(as_int & ((1 << max(bits, 32)) - 1), "X")
    if fmt == P.OCT:
        octal = format(as_int & ((1 << max(bits, 32)) - 1), "o")
        return octal if octal == "0" else "0" + octal
    if fmt == P.PADDED_DEC:
        return format(as_int, "09d")
    return str(as_int)


def flags_text(value: int, table: NameTable | None) -> str:
    """The names of a flags value, walking the table in order as libsinsp does: every entry whose bits are all
    still set is printed and its bits cleared; the walk stops at an entry equal to the whole value, which is
    printed last; a zero entry only matches a zero value."""
    if table is None:
        return NO_RESOLUTION
    names = []
    remaining = value
    for name, bits in table:
        if bits == value:
            names.append(name)
            break
        if bits != 0 and remaining != 0 and remaining & bits == bits:
            names.append(name)
            remaining &= ~bits
    return "|".join(names)


def errno_text(value: int) -> str:
    """The errno name of a negative result (`-2` -> `ENOENT`), nothing otherwise."""
    if value >= 0:
        return NO_RESOLUTION
    return et.errno_name(_signed(value, 32)) or NO_RESOLUTION


def signal_text(value: int) -> str:
    return SIGNAL_NAMES.get(value & 0xFF, NO_RESOLUTION)


def sigset_text(value: int) -> str:
    """A signal mask as the names of its signals, separated by spaces (bit n is signal n + 1)."""
    return " ".join(SIGNAL_NAMES[bit + 1] for bit in range(32) if value >> bit & 1 and bit + 1 in SIGNAL_NAMES)


def reltime_text(value: int) -> tuple[str, str]:
    """A duration in ns and its `%lg` seconds (`1000000000` -> `1s`); all bits set means none."""
    unsigned = value & (2**64 - 1)
    if unsigned == 2**64 - 1:
        return "none", NO_RESOLUTION
    return str(unsigned), f"{unsigned / 1e9:g}s"


def buffer_text(data: bytes) -> str:
    """A data buffer with every byte that is not printable ASCII shown as a dot."""
    return data.decode("latin-1").translate(_DOTS)


_DOTS = {code: "." for code in range(256) if not 0x20 <= code <= 0x7E}
_DOT_BYTES = np.array([code if 0x20 <= code <= 0x7E else ord(".") for code in range(256)], dtype=np.uint8)


def buffer_column(values: pa.Array) -> pa.Array:
    """`buffer_text` of every value of a binary column, as a string column: the same offsets and validity, each
    byte mapped through one table."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    kind = pa.large_string() if pa.types.is_large_binary(values.type) else pa.string()
    validity, offsets, data = values.buffers()[:3]
    mapped = _DOT_BYTES[np.frombuffer(data, dtype=np.uint8)] if data is not None else np.zeros(0, dtype=np.uint8)
    return pa.Array.from_buffers(kind, len(values), [validity, offsets, pa.py_buffer(mapped)],
                                 null_count=values.null_count, offset=values.offset)


def strings_text(items: list[str]) -> str:
    """NUL-separated strings (args, env, cgroups) as one buffer: each string ends with a dot."""
    return buffer_text(b"".join(item.encode("utf-8", "surrogateescape") + b"\0" for item in items))


def sanitized(text: str) -> str:
    """A name with every character that is not printable ASCII removed (libsinsp's `sanitize_string`, whose
    signed-char test drops the bytes of non-ASCII characters too)."""
    return text if _PRINTABLE.fullmatch(text) else "".join(_PRINTABLE_CHAR.findall(text))


_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_PRINTABLE_CHAR = re.compile(r"[\x20-\x7e]")


def sockaddr_text(data: bytes) -> str:
    """A PT_SOCKADDR value: `ip:port`, a unix path, `family N`, or NULL when empty."""
    if not data:
        return "NULL"
    family = data[0]
    if family == _PPM_AF_UNIX:
        return sanitized(data[1:].split(b"\0", 1)[0].decode("utf-8", "replace"))
    if family == _PPM_AF_INET:
        if len(data) != 7:
            return "INVALID IPv4"
        return f"{ipaddress.IPv4Address(data[1:5])}:{struct.unpack_from('<H', data, 5)[0]}"
    if family == _PPM_AF_INET6:
        if len(data) != 19:
            return "INVALID IPv6"
        return f"{_ipv6(data[1:17])}:{struct.unpack_from('<H', data, 17)[0]}"
    return f"family {family}"


def socktuple_text(data: bytes) -> str:
    """A PT_SOCKTUPLE value: `sip:sport->dip:dport` (IPv4-mapped IPv6 pairs in IPv4 form), `src->dst path`
    in hex for unix sockets, `family N`, or NULL when empty."""
    if not data:
        return "NULL"
    family = data[0]
    if family == _PPM_AF_INET:
        if len(data) != 13:
            return "INVALID IPv4"
        sip, sport, dip, dport = struct.unpack_from("<4sH4sH", data, 1)
        return f"{ipaddress.IPv4Address(sip)}:{sport}->{ipaddress.IPv4Address(dip)}:{dport}"
    if family == _PPM_AF_INET6:
        if len(data) != 37:
            return "INVALID IPv6"
        sip, sport, dip, dport = struct.unpack_from("<16sH16sH", data, 1)
        source, dest = ipaddress.IPv6Address(sip), ipaddress.IPv6Address(dip)
        if source.ipv4_mapped is not None and dest.ipv4_mapped is not None:
            return f"{source.ipv4_mapped}:{sport}->{dest.ipv4_mapped}:{dport}"
        return f"{_ipv6(sip)}:{sport}->{_ipv6(dip)}:{dport}"
    if family == _PPM_AF_UNIX and len(data) >= 17:
        source, dest = struct.unpack_from("<QQ", data, 1)
        path = sanitized(data[17:].split(b"\0", 1)[0].decode("utf-8", "replace"))
        return f"{source:x}->{dest:x} {path}"
    return f"family {family}"


def _ipv6(raw: bytes) -> str:
    """IPv6 text as inet_ntop writes it (IPv4-mapped addresses keep their dotted tail)."""
    address = ipaddress.IPv6Address(raw)
    if address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def fdlist_entries(data: bytes) -> list[tuple[int, int]]:
    """A PT_FDLIST value: (fd, poll flags) pairs from `u16 count, then count x (i64 fd, i16 flags)`."""
    if len(data) < 2:
        return []
    count = struct.unpack_from("<H", data)[0]
    count = min(count, (len(data) - 2) // 10)
    return [struct.unpack_from("<qh", data, 2 + 10 * i) for i in range(count)]


def fdlist_text(entries: list[tuple[int, int]], typechars: list[str]) -> str:
    """`fd:<typechar><flags in hex>` per entry, space separated; `?` for an fd the process does not have."""
    return " ".join(f"{fd & (2**64 - 1)}:{char}{flags & 0xFFFFFFFF:x}" for (fd, flags), char in zip(entries, typechars))
