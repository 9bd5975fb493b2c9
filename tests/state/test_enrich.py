"""Enrichment of hand-built raw batches: execve then open in one batch, state carried across batches."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from stages.state.enrich import Enricher
from tests.state.fakes import FakeCapture, FakeThread, FakeUser


def _raw(rows: list[dict]) -> pa.RecordBatch:
    """A raw batch in the kernel.scap column contract (only the columns these tests need)."""
    names = ["evt.num", "evt.rawtime", "thread.tid", "evt.type_id", "evt.type", "evt.dir", "evt.category",
             "evt.is_internal", "evt.rawres", "arg.fd", "arg.name", "arg.flags", "arg.exe", "arg.args", "arg.pid",
             "arg.ptid", "arg.cwd", "arg.comm", "arg.uid", "arg.json"]
    types = [pa.uint64(), pa.uint64(), pa.int64(), pa.uint16(), pa.string(), pa.string(), pa.string(), pa.bool_(),
             pa.int64(), pa.int64(), pa.string(), pa.int64(), pa.string(), pa.list_(pa.string()), pa.int64(),
             pa.int64(), pa.string(), pa.string(), pa.uint32(), pa.string()]
    return pa.RecordBatch.from_arrays([pa.array([r.get(n) for r in rows], type=t) for n, t in zip(names, types)],
                                      names=names)


def _execve_exit(num: int, tid: int) -> dict:
    return {"evt.num": num, "evt.rawtime": num, "thread.tid": tid, "evt.type_id": 293, "evt.type": "execve",
            "evt.dir": "<", "evt.category": "process", "evt.is_internal": False, "evt.rawres": 0,
            "arg.exe": "/bin/cat", "arg.args": ["/etc/passwd"], "arg.pid": tid, "arg.ptid": 1, "arg.cwd": "/tmp",
            "arg.comm": "cat"}


def _open_exit(num: int, tid: int, fd: int, name: str) -> dict:
    return {"evt.num": num, "evt.rawtime": num, "thread.tid": tid, "evt.type_id": 3, "evt.type": "open",
            "evt.dir": "<", "evt.category": "file", "evt.is_internal": False, "evt.rawres": fd, "arg.fd": fd,
            "arg.name": name, "arg.flags": 1 | 4096}


def _capture() -> FakeCapture:
    return FakeCapture({1: FakeThread(1, 1, 0, "systemd", "/sbin/init"),
                        42: FakeThread(42, 42, 1, "bash", "bash", ["-i"], sid=42)},
                       users=[FakeUser(1000, 1000, "alice")])


FIELDS = {"proc.name", "proc.cmdline", "proc.exe", "proc.pname", "proc.aname", "proc.aname[2]", "fd.name",
          "fd.num", "fd.typechar", "fd.directory", "evt.arg.flags", "user.name", "user.uid", "container.id",
          "evt.is_open_read", "proc.cwd"}


def test_open_after_execve_in_same_batch_sees_new_process() -> None:
    """An event right after an execve in the same batch sees the new comm, exe and cmdline."""
    enricher = Enricher(_capture())
    batch = enricher.enrich(_raw([_open_exit(1, 42, 3, "/etc/hosts"), _execve_exit(2, 42),
                                  _open_exit(3, 42, 4, "/etc/passwd")]), FIELDS)
    assert batch.column("proc.name").to_pylist() == ["bash", "cat", "cat"]
    assert batch.column("proc.cmdline").to_pylist() == ["bash -i", "cat /etc/passwd", "cat /etc/passwd"]
    assert batch.column("proc.exe").to_pylist() == ["bash", "/bin/cat", "/bin/cat"]
    assert batch.column("proc.cwd").to_pylist() == ["/", "/tmp", "/tmp"]
    assert batch.column("fd.name").to_pylist() == ["/etc/hosts", None, "/etc/passwd"]
    assert batch.column("fd.directory").to_pylist() == ["/etc", None, "/etc"]
    assert batch.column("fd.typechar").to_pylist() == ["f", None, "f"]
    assert batch.column("fd.num").to_pylist() == [3, None, 4]
    assert batch.column("evt.arg.flags").to_pylist() == ["O_RDONLY|O_CLOEXEC", None, "O_RDONLY|O_CLOEXEC"]
    assert batch.column("evt.is_open_read").to_pylist() == [True, False, True]
    assert batch.column("user.name").to_pylist() == ["alice"] * 3
    assert batch.column("proc.pname").to_pylist() == ["systemd"] * 3
    assert batch.column("proc.aname").to_pylist() == [["systemd"]] * 3
    assert batch.column("proc.aname[2]").to_pylist() == [None] * 3
    assert batch.column("container.id").to_pylist() == ["host"] * 3


def test_state_carries_across_batches() -> None:
    """The end-of-batch snapshot seeds the next batch: the exec and the open fd are still known."""
    enricher = Enricher(_capture())
    enricher.enrich(_raw([_execve_exit(1, 42), _open_exit(2, 42, 5, "/var/log/x")]), FIELDS)
    read_enter = {"evt.num": 3, "evt.rawtime": 3, "thread.tid": 42, "evt.type_id": 6, "evt.type": "read",
                  "evt.dir": ">", "evt.category": "io_read", "evt.is_internal": False, "arg.fd": 5}
    batch = enricher.enrich(_raw([read_enter]), FIELDS)
    assert batch.column("proc.name").to_pylist() == ["cat"]
    assert batch.column("fd.name").to_pylist() == ["/var/log/x"]
    assert batch.column("fd.num").to_pylist() == [5]


def test_close_hides_fd_after_the_close_event() -> None:
    """The close exit still shows the fd; the next event on that fd does not find it."""
    enricher = Enricher(_capture())
    close_enter = {"evt.num": 2, "evt.rawtime": 2, "thread.tid": 42, "evt.type_id": 4, "evt.type": "close",
                   "evt.dir": ">", "evt.category": "io_other", "evt.is_internal": False, "arg.fd": 3}
    close_exit = {"evt.num": 3, "evt.rawtime": 3, "thread.tid": 42, "evt.type_id": 5, "evt.type": "close",
                  "evt.dir": "<", "evt.category": "io_other", "evt.is_internal": False, "evt.rawres": 0}
    read_enter = {"evt.num": 4, "evt.rawtime": 4, "thread.tid": 42, "evt.type_id": 6, "evt.type": "read",
                  "evt.dir": ">", "evt.category": "io_read", "evt.is_internal": False, "arg.fd": 3}
    batch = enricher.enrich(_raw([_open_exit(1, 42, 3, "/etc/hosts"), close_enter, close_exit, read_enter]), FIELDS)
    assert batch.column("fd.name").to_pylist() == ["/etc/hosts", "/etc/hosts", "/etc/hosts", None]
    assert batch.column("fd.num").to_pylist() == [3, 3, 3, 3]


def test_unknown_thread_has_unknown_user_and_no_name() -> None:
    """A thread never seen gives uid 4294967295, no user name and no process name."""
    enricher = Enricher(_capture())
    batch = enricher.enrich(_raw([_open_exit(1, 999, 3, "/x")]), FIELDS)
    assert batch.column("user.uid").to_pylist() == [4294967295]
    assert batch.column("user.name").to_pylist() == [None]
    assert batch.column("proc.name").to_pylist() == [None]


def test_container_id_is_host_for_an_unknown_thread_and_null_without_a_thread() -> None:
    """As sysdig: a thread outside a container or never seen is on the host; the idle task (tid 0) has no
    thread, so no container either. The column is dictionary-encoded, as proc.name."""
    enricher = Enricher(_capture())
    batch = enricher.enrich(_raw([_open_exit(1, 42, 3, "/x"), _open_exit(2, 999, 4, "/y"),
                                  _open_exit(3, 0, 5, "/z")]), {"container.id"})
    assert pa.types.is_dictionary(batch.column("container.id").type)
    assert batch.column("container.id").to_pylist() == ["host", "host", None]


CLONE_THREAD = 1 << 13
PARENT_FIELDS = {"proc.name", "proc.pid", "proc.ppid", "proc.pname", "proc.aname[1]", "user.uid"}


def _clone_exit(num: int, tid: int, res: int, pid: int, ptid: int, flags: int, comm: str = "curl") -> dict:
    return {"evt.num": num, "evt.rawtime": num, "thread.tid": tid, "evt.type_id": 223, "evt.type": "clone",
            "evt.dir": "<", "evt.category": "process", "evt.is_internal": False, "evt.rawres": res,
            "arg.exe": comm, "arg.args": ["localhost"], "arg.pid": pid, "arg.ptid": ptid, "arg.cwd": "",
            "arg.comm": comm, "arg.flags": flags, "arg.uid": 1000}


class TestParentThread:
    """proc.pname names the thread that made the thread; proc.ppid and proc.a* follow the process's main thread."""

    def test_thread_of_an_unknown_process_seen_from_the_child(self) -> None:
        """A thread whose process is unknown makes that process too, named like the thread and without a
        parent: the thread's parent name is its process's, its process parent -1 (libsinsp)."""
        enricher = Enricher(_capture())
        batch = enricher.enrich(_raw([_clone_exit(1, 843, 0, pid=842, ptid=42, flags=CLONE_THREAD),
                                      _open_exit(2, 843, 3, "/etc/hosts"), _open_exit(3, 842, 4, "/etc/hosts")]),
                                PARENT_FIELDS)
        assert batch.column("proc.pid").to_pylist() == [842, 842, 842]
        assert batch.column("proc.pname").to_pylist() == ["curl", "curl", None]
        assert batch.column("proc.ppid").to_pylist() == [-1, -1, -1]
        assert batch.column("proc.aname[1]").to_pylist() == [None, None, None]
        assert batch.column("proc.name").to_pylist() == ["curl", "curl", "curl"]
        assert batch.column("user.uid").to_pylist() == [1000, 1000, 4294967295]

    def test_thread_of_a_known_process_seen_from_the_child(self) -> None:
        """A thread seen first from its own clone exit is made by its thread group leader."""
        enricher = Enricher(_capture())
        batch = enricher.enrich(_raw([_clone_exit(1, 43, 0, pid=42, ptid=1, flags=CLONE_THREAD, comm="bash")]),
                                PARENT_FIELDS)
        assert batch.column("proc.pname").to_pylist() == ["bash"]
        assert batch.column("proc.ppid").to_pylist() == [1]
        assert batch.column("proc.aname[1]").to_pylist() == ["systemd"]

    def test_thread_made_by_its_caller_keeps_it_as_parent(self) -> None:
        """The parent's clone exit makes the thread; the child's later exit does not change its parent."""
        enricher = Enricher(_capture())
        batch = enricher.enrich(_raw([_clone_exit(1, 42, 43, pid=42, ptid=1, flags=CLONE_THREAD, comm="bash"),
                                      _clone_exit(2, 43, 0, pid=42, ptid=1, flags=CLONE_THREAD, comm="bash"),
                                      _open_exit(3, 43, 3, "/etc/hosts")]), PARENT_FIELDS)
        assert batch.column("proc.pname").to_pylist() == ["systemd", "bash", "bash"]
        assert batch.column("proc.ppid").to_pylist() == [1, 1, 1]
        assert batch.column("proc.aname[1]").to_pylist() == ["systemd"] * 3

    def test_process_of_an_unknown_parent_seen_from_the_child(self) -> None:
        """A process whose parent is unknown makes the parent, named like the child: one per parent."""
        enricher = Enricher(_capture())
        batch = enricher.enrich(_raw([_clone_exit(1, 900, 0, pid=900, ptid=777, flags=0, comm="sh"),
                                      _clone_exit(2, 901, 0, pid=901, ptid=777, flags=0, comm="awk"),
                                      _open_exit(3, 777, 3, "/etc/hosts")]), PARENT_FIELDS)
        assert batch.column("proc.ppid").to_pylist() == [777, 777, -1]
        assert batch.column("proc.pname").to_pylist() == ["sh", "sh", None]
        assert batch.column("proc.name").to_pylist() == ["sh", "awk", "sh"]


