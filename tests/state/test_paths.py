"""Open paths as libsinsp makes them: relative names joined to the cwd, then normalized; clean absolute paths
pass through untouched (stages.state.fds.resolve_paths)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.state.fds import _needs_work, resolve_paths

NAMES = ["/etc/hosts", "/etc/hosts", "notes.txt", "./a", "/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..", "/a/b/",
         "/", "", None, "/a.b/c..d/.e", "/a/b/.\n", "..", "/tmp/x y", "/étc/naïve", "a/", "/..."]


def test_only_names_that_need_it_are_normalized_in_python() -> None:
    # the RE2 kernel this replaces, as the judge of which names need work
    re2 = pc.fill_null(pc.match_substring_regex(pa.array(NAMES, type=pa.string()),
                                                r"^[^/]|//|/\./|/\.\./|/\.$|/\.\.$|./$"), False)
    assert _needs_work(pa.array(NAMES, type=pa.string())).tolist() == re2.to_pylist()


def test_resolved_against_each_names_own_cwd() -> None:
    names = pa.array(NAMES, type=pa.string())
    cwds = pa.array([f"/cwd{i}" for i in range(len(NAMES))], type=pa.string())
    got = resolve_paths(names, lambda at: cwds.take(pa.array(np.asarray(at, dtype=np.int64)))).to_pylist()
    assert got == ["/etc/hosts", "/etc/hosts", "/cwd2/notes.txt", "/cwd3/a", "/a/b", "/a/b", "/b", "/a", "/",
                   "/a/b", "/", "", None, "/a.b/c..d/.e", "/a/b/.\n", "/", "/tmp/x y", "/étc/naïve", "/cwd18/a",
                   "/..."]


def test_fd_directory_matches_the_regex_kernels_it_replaces() -> None:
    from stages.state.enrich import _directory_of

    paths = pa.array(["/etc/hosts", "/etc/", "/etc", "/", "hosts", "", None, "/a/b/c.txt", "a/b", "//x", "/a/\nb/c",
                      "/a/b\n", "x/", "/étc/naïve.txt", "/a/b/c.txt"], type=pa.string())
    parent = pc.replace_substring_regex(paths, pattern=r"/[^/]+$", replacement="")
    no_parent = pc.invert(pc.match_substring_regex(paths, pattern=r"^.+/"))
    judge = pc.if_else(pc.fill_null(no_parent, False), "/", parent)
    assert _directory_of(paths).to_pylist() == judge.to_pylist()


def test_fd_filename_matches_the_regex_kernel_it_replaces() -> None:
    from stages.state.enrich import _UP_TO_LAST_SLASH

    names = ["/etc/hosts", "/etc/", "hosts", "", "/a/\nb/c", "/a/b\nc/d", "//x", "/étc/naïve.txt"]
    judge = pc.replace_substring_regex(pa.array(names, type=pa.string()), pattern=r"^.*/", replacement="")
    assert [_UP_TO_LAST_SLASH.sub("", n, count=1) for n in names] == judge.to_pylist()
