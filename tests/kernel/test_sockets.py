"""Socket tuples and addresses of live records: the vectorized decoding against the one-by-one reference."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel import sockets
from kernel.events import BatchBuilder
from kernel.records import HEADER, LAYOUTS, RINGBUF_HEADER, SOCK_TUPLE_LEN

PATH = LAYOUTS["path"]
SOURCES = ("@sockaddr", "@tuple_out", "@tuple_in", "@tuple_dest", "@tuple_from")

_record = st.fixed_dictionaries({
    "tuple_family": st.sampled_from([0, 1, 2, 10, 3, 0xFFFF]),
    "tuple_len": st.sampled_from([0, SOCK_TUPLE_LEN]),
    "tuple": st.binary(min_size=SOCK_TUPLE_LEN, max_size=SOCK_TUPLE_LEN),
    "user_family": st.sampled_from([1, 2, 10, 7]),
    "addr_len": st.sampled_from([0, 1, 2, 7, 8, 23, 24, 110, 128]),
    # unix paths with and without a NUL, and bytes that are not UTF-8
    "user": st.binary(min_size=126, max_size=126).map(lambda raw: raw.replace(b"\x01", b"\xff")),
})


def _records(records: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A path ring's bytes holding `records` (the probe's exit_sock layout), their headers and offsets."""
    data = np.zeros(PATH.slot * len(records), dtype=np.uint8)
    headers = np.zeros(len(records), dtype=HEADER)
    at = RINGBUF_HEADER + PATH.slot * np.arange(len(records), dtype=np.int64)
    for i, record in enumerate(records):
        for field in ("ts", "tid", "pid", "res", "evt", "nr"):
            headers[i][field] = record.get(field, 0)
        headers[i]["len"][0] = record["tuple_len"]
        headers[i]["len"][1] = record["addr_len"]
        data[int(at[i]) - RINGBUF_HEADER: int(at[i]) - RINGBUF_HEADER + 4] = np.frombuffer(
            np.uint32(PATH.size).tobytes(), dtype=np.uint8)
        data[int(at[i]): int(at[i]) + HEADER.itemsize] = headers[i: i + 1].view(np.uint8)
        area = bytearray(record["tuple"] + record["user_family"].to_bytes(2, "little") + record["user"])
        area[0:2] = record["tuple_family"].to_bytes(2, "little")
        start = int(at[i]) + HEADER.itemsize
        data[start: start + len(area)] = np.frombuffer(bytes(area), dtype=np.uint8)
    return data, headers, at


def _decoded(source: str, buf: np.ndarray, headers: np.ndarray, at: np.ndarray) -> list[bytes | None]:
    """The vectorized decoding, whatever the number of records."""
    with patch.object(sockets, "VECTORIZED_FROM", 1):
        return sockets.values(source, buf, at, headers["len"]).to_pylist()


@settings(max_examples=200, deadline=None)
@given(st.lists(_record, min_size=1, max_size=30))
def test_vectorized_socket_values_equal_the_one_by_one_reference(records) -> None:
    buf, headers, at = _records(records)
    for source in SOURCES:
        expected = [sockets.value_of_record(source, buf, offset, record["tuple_len"], record["addr_len"])
                    for record, offset in zip(records, at.tolist())]
        assert _decoded(source, buf, headers, at) == expected, source


def test_each_kind_of_address_is_decoded() -> None:
    """(Examples of what the property test compares: IPv6, a unix path, a connect's destination.)"""
    v6_tuple = (10).to_bytes(2, "little") + (443).to_bytes(2, "little") + (5000).to_bytes(2, "little") + bytes(2)
    v6_tuple += bytes(15) + b"\x01" + bytes(15) + b"\x02"
    unix_user = b"/run/app.sock\0".ljust(126, b"\0")
    v4_user = (8080).to_bytes(2, "big") + bytes([127, 0, 0, 9]) + bytes(120)
    buf, headers, at = _records([
        {"tuple_family": 10, "tuple_len": SOCK_TUPLE_LEN, "tuple": v6_tuple, "user_family": 7, "addr_len": 0,
         "user": bytes(126)},
        {"tuple_family": 1, "tuple_len": SOCK_TUPLE_LEN, "tuple": bytes(SOCK_TUPLE_LEN), "user_family": 1,
         "addr_len": 16, "user": unix_user},
        {"tuple_family": 2, "tuple_len": SOCK_TUPLE_LEN, "tuple": bytes(SOCK_TUPLE_LEN), "user_family": 2,
         "addr_len": 16, "user": v4_user},
    ])
    values = {source: _decoded(source, buf, headers, at) for source in SOURCES}
    assert values["@tuple_out"][0] == b"\x0a" + bytes(15) + b"\x01" + (443).to_bytes(2, "little") + bytes(15) + \
        b"\x02" + (5000).to_bytes(2, "little")
    assert values["@tuple_in"][0][:19] == b"\x0a" + bytes(15) + b"\x02" + (5000).to_bytes(2, "little")
    assert values["@sockaddr"] == [None, b"\x01/run/app.sock\0", b"\x02\x7f\x00\x00\x09" + (8080).to_bytes(2, "little")]
    assert values["@tuple_out"][1] == b"\x01" + bytes(16) + b"/run/app.sock\0"
    assert values["@tuple_dest"][2] == b"\x02" + bytes(6) + bytes([127, 0, 0, 9]) + (8080).to_bytes(2, "little")
    assert values["@tuple_out"][2] == b"\x02" + bytes(12)
    # A receive names the sender first; without a sender's address of the socket's family it has no tuple.
    assert values["@tuple_from"] == [None, b"\x01" + bytes(16) + b"/run/app.sock\0",
                                     b"\x02" + bytes([127, 0, 0, 9]) + (8080).to_bytes(2, "little") + bytes(6)]