def _container_event(num: int, json_text: str) -> dict:
    return {"evt.num": num, "evt.rawtime": num, "thread.tid": -1, "evt.type_id": 272, "evt.type": "container",
            "evt.dir": ">", "evt.category": "process", "evt.is_internal": False, "arg.json": json_text}


def test_container_event_has_a_thread_standing_for_its_container() -> None:
    """A JSON container event's thread is made up from the container: named `container:<id>`, pid -1, parent
    0, uid 0, in that container; the events around it are unaffected."""
    enricher = Enricher(_capture())
    meta = '{"container": {"id": "9dbcbd0c435f", "name": "epic_cray", "image": "nginx:latest", "type": 0}}'
    fields = {"proc.name", "proc.cmdline", "proc.pid", "proc.ppid", "user.uid", "container.id", "container.name",
              "container.image", "thread.vtid"}
    batch = enricher.enrich(_raw([_open_exit(1, 42, 3, "/etc/hosts"), _container_event(2, meta),
                                  _open_exit(3, 42, 4, "/etc/hosts")]), fields)
    assert batch.column("proc.name").to_pylist() == ["bash", "container:9dbcbd0c435f", "bash"]
    assert batch.column("proc.cmdline").to_pylist() == ["bash -i", "container:9dbcbd0c435f", "bash -i"]
    assert batch.column("proc.pid").to_pylist() == [42, -1, 42]
    assert batch.column("proc.ppid").to_pylist() == [1, 0, 1]
    assert batch.column("user.uid").to_pylist() == [1000, 0, 1000]
    assert batch.column("container.id").to_pylist() == ["host", "9dbcbd0c435f", "host"]
    assert batch.column("container.name").to_pylist() == ["host", "epic_cray", "host"]
    assert batch.column("container.image").to_pylist() == [None, "nginx:latest", None]
    assert batch.column("thread.vtid").to_pylist() == [None, -2, None]


