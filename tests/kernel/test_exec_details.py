"""kernel.exec_details: exec records' process details (built here byte by byte, as the probe lays them out)
become the .scap forms: `/`-joined paths, `controller=path` cgroup entries, /proc for what did not fit."""

from __future__ import annotations

import os

import numpy as np

from kernel import exec_details, procfs
from kernel.records import DETAILS, F_CGROUP_TRUNC, F_CWD_TRUNC, LAYOUTS

EXEC = LAYOUTS["exec"]
SUBSYSTEMS = ("cpuset", "io", "memory", "pids")


def _components(path: str) -> bytes:
    """A path as the probe writes it: its components leaf first, each NUL-terminated."""
    return b"".join(part.encode() + b"\0" for part in reversed([p for p in path.split("/") if p]))


def _record(cwd: str, cgroups: list[str], on_default: int = 0, **ids: int) -> np.ndarray:
    """One exec record's bytes: the details, the cwd and cgroup areas (distinct paths stored once)."""
    record = np.zeros(EXEC.size, dtype=np.uint8)
    details = np.zeros(1, dtype=DETAILS)
    cwd_raw = _components(cwd)
    area, spans = b"", {}
    for i, path in enumerate(cgroups):
        if path not in spans:
            spans[path] = (len(area), len(area) + len(_components(path)))
            area += _components(path)
        details["cg_at"][0, i], details["cg_end"][0, i] = spans[path]
    details["cwd_len"], details["cg_len"], details["cg_dfl"] = len(cwd_raw), len(area), on_default
    for name, value in ids.items():
        details[name] = value
    at = {name: offset for name, (offset, _size) in EXEC.areas.items()}
    record[at["details"]: at["details"] + DETAILS.itemsize] = details.view(np.uint8)
    record[at["cwd"]: at["cwd"] + len(cwd_raw)] = np.frombuffer(cwd_raw, dtype=np.uint8)
    record[at["cg"]: at["cg"] + len(area)] = np.frombuffer(area, dtype=np.uint8)
    return record


def _decode(records: list[np.ndarray], flags: list[int], pids: list[int], proc_root: str = "/nonexistent"):
    buf = np.concatenate([np.zeros(8, dtype=np.uint8)] + records)  # records need not start at 0
    record_at = 8 + EXEC.size * np.arange(len(records), dtype=np.int64)
    return exec_details.decode(buf, record_at, np.array(flags, dtype=np.uint16), np.array(pids, dtype=np.uint32),
                               SUBSYSTEMS, proc_root)


class TestJoinComponents:
    def test_leaf_first_components_make_an_absolute_path(self) -> None:
        """Components arrive leaf first; the path lists them root first."""
        assert exec_details.join_components(b"b\0a\0") == "/a/b"

    def test_no_components_is_the_root(self) -> None:
        """A cwd or cgroup at the root has no component: `/`."""
        assert exec_details.join_components(b"") == "/"


class TestDecode:
    def test_ids_tty_cwd_and_cgroups(self) -> None:
        """Every field of two records, each its own: ids, tty, cwd and one cgroup entry per controller."""
        first = _record("/srv/app", ["/", "/", "/docker/abc", "/docker/abc"], vtid=1, vpid=1, tty=0x8801)
        second = _record("/", ["/a", "/b", "/c", "/d"], vtid=7, vpid=5)
        got = _decode([first, second], [0, 0], [100, 101])
        assert got.vtid.tolist() == [1, 7] and got.vpid.tolist() == [1, 5] and got.tty.tolist() == [0x8801, 0]
        assert got.cwd == ["/srv/app", "/"]
        assert got.cgroups == [["cpuset=/", "blkio=/", "memory=/docker/abc", "pids=/docker/abc"],
                               ["cpuset=/a", "blkio=/b", "memory=/c", "pids=/d"]]

    def test_default_hierarchy_keeps_kernel_names(self) -> None:
        """A controller on the default (v2) hierarchy is named as the kernel names it (io, not blkio)."""
        record = _record("/", ["/x.slice"] * 4, on_default=0b1111)
        assert _decode([record], [0], [1]).cgroups == [["cpuset=/x.slice", "io=/x.slice", "memory=/x.slice",
                                                        "pids=/x.slice"]]

    def test_truncated_paths_come_from_proc_while_the_process_lives(self) -> None:
        """A cwd or cgroup path the probe could not fit is read from /proc/<pid> (this test process here)."""
        record = _record("/partial", ["/tail"] * 4)
        got = _decode([record], [F_CWD_TRUNC | F_CGROUP_TRUNC], [os.getpid()], proc_root="/proc")
        assert got.cwd == [os.getcwd()]
        with open("/proc/self/cgroup") as handle:
            assert got.cgroups == [procfs.cgroup_entries(handle.read())]

    def test_truncated_paths_of_a_gone_process(self) -> None:
        """Once the process is gone a truncated cwd is left out; a cgroup keeps the leaf-most components read."""
        record = _record("/partial", ["/docker/abc"] * 4)
        got = _decode([record], [F_CWD_TRUNC | F_CGROUP_TRUNC], [1], proc_root="/nonexistent")
        assert got.cwd == [None]
        assert got.cgroups == [["cpuset=/docker/abc", "blkio=/docker/abc", "memory=/docker/abc", "pids=/docker/abc"]]
