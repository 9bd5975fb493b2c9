"""Socket address updates (stages.state.addresses): libsinsp's rules for connect, bind and datagram tuples."""

from __future__ import annotations

from dataclasses import dataclass
from unittest.mock import patch

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.state import fds
from stages.state.addresses import Interfaces, Socket, Update, apply
from stages.state.enrich import Enricher
from stages.state.sockets import Endpoints


@dataclass
class _Interface:
    addr: str
    netmask: str


INTERFACES = Interfaces.from_capture([_Interface("127.0.0.1", "255.0.0.0"), _Interface("10.0.0.79", "255.255.255.0"),
                                      _Interface("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")])
FRESH_UDP6 = Socket(type="ipv6", name="", l4proto="udp", has_tuple=False, is_server=False)


def _tuple(family: str, src: str, sport: int, dst: str, dport: int) -> Endpoints:
    return Endpoints(family, src, sport, dst, dport)


class TestDatagrams:
    def test_unspecified_source_is_inferred_from_the_interfaces(self) -> None:
        """A datagram sent from an unbound socket takes the local address of the interface facing its peer."""
        sent = apply(Update("send", _tuple("ipv6", "::", 0, "::1", 2345)), FRESH_UDP6, INTERFACES)
        assert sent is not None
        assert (sent.name, sent.cip, sent.cport, sent.sip, sent.sport) == ("::1:0->::1:2345", "::1", 0, "::1", 2345)
        assert (sent.l4proto, sent.role, sent.has_tuple) == ("udp", "client", True)

    def test_inference_prefers_the_same_subnet_then_any_non_loopback(self) -> None:
        """An IPv4 peer on a local subnet gets that interface's address; a remote one the first non-loopback."""
        fresh = Socket(type="ipv4", name="", has_tuple=False)
        near = apply(Update("send", _tuple("ipv4", "0.0.0.0", 5000, "10.0.0.1", 53)), fresh, INTERFACES)
        far = apply(Update("send", _tuple("ipv4", "0.0.0.0", 5000, "8.8.8.8", 53)), fresh, INTERFACES)
        assert near is not None and near.cip == "10.0.0.79"
        assert far is not None and far.cip == "10.0.0.79"

    def test_received_datagram_is_turned_client_to_server(self) -> None:
        """recvfrom's tuple runs peer -> local: a client socket stores it the other way round."""
        got = apply(Update("recv", _tuple("ipv6", "::1", 53, "::1", 40000)), FRESH_UDP6, INTERFACES)
        assert got is not None
        assert got.name == "::1:40000->::1:53"

    def test_tcp_socket_with_a_name_is_left_alone(self) -> None:
        """A datagram call on a named TCP socket does not change it."""
        tcp = Socket(type="ipv4", name="1.2.3.4:5->6.7.8.9:80", l4proto="tcp", cip="1.2.3.4", cport=5,
                     sip="6.7.8.9", sport=80, has_tuple=True, role="client")
        assert apply(Update("recv", _tuple("ipv4", "6.7.8.9", 80, "1.2.3.4", 5)), tcp, INTERFACES) is None

    def test_same_tuple_either_way_changes_nothing(self) -> None:
        """A tuple equal to the socket's, in either direction, is no update."""
        sent = apply(Update("send", _tuple("ipv6", "::", 0, "::1", 2345)), FRESH_UDP6, INTERFACES)
        assert sent is not None
        again = _tuple("ipv6", "::1", 2345, "::1", 0)
        assert apply(Update("send", again), sent, INTERFACES) is None


class TestConnect:
    def test_connect_exit_keeps_a_known_peer(self) -> None:
        """A second connect of a UDP socket updates its local end only: the first peer stays."""
        first = apply(Update("connect_exit", _tuple("ipv6", "::1", 38255, "::1", 2345)), FRESH_UDP6, INTERFACES)
        assert first is not None and first.name == "::1:38255->::1:2345"
        second = apply(Update("connect_exit", _tuple("ipv6", "::1", 38255, "2001:4860:4860::8888", 53)), first,
                       INTERFACES)
        assert second is not None
        assert (second.sip, second.sport, second.name) == ("::1", 2345, "::1:38255->::1:2345")

    def test_connect_exit_fills_the_peer_of_a_fresh_socket(self) -> None:
        """Without a peer yet, the tuple gives both ends and the socket becomes a client."""
        fresh = Socket(type="ipv4", name="", l4proto="tcp", has_tuple=False)
        done = apply(Update("connect_exit", _tuple("ipv4", "10.0.0.79", 40000, "1.1.1.1", 443)), fresh, INTERFACES)
        assert done is not None
        assert (done.name, done.role, done.is_server) == ("10.0.0.79:40000->1.1.1.1:443", "client", False)