def test_restricted_rows_equal_full_enrichment_taken() -> None:
    """Enriching only some rows gives those rows' values of a full enrichment, and the same state after."""
    from pathlib import Path

    import numpy as np

    from kernel.scap import open_capture

    capture_path = (Path(__file__).resolve().parents[2].parent / "shared" / "peer" / "scap" / "captures"
                    / "sysdig-inspect__capture-samples_502Error__947a737f.scap")
    fields = {"proc.name", "proc.pname", "proc.aname", "proc.cmdline", "fd.name", "fd.sip", "fd.typechar",
              "user.name", "container.id", "evt.arg.flags", "evt.res", "fd.directory"}
    capture = open_capture(str(capture_path))
    full_enricher, part_enricher = Enricher(capture), Enricher(capture)
    for raw in capture.batches(4096):
        rows = np.nonzero(np.arange(raw.num_rows) % 3 == 1)[0]
        full = full_enricher.enrich(raw, fields).take(pa.array(rows))
        part = part_enricher.enrich(raw, fields, rows=rows)
        assert part.schema.names == full.schema.names
        for name in full.schema.names:
            assert plain(part.column(name)).equals(plain(full.column(name))), name


def _capture_502():
    from pathlib import Path

    from kernel.scap import open_capture

    return open_capture(str(Path(__file__).resolve().parents[2].parent / "shared" / "peer" / "scap" / "captures"
                            / "sysdig-inspect__capture-samples_502Error__947a737f.scap"))