def test_a_batch_holds_each_socket_events_values_in_its_own_row() -> None:
    """(Through the batch builder: socket events of both families and a unix one, among closes of another ring.)"""
    v4_tuple = (2).to_bytes(2, "little") + (40000).to_bytes(2, "little") + (80).to_bytes(2, "little") + bytes(2)
    v4_tuple += bytes([127, 0, 0, 1]) + bytes(12) + bytes([127, 0, 0, 2]) + bytes(12)
    v6_tuple = (10).to_bytes(2, "little") + (443).to_bytes(2, "little") + (5000).to_bytes(2, "little")
    v6_tuple += bytes(2) + bytes(15) + b"\x01" + bytes(15) + b"\x02"
    v4_user = (80).to_bytes(2, "big") + bytes([127, 0, 0, 2]) + bytes(120)
    unix_user = b"/run/app.sock\0".ljust(126, b"\0")
    accept4 = {"ts": 10, "nr": 288, "evt": 249, "res": 5, "tuple_family": 10, "tuple_len": SOCK_TUPLE_LEN,
               "tuple": v6_tuple, "user_family": 0, "addr_len": 0, "user": bytes(126)}
    connect = {"ts": 30, "nr": 42, "evt": 23, "tuple_family": 2, "tuple_len": SOCK_TUPLE_LEN, "tuple": v4_tuple,
               "user_family": 2, "addr_len": 16, "user": v4_user}
    connect_unix = {"ts": 50, "nr": 42, "evt": 23, "tuple_family": 1, "tuple_len": SOCK_TUPLE_LEN,
                    "tuple": bytes(SOCK_TUPLE_LEN), "user_family": 1, "addr_len": 16, "user": unix_user}
    path_ring, headers, at = _records([accept4, connect, connect_unix])
    small = np.zeros(2 * LAYOUTS["small"].slot, dtype=np.uint8)
    for i, ts in enumerate((20, 40)):
        header = np.zeros(1, dtype=HEADER)
        header["ts"], header["nr"], header["evt"] = ts, 3, 5
        start = i * LAYOUTS["small"].slot
        small[start: start + 4] = np.frombuffer(np.uint32(LAYOUTS["small"].size).tobytes(), dtype=np.uint8)
        small[start + RINGBUF_HEADER: start + RINGBUF_HEADER + HEADER.itemsize] = header.view(np.uint8)
    with patch.object(sockets, "VECTORIZED_FROM", 1):
        batch = BatchBuilder(0).build([(PATH, path_ring, 0, 3), (LAYOUTS["small"], small, 0, 2)])
    assert batch.column("evt.type").to_pylist() == ["accept4", "close", "connect", "close", "connect"]
    reference = {source: [sockets.value_of_record(source, path_ring, int(offset), SOCK_TUPLE_LEN, length)
                          for offset, length in zip(at.tolist(), (0, 16, 16))] for source in SOURCES}
    assert batch.column("arg.tuple").to_pylist() == [reference["@tuple_in"][0], None, reference["@tuple_out"][1],
                                                     None, reference["@tuple_out"][2]]
    assert batch.column("arg.addr.bytes").to_pylist() == [None, None, reference["@sockaddr"][1], None,
                                                          b"\x01/run/app.sock\0"]
    assert batch.column("arg.tuple").type == pa.binary()
    assert reference["@tuple_in"][0][:17] == b"\x0a" + bytes(15) + b"\x02"


def test_a_few_records_are_decoded_one_by_one_and_many_with_numpy_alike() -> None:
    """(All IPv4 and all with a value: numpy's block is the column's data as it is.)"""
    def record(i: int) -> dict:
        address = bytes([10, 0, i >> 8, i & 0xFF])
        raw = (2).to_bytes(2, "little") + i.to_bytes(2, "little") + bytes(4) + address + bytes(12) + address
        return {"tuple_family": 2, "tuple_len": SOCK_TUPLE_LEN, "tuple": raw + bytes(12), "user_family": 0,
                "addr_len": 0, "user": bytes(126)}

    for count in (sockets.VECTORIZED_FROM - 1, sockets.VECTORIZED_FROM, 300):
        records = [record(i) for i in range(count)]
        buf, headers, at = _records(records)
        built = sockets.values("@tuple_in", buf, at, headers["len"]).to_pylist()
        assert built == [sockets.value_of_record("@tuple_in", buf, offset, SOCK_TUPLE_LEN, 0) for offset in at.tolist()]
        assert len(set(built)) == count