class TestBind:
    def test_bind_to_port_zero_only_names_the_socket(self) -> None:
        """bind(addr, 0) renames the socket and gives it no role, address or transport to show."""
        bound = apply(Update("bind", Endpoints("ipv6", sip="2001:db8::4", sport=0)), FRESH_UDP6, INTERFACES)
        assert bound is not None
        assert (bound.name, bound.sip, bound.sport, bound.role, bound.has_tuple) == ("2001:db8::4:0", None, None,
                                                                                     None, False)

    def test_bind_to_a_port_makes_a_server(self) -> None:
        """bind(addr, port) makes a server socket bound there."""
        bound = apply(Update("bind", Endpoints("ipv6", sip="2001:db8::3", sport=1234)), FRESH_UDP6, INTERFACES)
        assert bound is not None
        assert (bound.name, bound.sip, bound.sport, bound.role, bound.is_server) == ("2001:db8::3:1234",
                                                                                     "2001:db8::3", 1234, "server",
                                                                                     True)

    def test_datagram_on_a_bound_socket_keeps_it_bound(self) -> None:
        """A bound socket is not given a datagram's tuple (sysdig shows memory there, see addresses._bound)."""
        bound = apply(Update("bind", Endpoints("ipv4", sip="0.0.0.0", sport=55441)),
                      Socket(type="ipv4", name="", l4proto="udp"), INTERFACES)
        assert bound is not None
        assert apply(Update("send", _tuple("ipv4", "0.0.0.0", 55441, "127.0.0.1", 514)), bound, INTERFACES) is None


def _tuple_bytes(src: bytes, sport: int, dst: bytes, dport: int) -> bytes:
    return bytes([10]) + src + sport.to_bytes(2, "little") + dst + dport.to_bytes(2, "little")


LOOPBACK6 = bytes(15) + b"\x01"


def _batch(rows: list[dict]) -> pa.RecordBatch:
    """A raw batch of one thread's events (the columns these tests need)."""
    names = ["evt.num", "evt.rawtime", "thread.tid", "evt.type_id", "evt.type", "evt.dir", "evt.category",
             "evt.is_internal", "evt.rawres", "arg.fd", "arg.domain", "arg.type", "arg.proto", "arg.tuple"]
    types = [pa.uint64(), pa.uint64(), pa.int64(), pa.uint16(), pa.string(), pa.string(), pa.string(), pa.bool_(),
             pa.int64(), pa.int64(), pa.int64(), pa.int64(), pa.int64(), pa.binary()]
    for number, row in enumerate(rows, start=1):
        row.update({"evt.num": number, "evt.rawtime": number, "thread.tid": 7, "evt.category": "net",
                    "evt.is_internal": False})
    return pa.RecordBatch.from_arrays([pa.array([r.get(n) for r in rows], type=t) for n, t in zip(names, types)],
                                      names=names)


def _udp6_socket_and_sendto(fd: int, tuple_: bytes) -> list[dict]:
    return [
        {"evt.type_id": 18, "evt.type": "socket", "evt.dir": ">", "arg.domain": 10, "arg.type": 2, "arg.proto": 0},
        {"evt.type_id": 19, "evt.type": "socket", "evt.dir": "<", "evt.rawres": fd, "arg.fd": fd},
        {"evt.type_id": 30, "evt.type": "sendto", "evt.dir": ">", "arg.fd": fd, "arg.tuple": tuple_},
        {"evt.type_id": 31, "evt.type": "sendto", "evt.dir": "<", "evt.rawres": 6},
    ]


def _close(fd: int) -> list[dict]:
    return [{"evt.type_id": 4, "evt.type": "close", "evt.dir": ">", "arg.fd": fd},
            {"evt.type_id": 5, "evt.type": "close", "evt.dir": "<", "evt.rawres": 0}]


def _enricher() -> Enricher:
    enricher = Enricher()
    enricher.fds.interfaces = INTERFACES
    return enricher


def test_sendto_on_unconnected_udp_socket_sets_the_tuple_in_the_batch() -> None:
    """Through the enricher: a sendto exit gives a fresh UDP socket the tuple of its enter, and the client port
    of a socket without a client end reads 0 (libsinsp)."""
    tuple_ = _tuple_bytes(bytes(16), 0, LOOPBACK6, 2345)
    out = _enricher().enrich(_batch(_udp6_socket_and_sendto(3, tuple_)),
                             {"fd.name", "fd.l4proto", "fd.cport", "fd.sport"})
    assert out.column("fd.name").to_pylist() == [None, "", "", "::1:0->::1:2345"]
    assert out.column("fd.l4proto").to_pylist() == [None, None, None, "udp"]
    assert out.column("fd.cport").to_pylist() == [None, None, None, 0]
    assert out.column("fd.sport").to_pylist() == [None, None, None, 2345]