def _assert_only_where(part, full, name: str, chosen) -> None:
    """`part`'s column `name` equals `full`'s on the `chosen` rows and is null on the others."""
    got, want = part.column(name).to_pylist(), full.column(name).to_pylist()
    assert [g for g, c in zip(got, chosen) if c] == [w for w, c in zip(want, chosen) if c]
    assert all(g is None for g, c in zip(got, chosen) if not c)


def test_only_for_narrows_a_field_to_event_types() -> None:
    """`only_for` computes a field for the rows of the given event types alone (their values unchanged) and
    leaves it null on every other row."""
    import numpy as np
    import pyarrow.compute as pc

    capture = _capture_502()
    wide, narrow = Enricher(capture), Enricher(capture)
    types = frozenset({"connect", "openat"})
    seen = 0
    for raw in capture.batches(4096):
        rows = np.nonzero(np.arange(raw.num_rows) % 2 == 0)[0]
        full = wide.enrich(raw, {"evt.args"}, rows=rows)
        part = narrow.enrich(raw, {"evt.args"}, rows=rows, only_for={"evt.args": types})
        chosen = pc.is_in(full.column("evt.type"), value_set=pa.array(sorted(types))).to_numpy(zero_copy_only=False)
        _assert_only_where(part, full, "evt.args", chosen)
        seen += int(chosen.sum())
    assert seen > 100


def test_a_gate_narrows_a_row_by_row_field_to_the_rows_it_passes() -> None:
    """`gates[name]`, evaluated on the other fields (computed first), leaves the field null where it fails and
    as it would be where it passes."""
    import pyarrow.compute as pc

    from rules.compiler import compile_condition
    from rules.parser import parse_condition

    capture = _capture_502()
    wide, gated = Enricher(capture), Enricher(capture)
    types = frozenset({"connect", "openat"})
    gate = compile_condition(parse_condition("evt.type = connect and fd.sport = 80"))
    passed = failed = 0
    for raw in capture.batches(4096):
        full = wide.enrich(raw, {"evt.args", "fd.sport"}, only_for={"evt.args": types})
        part = gated.enrich(raw, {"evt.args", "fd.sport"}, only_for={"evt.args": types}, gates={"evt.args": gate})
        chosen = pc.fill_null(pc.and_(pc.equal(full.column("evt.type"), "connect"),
                                      pc.equal(full.column("fd.sport"), 80)), False).to_numpy(zero_copy_only=False)
        _assert_only_where(part, full, "evt.args", chosen)
        want = full.column("evt.args").to_pylist()
        passed += int(chosen.sum())
        failed += sum(w is not None for w, c in zip(want, chosen) if not c)
    assert passed > 10 and failed > 100


def plain(column):
    """A column with dictionary encoding undone: the same values, however they were encoded."""
    return column.dictionary_decode() if hasattr(column, "dictionary_decode") else column


