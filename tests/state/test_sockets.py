"""The batch decoder of socket tuples gives what decoding each value on its own gives."""

from __future__ import annotations

import struct

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.state.sockets import decode_tuple, decode_tuples, new_socket_types

MAPPED = bytes(10) + b"\xff\xff"


def _v4(src: bytes, sport: int, dst: bytes, dport: int) -> bytes:
    return b"\x02" + src + struct.pack("<H", sport) + dst + struct.pack("<H", dport)


def _v6(src: bytes, sport: int, dst: bytes, dport: int) -> bytes:
    return b"\x0a" + src + struct.pack("<H", sport) + dst + struct.pack("<H", dport)


def _unix(src: int, dst: int, path: bytes) -> bytes:
    return b"\x01" + struct.pack("<QQ", src, dst) + path


SAMPLES = [
    _v4(bytes([127, 0, 0, 1]), 40000, bytes([10, 0, 0, 2]), 80),
    _v4(bytes([127, 0, 0, 1]), 40001, bytes([10, 0, 0, 2]), 80),  # the same addresses again
    _v6(bytes(15) + b"\x01", 5, bytes([0x20, 0x01, 0x0d, 0xb8]) + bytes(12), 443),
    _v6(MAPPED + bytes([1, 2, 3, 4]), 6, MAPPED + bytes([5, 6, 7, 8]), 7),  # both mapped: an IPv4 socket
    _v6(MAPPED + bytes([1, 2, 3, 4]), 6, bytes(15) + b"\x01", 7),  # one mapped: IPv6, printed as IPv4
    _unix(0xFFFF8881, 0x1234, b"/run/sock\0junk"),
    _unix(0, 0, b""),
    b"", None, b"\x02\x01\x02", b"\x07" + bytes(40), b"\x0a" + bytes(20),
]


def _expected(values: list[bytes | None]) -> list[tuple]:
    rows = []
    for value in values:
        decoded = decode_tuple(value)
        rows.append((None,) * 6 if decoded is None else
                    (decoded.family, decoded.cip, decoded.cport, decoded.sip, decoded.sport, decoded.name))
    return rows


def _actual(values: list[bytes | None]) -> list[tuple]:
    columns = decode_tuples(pa.array(values, type=pa.binary()))
    return list(zip(*(getattr(columns, name).to_pylist()
                      for name in ("family", "cip", "cport", "sip", "sport", "name"))))


def test_known_tuples_decode_as_one_by_one() -> None:
    assert _actual(SAMPLES) == _expected(SAMPLES)


def test_a_slice_of_a_column_decodes_its_own_values() -> None:
    column = pa.array(SAMPLES, type=pa.binary()).slice(2, 5)
    assert _actual(column.to_pylist()) == _expected(column.to_pylist())
    columns = decode_tuples(column)
    assert columns.name.to_pylist() == [row[5] for row in _expected(column.to_pylist())]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.none(), st.binary(max_size=45),
    st.builds(_v4, st.binary(min_size=4, max_size=4), st.integers(0, 65535), st.binary(min_size=4, max_size=4),
              st.integers(0, 65535)),
    st.builds(_v6, st.sampled_from([bytes(16), MAPPED + bytes(4), MAPPED + b"\x01\x02\x03\x04", bytes(15) + b"\x01"]),
              st.integers(0, 65535), st.binary(min_size=16, max_size=16), st.integers(0, 65535)),
    st.builds(_unix, st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.binary(max_size=20)),
), max_size=30))
def test_any_values_decode_as_one_by_one(values: list[bytes | None]) -> None:
    assert _actual(values) == _expected(values)


def test_new_socket_types_follow_domain_type_and_protocol() -> None:
    """socket(): the fd type from the domain; for IP sockets libsinsp's l4 guess (protocol first, SOCK_RAW is
    raw whatever the protocol, else the type without its flags); none for other domains or unknown values."""
    cases = [  # (domain, type, protocol) -> (fd type, l4proto)
        ((2, 1, 0), ("ipv4", "tcp")), ((2, 2, 0), ("ipv4", "udp")), ((10, 1 | 0x80000, 6), ("ipv6", "tcp")),
        ((2, 2 | 0x800, 17), ("ipv4", "udp")), ((2, 3, 1), ("ipv4", "raw")), ((2, 2, 1), ("ipv4", "icmp")),
        ((2, 3, 6), ("ipv4", "raw")), ((2, 3 | 0x800, 6), ("ipv4", "tcp")), ((2, 3 | 0x800, 99), ("ipv4", "raw")),
        ((2, 5, 0), ("ipv4", None)), ((1, 1, 0), ("unix", None)), ((16, 3, 0), ("netlink", None)),
        ((17, 3, 0), ("unknown", None)), ((None, None, None), ("unknown", None)), ((2, None, None), ("ipv4", None)),
    ]
    columns = [pa.array([case[0][i] for case in cases], type=pa.int64()) for i in range(3)]
    kinds, l4 = new_socket_types(*columns)
    assert list(zip(kinds.to_pylist(), l4.to_pylist())) == [expected for _, expected in cases]
