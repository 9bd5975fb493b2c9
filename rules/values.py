"""Condition constants turned into typed Python values, one function per field-type family.

Shared by the vectorized compiler and the scalar reference evaluator so both read `80`, `ssh`, `true`,
`10.0.0.0/8` or a hex buffer the same way. A constant that does not fit its field raises `BadConstant`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import pyarrow as pa

from rules.fields.base import FieldType

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

INTEGER_TYPES = frozenset(
    {FieldType.INT16, FieldType.INT32, FieldType.INT64, FieldType.UINT16, FieldType.UINT32, FieldType.UINT64,
     FieldType.RELTIME, FieldType.ABSTIME, FieldType.PORT}
)
STRING_TYPES = frozenset({FieldType.CHARBUF, FieldType.DYN})
ADDRESS_TYPES = frozenset({FieldType.IPADDR, FieldType.IPNET})

# Well-known services, so common rule constants (`fd.sport = ssh`) resolve without the services database.
_SERVICES = {
    "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80, "pop3": 110, "ntp": 123,
    "imap": 143, "snmp": 161, "ldap": 389, "https": 443, "smtps": 465, "submission": 587, "ldaps": 636,
    "imaps": 993, "pop3s": 995, "mysql": 3306, "postgresql": 5432, "redis": 6379,
}


class BadConstant(ValueError):
    """A constant that is not a valid value for the field it is compared with."""


def integer_bounds(arrow_type: pa.DataType) -> tuple[int, int]:
    """Smallest and largest value an Arrow integer type holds."""
    bits = arrow_type.bit_width
    if pa.types.is_signed_integer(arrow_type):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def parse_integer(text: str) -> int:
    """Decimal integer with an optional sign (Falco rejects hex and fractions for integer fields)."""
    body = text[1:] if text[:1] in "+-" else text
    if not body.isascii() or not body.isdigit():
        raise BadConstant(f"'{text}' is not a valid number")
    return int(text)


def parse_port(text: str) -> int:
    """A port number or a service name."""
    if text.isascii() and text.isdigit():
        return int(text)
    if text in _SERVICES:
        return _SERVICES[text]
    try:
        return socket.getservbyname(text)
    except OSError as exc:
        raise BadConstant(f"'{text}' is not a valid port") from exc


def parse_bool(text: str) -> bool:
    if text == "true":
        return True
    if text == "false":
        return False
    raise BadConstant(f"'{text}' is not a valid boolean")


def parse_double(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise BadConstant(f"'{text}' is not a valid number") from exc


def parse_address(text: str) -> IpAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError as exc:
        raise BadConstant(f"'{text}' is not a valid IP address") from exc


def parse_network(text: str) -> IpNetwork:
    """A CIDR (`10.0.0.0/8`); a bare address is the network holding only itself."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise BadConstant(f"'{text}' is not a valid network") from exc


def parse_hex(text: str) -> bytes:
    """The hex text of `bcontains` / `bstartswith` as bytes."""
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise BadConstant(f"'{text}' is not a valid hex string") from exc


def address_of(text: object) -> IpAddress | None:
    """An event's address text as an address, None when it is not one (cannot be compared)."""
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def parse_constant(field_type: FieldType, text: str, op: str) -> object:
    """The typed value of constant `text` compared with a field of `field_type` by operator `op`."""
    if op in ("bcontains", "bstartswith"):
        return parse_hex(text)
    if field_type is FieldType.PORT:
        return parse_port(text)
    if field_type in INTEGER_TYPES:
        return parse_integer(text)
    if field_type is FieldType.DOUBLE:
        return parse_double(text)
    if field_type is FieldType.BOOL:
        return parse_bool(text)
    if field_type is FieldType.IPADDR:
        return parse_address(text)
    if field_type is FieldType.IPNET:
        return parse_network(text)
    if field_type is FieldType.BYTEBUF:
        return text.encode()
    return text


def dyn_constant(text: object, arrow_type: pa.DataType) -> object | None:
    """A DYN field's constant (`evt.rawarg.size > 100`) typed like the column that holds the argument.

    A DYN field has no type of its own: its values have the type of the chosen event argument, known only
    from the column. Text that does not fit that type gives None: no value can equal or order against it,
    so the check is false for every row (the field cannot be compared with such a constant).
    """
    if not isinstance(text, str):
        return text
    try:
        if pa.types.is_boolean(arrow_type):
            return parse_bool(text)
        if pa.types.is_integer(arrow_type):
            return parse_integer(text)
        if pa.types.is_floating(arrow_type):
            return parse_double(text)
    except BadConstant:
        return None
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return text.encode()
    return text


def python_arrow_type(value: object) -> pa.DataType:
    """The Arrow type a Python value of an event row would have in a column (for DYN constants)."""
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float):
        return pa.float64()
    if isinstance(value, bytes):
        return pa.binary()
    return pa.string()


def address_test(op: str, field_type: FieldType, typed: list) -> Callable[[object], bool]:
    """A test of one address text: IPADDR compares addresses (`::1` equals `0::1`), IPNET tests CIDR
    membership; text that is no address cannot be extracted (false for every operator)."""
    if op not in ("=", "!=", "in", "intersects"):
        raise BadConstant(f"operator {op} is not supported for addresses")

    def equal(address: IpAddress, item: object) -> bool:
        if field_type is FieldType.IPNET:
            return address.version == item.version and address in item
        return address == item

    def test(value: object) -> bool:
        address = address_of(value)
        if address is None:
            return False
        if op == "!=":
            return not equal(address, typed[0])
        return any(equal(address, item) for item in typed)

    return test