def test_fd_nameraw_keeps_the_written_name() -> None:
    """fd.nameraw is the path as the program wrote it; fd.name the resolved one (opens of a real capture)."""
    from pathlib import Path

    import pyarrow.compute as pc

    from kernel.scap import open_capture

    capture = open_capture(str(Path(__file__).resolve().parents[2].parent / "shared" / "peer" / "scap" / "captures"
                               / "sysdig-inspect__capture-samples_502Error__947a737f.scap"))
    enricher = Enricher(capture)
    pairs = set()
    for raw in capture.batches(65536):
        batch = enricher.enrich(raw, {"fd.name", "fd.nameraw", "evt.type"})
        opens = batch.filter(pc.fill_null(pc.equal(batch.column("evt.type").cast(pa.string()), "open"), False))
        pairs |= {(r["fd.name"], r["fd.nameraw"]) for r in opens.select(["fd.name", "fd.nameraw"]).to_pylist()}
    assert ("/etc/nsswitch.conf", "/etc/nsswitch.conf") in pairs
    assert all(name == raw for name, raw in pairs if name and raw and "/." not in raw and "//" not in raw)


def test_relative_paths_resolve_against_the_cwd_as_of_each_event() -> None:
    """A relative open names the file under its thread's cwd at that moment (before and after an execve that
    changes it), also for a failed open (no fd: the name comes from the call) and on a view of some rows."""
    for rows in (None, [0, 2, 3]):
        enricher = Enricher(_capture())
        failed = {**_open_exit(4, 42, -2, "../etc/shadow"), "evt.rawres": -2, "arg.fd": -2}
        batch = enricher.enrich(_raw([_open_exit(1, 42, 3, "notes.txt"), _execve_exit(2, 42),
                                      _open_exit(3, 42, 4, "./a//b.txt"), failed]), FIELDS, rows=rows)
        names = ["/notes.txt", None, "/tmp/a/b.txt", "/etc/shadow"]
        assert batch.column("fd.name").to_pylist() == (names if rows is None else [names[i] for i in rows])


def test_a_batch_view_is_freed_with_its_batch_not_left_to_the_cycle_collector() -> None:
    """Nothing of a batch's view refers back to it: with the cyclic collector off, no view or raw batch wrapper
    outlives enrich() (else each batch's arrays stay in memory until a collection, which then walks them)."""
    import gc

    from stages.state.enrich import _BatchView
    from stages.state.raw import RawBatch

    enricher = Enricher(_capture())
    gc.collect()
    gc.disable()
    try:
        for num in range(1, 40, 3):
            enricher.enrich(_raw([_open_exit(num, 42, 3, "notes.txt"), _execve_exit(num + 1, 42),
                                  _open_exit(num + 2, 42, 4, "/etc/hosts")]), FIELDS, rows=[0, 2])
        alive = [o for o in gc.get_objects() if isinstance(o, (_BatchView, RawBatch))]
    finally:
        gc.enable()
    assert alive == []


def test_appended_snapshots_give_the_fields_of_copied_ones(monkeypatch) -> None:
    """A real capture enriched with every snapshot appended to (dead rows, chunked columns, compaction when
    due) gives the same fields as with every snapshot copied whole."""
    from pathlib import Path

    import stages.state.versions as versions
    from kernel.scap import open_capture

    capture = open_capture(str(Path(__file__).resolve().parents[2].parent / "shared" / "peer" / "scap" / "captures"
                               / "sysdig-inspect__capture-samples_502Error__947a737f.scap"))
    fields = {"proc.name", "proc.pname", "proc.aname[2]", "proc.cmdline", "fd.name", "fd.sip", "fd.typechar",
              "user.name", "container.id", "evt.res", "fd.directory", "proc.exepath", "fd.num"}
    copied, appended = Enricher(capture), Enricher(capture)
    compactions = appends = 0
    for raw in capture.batches(512):
        monkeypatch.setattr(versions, "APPEND_MIN_BYTES", 1 << 62)
        want = copied.enrich(raw, fields)
        monkeypatch.setattr(versions, "APPEND_MIN_BYTES", 0)
        got = appended.enrich(raw, fields)
        for name in fields:
            assert plain(got.column(name)).equals(plain(want.column(name))), name
        compactions += appended.fds.snapshot.dead is None
        appends += appended.fds.snapshot.dead is not None
        assert appended.fds.snapshot.live == copied.fds.snapshot.live
        assert appended.threads.snapshot.live == copied.threads.snapshot.live
    assert compactions and appends  # appended to, and the dead rows dropped now and then