def test_same_datagram_on_a_new_socket_with_the_same_fd_still_applies() -> None:
    """A socket closed and made again with the same fd number gets the tuple of its own first datagram, even
    when it is the one the previous socket had."""
    tuple_ = _tuple_bytes(bytes(16), 0, LOOPBACK6, 2345)
    rows = _udp6_socket_and_sendto(3, tuple_) + _close(3) + _udp6_socket_and_sendto(3, tuple_)
    out = _enricher().enrich(_batch(rows), {"fd.name"})
    assert out.column("fd.name").to_pylist()[-1] == "::1:0->::1:2345"
    assert out.column("fd.name").to_pylist()[-3] == ""  # the new socket before its sendto


_ADDRESSES = {2: [bytes([127, 0, 0, 1]), bytes([10, 0, 0, 79]), bytes(4)],
              10: [LOOPBACK6, bytes(10) + b"\xff\xff" + bytes([127, 0, 0, 1]), bytes(16)]}
_op = st.tuples(st.sampled_from(["socket", "connect", "sendto", "close"]), st.sampled_from([3, 4]),
                st.sampled_from([2, 10]), st.sampled_from([1, 2]), st.integers(0, 2), st.integers(0, 2),
                st.sampled_from([0, 0, -115, -111]))


def _events(ops) -> list[dict]:
    rows: list[dict] = []
    for op, fd, family, sock_type, src, dst, res in ops:
        raw = bytes([family]) + _ADDRESSES[family][src] + (40000 + src).to_bytes(2, "little") + \
            _ADDRESSES[family][dst] + (80 + dst).to_bytes(2, "little")
        if op == "socket":
            rows += [{"evt.type_id": 18, "evt.type": "socket", "evt.dir": ">", "arg.domain": family,
                      "arg.type": sock_type, "arg.proto": 0},
                     {"evt.type_id": 19, "evt.type": "socket", "evt.dir": "<", "evt.rawres": fd, "arg.fd": fd}]
        elif op == "connect":
            rows += [{"evt.type_id": 22, "evt.type": "connect", "evt.dir": ">", "arg.fd": fd},
                     {"evt.type_id": 23, "evt.type": "connect", "evt.dir": "<", "evt.rawres": res, "arg.tuple": raw}]
        elif op == "sendto":
            rows += [{"evt.type_id": 30, "evt.type": "sendto", "evt.dir": ">", "arg.fd": fd, "arg.tuple": raw},
                     {"evt.type_id": 31, "evt.type": "sendto", "evt.dir": "<", "evt.rawres": 6}]
        else:
            rows += _close(fd)
    return rows


_SOCKET_FIELDS = {"fd.name", "fd.cip", "fd.sip", "fd.cport", "fd.sport", "fd.l4proto", "fd.type", "fd.is_server",
                  "fd.lip", "fd.rip", "fd.lport", "fd.rport"}


@settings(max_examples=150, deadline=None)
@given(st.lists(_op, min_size=1, max_size=25), st.integers(1, 4))
def test_first_connects_applied_column_wise_equal_the_updates_applied_one_by_one(ops, batches) -> None:
    """(`stages.state.fds._first_connects` takes a connect exit on a new socket out of the one-by-one loop.)"""
    rows = _events(ops)
    cut = max(1, len(rows) // batches)
    parts = [rows[start: start + cut] for start in range(0, len(rows), cut)]

    def fields(column_wise_from: int) -> list[dict]:
        enricher = _enricher()
        with patch.object(fds, "COLUMN_WISE_FROM", column_wise_from):
            return [enricher.enrich(_batch([dict(row) for row in part]), _SOCKET_FIELDS).to_pydict()
                    for part in parts]

    assert fields(1) == fields(1 << 30)


def test_a_batch_whose_only_fd_change_is_a_connect_names_the_socket() -> None:
    """(The socket was made in an earlier batch: the connect's version is the batch's only fd version.)"""
    enricher = _enricher()
    enricher.enrich(_batch(_events([("socket", 3, 2, 1, 0, 0, 0)])), {"fd.name"})
    out = enricher.enrich(_batch(_events([("connect", 3, 2, 1, 0, 1, 0)])), {"fd.name", "fd.is_server"})
    assert out.column("fd.name").to_pylist() == ["", "127.0.0.1:40000->10.0.0.79:81"]
    assert out.column("fd.is_server").to_pylist() == [False, False]
