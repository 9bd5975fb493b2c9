"""evt.args and evt.buflen of hand-built raw batches, and of a real capture enriched whole or in part."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from kernel.scap import open_capture
from stages.state.enrich import Enricher
from tests.state.fakes import FakeCapture, FakeThread

CAPTURE = (Path(__file__).resolve().parents[2].parent / "shared" / "peer" / "scap" / "captures"
           / "sysdig-inspect__capture-samples_502Error__947a737f.scap")
FIELDS = {"evt.args", "evt.buflen", "evt.info"}
_COLUMNS = {
    "evt.num": pa.uint64(), "evt.rawtime": pa.uint64(), "thread.tid": pa.int64(), "evt.type_id": pa.uint16(),
    "evt.type": pa.string(), "evt.dir": pa.string(), "evt.category": pa.string(), "evt.is_internal": pa.bool_(),
    "evt.rawres": pa.int64(), "arg.ID": pa.int64(), "arg.fd": pa.int64(), "arg.name": pa.string(),
    "arg.flags": pa.int64(), "arg.mode": pa.int64(), "arg.size": pa.int64(), "arg.res": pa.int64(),
    "arg.data": pa.binary(), "arg.pid": pa.int64(), "arg.sig": pa.int64(),
}


def _raw(rows: list[dict]) -> pa.RecordBatch:
    """A raw batch in the kernel.scap column contract; `evt.num`, time and direction filled in."""
    for num, row in enumerate(rows, start=1):
        row.setdefault("evt.num", num)
        row.setdefault("evt.rawtime", num)
        row.setdefault("evt.dir", "<" if row["evt.type_id"] & 1 else ">")
        row.setdefault("evt.is_internal", False)
    return pa.RecordBatch.from_arrays([pa.array([r.get(n) for r in rows], type=t) for n, t in _COLUMNS.items()],
                                      names=list(_COLUMNS))


def _event(type_id: int, evt_type: str, category: str, **args) -> dict:
    row = {"thread.tid": 42, "evt.type_id": type_id, "evt.type": evt_type, "evt.category": category}
    row.update({("evt.rawres" if key == "rawres" else f"arg.{key}"): value for key, value in args.items()})
    return row


def _open_exit(fd: int, name: str) -> dict:
    return _event(3, "open", "file", rawres=fd, fd=fd, name=name, flags=1 | 4096, mode=0)


def _enrich(rows: list[dict]) -> dict[str, list]:
    enricher = Enricher(FakeCapture({42: FakeThread(42, 42, 1, "bash", "/bin/bash", uid=0, gid=0)}))
    return enricher.enrich(_raw(rows), FIELDS).to_pydict()


class TestEvtArgs:
    def test_open_exit_names_its_fd_and_flags(self) -> None:
        """Each parameter prints as name=value, resolved parts in parentheses; absent ones are left out."""
        batch = _enrich([_open_exit(3, "/etc/hosts")])
        assert batch["evt.args"] == ["fd=3(<f>/etc/hosts) name=/etc/hosts flags=4097(O_RDONLY|O_CLOEXEC) mode=0 "]
        assert batch["evt.info"] == batch["evt.args"]

    def test_read_enter_and_exit(self) -> None:
        """A read shows the fd's name on enter and its data, with dots for unprintable bytes, on exit."""
        batch = _enrich([_open_exit(3, "/etc/hosts"), _event(6, "read", "io_read", fd=3, size=100),
                         _event(7, "read", "io_read", rawres=5, res=5, data=b"ab\ncd")])
        assert batch["evt.args"][1:] == ["fd=3(<f>/etc/hosts) size=100 ", "res=5 data=ab.cd "]

    def test_generic_events_print_nothing(self) -> None:
        """A syscall without its own event type keeps its parameters internal: the text is empty."""
        assert _enrich([_event(1, "clock_gettime", "time", ID=11)])["evt.args"] == [""]

    def test_pid_and_signal_are_named(self) -> None:
        """A pid names its thread's command, a signal its SIG name."""
        assert _enrich([_event(128, "kill", "signal", pid=42, sig=9)])["evt.args"] == ["pid=42(bash) sig=9(SIGKILL) "]

    def test_result_from_rawres_when_the_column_is_absent(self) -> None:
        """Live capture keeps an exit's result in evt.rawres only; the text still starts with it."""
        assert _enrich([_event(5, "close", "io_other", rawres=0)])["evt.args"] == ["res=0 "]

    def test_failed_call_names_its_errno(self) -> None:
        """A negative result is followed by its errno name."""
        rows = [_open_exit(3, "/etc/hosts"), _event(6, "read", "io_read", fd=3, size=8),
                _event(7, "read", "io_read", rawres=-11, res=-11, data=b"")]
        assert _enrich(rows)["evt.args"][2] == "res=-11(EAGAIN) data= "


class TestEvtBuflen:
    def test_io_exit_after_its_enter_has_the_result(self) -> None:
        """The exit of a read on a known fd has the byte count; enters and other events have none."""
        batch = _enrich([_open_exit(3, "/etc/hosts"), _event(6, "read", "io_read", fd=3, size=100),
                         _event(7, "read", "io_read", rawres=5, res=5, data=b"hello")])
        assert batch["evt.buflen"] == [None, None, 5]

    def test_failed_or_unmatched_exit_has_none(self) -> None:
        """A failed read, and a read exit whose enter is missing, have no buffer length."""
        batch = _enrich([_open_exit(3, "/etc/hosts"), _event(7, "read", "io_read", rawres=5, res=5, data=b"hello"),
                         _event(6, "read", "io_read", fd=3, size=8),
                         _event(7, "read", "io_read", rawres=-11, res=-11, data=b"")])
        assert batch["evt.buflen"] == [None, None, None, None]


def test_restricted_rows_equal_full_enrichment() -> None:
    """Enriching only some rows of a real capture gives those rows' evt.args and evt.buflen of a full run."""
    capture = open_capture(str(CAPTURE))
    full_enricher, part_enricher = Enricher(capture), Enricher(capture)
    for raw in capture.batches(4096):
        rows = np.nonzero(np.arange(raw.num_rows) % 3 == 1)[0]
        full = full_enricher.enrich(raw, FIELDS).take(pa.array(rows))
        part = part_enricher.enrich(raw, FIELDS, rows=rows)
        for name in FIELDS:
            assert part.column(name).equals(full.column(name)), name