def test_seen_threads_are_the_union_of_every_batch_added() -> None:
    """The tids seen so far answer as a set of every tid added would, for tids in a bitmap (grown as they
    rise) and out of its span (negative, or past Linux's largest pid) alike."""
    import numpy as np
    from hypothesis import given
    from hypothesis import strategies as st

    from stages.state.enrich import SeenTids

    span = SeenTids.SPAN
    tid = st.one_of(st.integers(-5, 300), st.integers(span - 3, span + 3), st.integers(0, 1 << 40))

    @given(st.lists(st.sets(tid), max_size=5), st.sets(tid))
    def check(batches: list[set[int]], queries: set[int]) -> None:
        seen = SeenTids()
        union: set[int] = set()
        for tids in batches:
            seen.add(np.array(sorted(tids), dtype=np.int64))
            union |= tids
        asked = np.array(sorted(queries | union), dtype=np.int64)
        assert seen.contains(asked).tolist() == [t in union for t in asked.tolist()]

    check()


def test_evt_res_names_errors_and_success_and_leaves_unknown_codes_null() -> None:
    """evt.res: SUCCESS for a result >= 0, the errno's name for a negative one; null for an event without a
    result and for a code outside the errno table (no error)."""
    rows = [_open_exit(1, 42, 3, "/etc/hosts"), _open_exit(2, 42, -2, "/nope"), _open_exit(3, 42, 5, "/etc/a"),
            _open_exit(4, 42, -13, "/root/x"), _open_exit(5, 42, -5000, "/odd"), _open_exit(6, 42, 0, "/etc/b")]
    rows[5]["evt.rawres"] = None
    batch = Enricher(_capture()).enrich(_raw(rows), {"evt.res"})
    assert batch.column("evt.res").to_pylist() == ["SUCCESS", "ENOENT", "SUCCESS", "EACCES", None, None]


def test_event_type_keeps_its_dictionary_encoding() -> None:
    """The decoders' dictionary-encoded evt.type reaches the rules as it is: they test each distinct type once
    and split a batch by type without encoding it again."""
    raw = _raw([_open_exit(1, 42, 3, "/etc/hosts"), _execve_exit(2, 42)])
    coded = pa.RecordBatch.from_arrays(
        [column.dictionary_encode() if name == "evt.type" else column for name, column in zip(raw.schema.names,
                                                                                              raw.columns)],
        names=raw.schema.names)
    column = Enricher(_capture()).enrich(coded, {"evt.type"}).column("evt.type")
    assert pa.types.is_dictionary(column.type)
    assert column.to_pylist() == ["open", "execve"]


def _procexit(num: int, tid: int) -> dict:
    return {"evt.num": num, "evt.rawtime": num, "thread.tid": tid, "evt.type_id": 186, "evt.type": "procexit",
            "evt.dir": ">", "evt.category": "process", "evt.is_internal": False}


def _open_enter(num: int, tid: int, name: str) -> dict:
    return {"evt.num": num, "evt.rawtime": num, "thread.tid": tid, "evt.type_id": 2, "evt.type": "open",
            "evt.dir": ">", "evt.category": "file", "evt.is_internal": False, "arg.name": name, "arg.flags": 1}


def test_the_enter_memo_forgets_threads_that_exited() -> None:
    """The last enter of each thread is carried to later batches (an exit may pair with it), but not for a
    thread whose procexit came last: it is gone, and without this the memo would hold every thread that ever
    exited (live capture: its only enter-direction event is procexit, so the memo stays empty)."""
    enricher = Enricher(_capture())
    enricher.enrich(_raw([_open_enter(1, 42, "/etc/hosts"), _open_exit(2, 42, 3, "/etc/hosts"),
                          _open_enter(3, 1, "/etc/passwd")]), FIELDS)
    assert sorted(enricher._enter_memo["tid"].tolist()) == [1, 42]
    enricher.enrich(_raw([_open_exit(4, 1, 4, "/etc/passwd"), _procexit(5, 42)]), FIELDS)
    assert enricher._enter_memo["tid"].tolist() == [1]
    live = Enricher(_capture())
    live.enrich(_raw([_open_exit(1, 42, 3, "/etc/hosts"), _procexit(2, 42), _open_exit(3, 1, 5, "/etc/a")]),
                FIELDS)
    assert not len((live._enter_memo or {"tid": []})["tid"])


