"""Parameter values as libsinsp prints them: numbers in their print format, flags, buffers, addresses."""

from __future__ import annotations

import struct

import pyarrow as pa

from kernel.scap import event_table as et
from kernel.scap.value_names import ACCESS_FLAGS, FILE_FLAGS, FUTEX_OPERATIONS, SOCKET_FAMILIES
from stages.state import paramtext as pt

T = et.ParamType
P = et.PrintFormat


class TestNumberText:
    def test_hex_is_upper_case_without_prefix(self) -> None:
        """PF_HEX prints like PRIX64: upper case, no 0x."""
        assert pt.number_text(0x7FAD48770000, T.UINT64, P.HEX) == "7FAD48770000"

    def test_unsigned_32_bit_prints_through_percent_d(self) -> None:
        """An unsigned 32-bit value above 2^31 prints negative, as libsinsp's %d does."""
        assert pt.number_text(0xFFFFFFFF, T.UINT32, P.DEC) == "-1"
        assert pt.number_text(4294967295, T.UINT64, P.DEC) == "4294967295"

    def test_octal_has_a_leading_zero_except_zero(self) -> None:
        """PF_OCT prints like %#o."""
        assert pt.number_text(0o666, T.UINT32, P.OCT) == "0666"
        assert pt.number_text(0, T.UINT32, P.OCT) == "0"

    def test_signed_64_bit_keeps_its_sign(self) -> None:
        """A UINT64 holding a negative offset prints signed (PRId64)."""
        assert pt.number_text(-71, T.UINT64, P.DEC) == "-71"


class TestFlagsText:
    def test_names_in_table_order(self) -> None:
        """Every name whose bits are set, in table order."""
        assert pt.flags_text(4097, FILE_FLAGS) == "O_RDONLY|O_CLOEXEC"

    def test_composite_value_is_not_split(self) -> None:
        """O_RDWR clears its bits, so O_WRONLY and O_RDONLY do not follow it."""
        assert pt.flags_text(3, FILE_FLAGS) == "O_RDWR"

    def test_walk_stops_at_the_exact_value(self) -> None:
        """An entry equal to the whole value ends the walk (FUTEX_PRIVATE_FLAG, not FUTEX_WAIT as well)."""
        assert pt.flags_text(128, FUTEX_OPERATIONS) == "FUTEX_PRIVATE_FLAG"
        assert pt.flags_text(0, FUTEX_OPERATIONS) == "FUTEX_WAIT"

    def test_zero_entry_matches_only_zero(self) -> None:
        """F_OK (0) names a zero mode only."""
        assert pt.flags_text(0, ACCESS_FLAGS) == "F_OK"
        assert pt.flags_text(4, ACCESS_FLAGS) == "R_OK"

    def test_first_alias_wins(self) -> None:
        """AF_LOCAL comes before AF_UNIX in the driver's table."""
        assert pt.flags_text(1, SOCKET_FAMILIES) == "AF_LOCAL"

    def test_no_table_no_names(self) -> None:
        """A parameter without a table has no resolved text."""
        assert pt.flags_text(5, None) == ""


class TestBuffers:
    def test_unprintable_bytes_are_dots(self) -> None:
        """Bytes outside printable ASCII show as dots."""
        assert pt.buffer_text(b"\x7fELF\x02\n ok\xff") == ".ELF.. ok."

    def test_string_lists_end_each_string_with_a_dot(self) -> None:
        """args/env are NUL-terminated strings: every one ends with a dot."""
        assert pt.strings_text(["-l", "/tmp"]) == "-l./tmp."
        assert pt.strings_text([]) == ""


class TestAddresses:
    def test_ipv4_tuple(self) -> None:
        """sip:sport->dip:dport with little-endian ports."""
        data = bytes([2, 127, 0, 0, 1]) + struct.pack("<H", 47192) + bytes([127, 0, 0, 1]) + struct.pack("<H", 80)
        assert pt.socktuple_text(data) == "127.0.0.1:47192->127.0.0.1:80"

    def test_ipv6_tuple_and_empty_tuple(self) -> None:
        """IPv6 addresses without brackets; an empty tuple is NULL."""
        any6, loop6 = bytes(16), bytes(15) + b"\x01"
        data = bytes([10]) + any6 + struct.pack("<H", 0) + loop6 + struct.pack("<H", 2345)
        assert pt.socktuple_text(data) == ":::0->::1:2345"
        assert pt.socktuple_text(b"") == "NULL"

    def test_unix_tuple_in_hex(self) -> None:
        """A unix tuple prints both socket pointers in hex, then the path."""
        data = bytes([1]) + struct.pack("<QQ", 0, 0xFFFF88003C420800) + b"/var/run/nscd/socket\0"
        assert pt.socktuple_text(data) == "0->ffff88003c420800 /var/run/nscd/socket"

    def test_sockaddr(self) -> None:
        """A bind/connect address is ip:port, or the unix path."""
        assert pt.sockaddr_text(bytes([2, 10, 0, 0, 1]) + struct.pack("<H", 53)) == "10.0.0.1:53"
        assert pt.sockaddr_text(b"\x01/run/x.sock\0") == "/run/x.sock"


class TestOtherTypes:
    def test_reltime_in_seconds(self) -> None:
        """A duration prints in ns and %lg seconds."""
        assert pt.reltime_text(1_000_000_000) == ("1000000000", "1s")
        assert pt.reltime_text(-1) == ("none", "")

    def test_fdlist(self) -> None:
        """poll's fd list: fd, type character and flags in hex per entry."""
        data = struct.pack("<H", 2) + struct.pack("<qh", 4, 1) + struct.pack("<qh", 7, 0)
        entries = pt.fdlist_entries(data)
        assert entries == [(4, 1), (7, 0)]
        assert pt.fdlist_text(entries, ["e", "i"]) == "4:e1 7:i0"

    def test_errno_and_signal_names(self) -> None:
        """Negative results name their errno; signals their SIG name."""
        assert pt.errno_text(-2) == "ENOENT"
        assert pt.errno_text(3) == ""
        assert pt.signal_text(29) == "SIGIO"
        assert pt.sigset_text(1 << 8 | 1 << 13) == "SIGKILL SIGALRM"  # bit n is signal n + 1

    def test_sanitized_drops_control_and_non_ascii(self) -> None:
        """Names lose every character that is not printable ASCII."""
        assert pt.sanitized("/run/a.sock\n") == "/run/a.sock"
        assert pt.sanitized("caf\u00e9") == "caf"


def test_a_buffer_column_prints_each_value_as_buffer_text_keeping_nulls_and_slices() -> None:
    values = pa.array([b"\x7fELF\x02", None, b"", b"GET / HTTP/1.1\r\n", b"\xff\x00x"], type=pa.binary())
    for column in (values, values.slice(1, 3), pa.array(values.to_pylist(), type=pa.large_binary())):
        expected = [None if v is None else pt.buffer_text(v) for v in column.to_pylist()]
        assert pt.buffer_column(column).to_pylist() == expected
    assert pt.buffer_column(values).to_pylist()[0] == ".ELF."