def test_fd_text_fields_share_one_dictionary_encoding() -> None:
    """fd.name, fd.directory and fd.filename reach the rules dictionary-encoded (a batch's fds name few files),
    with a directory fd's own name as its directory and no filename, in batches with and without rows that
    have no fd."""
    directory_flags = 1 | (1 << 10)  # PPM_O_RDONLY | PPM_O_DIRECTORY
    opens = [_open_exit(1, 42, 3, "/etc/hosts"), _open_exit(2, 42, 4, "/etc/ssl"), _open_exit(3, 42, 5, "/etc/hosts")]
    opens[1]["arg.flags"] = directory_flags
    fields = {"fd.name", "fd.directory", "fd.filename"}
    for rows in (opens, opens + [_execve_exit(4, 42)]):
        batch = Enricher(_capture()).enrich(_raw(rows), fields)
        for name in fields:
            assert pa.types.is_dictionary(batch.column(name).type), name
        tail = [None] * (len(rows) - 3)
        assert batch.column("fd.name").to_pylist() == ["/etc/hosts", "/etc/ssl", "/etc/hosts"] + tail
        assert batch.column("fd.directory").to_pylist() == ["/etc", "/etc/ssl", "/etc"] + tail
        assert batch.column("fd.filename").to_pylist() == ["hosts", None, "hosts"] + tail


def test_a_file_fd_without_a_name_has_no_directory_or_filename() -> None:
    """An fd whose name is unknown (null) gives null fd.name, fd.directory and fd.filename, not an error."""
    rows = [_open_exit(1, 42, 3, None), _open_exit(2, 42, 4, "/etc/hosts")]
    batch = Enricher(_capture()).enrich(_raw(rows), {"fd.name", "fd.directory", "fd.filename"})
    assert batch.column("fd.name").to_pylist() == [None, "/etc/hosts"]
    assert batch.column("fd.directory").to_pylist() == [None, "/etc"]
    assert batch.column("fd.filename").to_pylist() == [None, "hosts"]


def test_an_exited_thread_is_pruned_once_its_grace_period_is_over_also_without_thread_events() -> None:
    """Threads stay for the grace period after their procexit (late events still find them), then go, also
    when the batches in between change no thread: the commit then reads only new versions, and must still
    notice the old exit coming due."""
    second = 1_000_000_000
    enricher = Enricher(_capture())
    grace = enricher.threads.exit_grace_ns

    def at(row: dict, ns: int) -> dict:
        return row | {"evt.num": ns, "evt.rawtime": ns}

    enricher.enrich(_raw([at(_procexit(0, 42), 1 * second)]), FIELDS)
    assert enricher.threads.counters.pruned_exited == 0
    enricher.enrich(_raw([at(_open_exit(0, 1, 3, "/etc/hosts"), 1 * second + grace - 1)]), FIELDS)
    late = enricher.enrich(_raw([at(_open_exit(0, 42, 4, "/etc/hosts"), 1 * second + grace - 1)]), FIELDS)
    assert late.column("proc.name").to_pylist() == ["bash"] and enricher.threads.counters.pruned_exited == 0
    enricher.enrich(_raw([at(_open_exit(0, 1, 5, "/etc/hosts"), 2 * second + grace)]), FIELDS)
    assert enricher.threads.counters.pruned_exited == 1
    assert enricher.threads.counters.live == 1


def _fork_exit(num: int, tid: int, res: int, pid: int, ptid: int) -> dict:
    return {"evt.num": num, "evt.rawtime": num, "thread.tid": tid, "evt.type_id": 223, "evt.type": "clone",
            "evt.dir": "<", "evt.category": "process", "evt.is_internal": False, "evt.rawres": res, "arg.exe": "bash",
            "arg.args": ["-i"], "arg.pid": pid, "arg.ptid": ptid, "arg.flags": 0, "arg.comm": "bash"}


def test_a_child_keeps_the_fds_of_the_fork_when_its_own_clone_exit_comes_in_a_later_batch() -> None:
    """The parent's clone exit, then (next batch) the parent closes a fd and the child's clone exit comes: the
    child still has the fd, as it had at the fork. Cut anywhere, the same."""
    close_exit = {"evt.num": 3, "evt.rawtime": 3, "thread.tid": 42, "evt.type_id": 5, "evt.type": "close",
                  "evt.dir": "<", "evt.category": "io_other", "evt.is_internal": False, "evt.rawres": 0, "arg.fd": 3}
    read_enter = {"evt.num": 5, "evt.rawtime": 5, "thread.tid": 77, "evt.type_id": 6, "evt.type": "read",
                  "evt.dir": ">", "evt.category": "io_read", "evt.is_internal": False, "arg.fd": 3}
    events = [_open_exit(1, 42, 3, "/etc/hosts"), _fork_exit(2, 42, 77, 42, 1), close_exit,
              _fork_exit(4, 77, 0, 77, 42), read_enter]
    for cut, names in _fd_names_cut_every_way(events):
        assert names[-1] == "/etc/hosts", cut
        assert names[2] == "/etc/hosts", cut  # the parent's close still shows the fd


def _fd_names_cut_every_way(events: list[dict]) -> Iterator[tuple[int, list]]:
    """(cut, fd.name of every event) with the events enriched in batches of `cut`, for every cut."""
    for cut in range(1, len(events) + 1):
        enricher = Enricher(_capture())
        names = []
        for start in range(0, len(events), cut):
            names += enricher.enrich(_raw([dict(e) for e in events[start: start + cut]]), FIELDS).column(
                "fd.name").to_pylist()
        yield cut, names


def _read_enter(num: int, tid: int, fd: int) -> dict:
    return {"evt.num": num, "evt.rawtime": num, "thread.tid": tid, "evt.type_id": 6, "evt.type": "read",
            "evt.dir": ">", "evt.category": "io_read", "evt.is_internal": False, "arg.fd": fd}


def _fds_of(enricher: Enricher, pid: int) -> list[int]:
    snapshot = enricher.fds.snapshot
    live = snapshot.keys[0] == pid
    if snapshot.dead is not None:
        live &= ~snapshot.dead
    return sorted(snapshot.keys[1][live].tolist())


def test_a_process_fds_go_with_its_exit_and_a_process_that_reuses_its_pid_does_not_see_them() -> None:
    """The kernel closes every fd of a process that exits: its fd table leaves the state with it (the threads
    stay for the grace period), as libsinsp's does, so exited processes do not fill the table up to its cap.
    A later process given the same pid starts from its own creator's fds, not the dead one's."""
    enricher = Enricher(_capture())
    enricher.enrich(_raw([_open_exit(1, 42, 3, "/etc/hosts"), _fork_exit(2, 42, 77, 42, 1),
                          _fork_exit(3, 77, 0, 77, 42), _open_exit(4, 77, 5, "/var/log/x")]), FIELDS)
    assert _fds_of(enricher, 77) == [3, 5]
    enricher.enrich(_raw([_procexit(5, 77)]), FIELDS)
    assert _fds_of(enricher, 77) == [] and _fds_of(enricher, 42) == [3]
    assert enricher.fds.counters.ended_processes == 1
    reused = enricher.enrich(_raw([_fork_exit(6, 42, 77, 42, 1), _fork_exit(7, 77, 0, 77, 42),
                                   _read_enter(8, 77, 5), _read_enter(9, 77, 3)]), FIELDS)
    assert reused.column("fd.name").to_pylist()[2:] == [None, "/etc/hosts"]


def test_a_process_keeps_its_fds_while_one_of_its_threads_runs() -> None:
    """A thread's exit ends its process only when no other thread of it runs."""
    thread_exit = _fork_exit(3, 42, 43, 42, 1) | {"arg.flags": 1 << 16}  # CLONE_THREAD: thread 43 of bash
    enricher = Enricher(_capture())
    enricher.enrich(_raw([_open_exit(1, 42, 3, "/etc/hosts"), _fork_exit(2, 42, 43, 42, 1) | {"arg.flags": 1 << 16},
                          thread_exit | {"evt.num": 3, "evt.rawtime": 3, "thread.tid": 43, "evt.rawres": 0,
                                         "arg.pid": 42}]), FIELDS)
    enricher.enrich(_raw([_procexit(4, 43)]), FIELDS)
    assert _fds_of(enricher, 42) == [3] and enricher.fds.counters.ended_processes == 0
    enricher.enrich(_raw([_procexit(5, 42)]), FIELDS)
    assert _fds_of(enricher, 42) == [] and enricher.fds.counters.ended_processes == 1


def test_forks_of_forks_in_one_batch_copy_the_fds_generation_after_generation() -> None:
    """bash forks a subshell, which opens a file and forks a child of its own: the child has bash's fd and the
    subshell's, however the events are cut into batches."""
    events = [_open_exit(1, 42, 3, "/etc/hosts"), _fork_exit(2, 42, 77, 42, 1), _fork_exit(3, 77, 0, 77, 42),
              _open_exit(4, 77, 6, "/var/log/x"), _fork_exit(5, 77, 88, 77, 42), _fork_exit(6, 88, 0, 88, 77),
              _fork_exit(7, 42, 99, 42, 1), _fork_exit(8, 99, 0, 99, 42),
              _read_enter(9, 88, 3), _read_enter(10, 88, 6), _read_enter(11, 99, 3), _read_enter(12, 99, 6)]
    for cut, names in _fd_names_cut_every_way(events):
        assert names[-4:] == ["/etc/hosts", "/var/log/x", "/etc/hosts", None], cut
