"""Tests for rules.fields: catalog tables, the registry, name resolution and the --list rows."""

from __future__ import annotations

import re

import pytest

from rules import ast
from rules.checker import ConditionCompileError
from rules.fields import FIELD_CLASSES, REGISTRY, field_catalog_rows, normalize_ref, resolve
from rules.fields.base import ArgKind, FieldType
from rules.fields.evttypes import KNOWN_EVENT_TYPES
from rules.parser import parse_field_ref
from tests.rules.stable_file import STABLE_RULES

F = ast.FieldRef

# The 58 distinct catalog fields the stable file uses (fields-syscall.md appendix, arguments removed).
STABLE_FIELD_EXPRESSIONS = """
proc.cmdline proc.name proc.pname evt.type proc.args user.name proc.exepath proc.tty user.uid user.loginuid fd.name
proc.pcmdline proc.aname[2] evt.arg.flags proc.pexe proc.aname[3] container.image.repository fd.typechar
evt.arg.request fd.l4proto proc.aname[4] proc.cwd evt.res fd.type proc.exe fd.directory fd.lport fd.rport
proc.aname thread.cap_effective evt.arg.target fd.nameraw fd.num container.start_ts evt.arg.oldpath evt.rawres
group.gid group.name proc.aname[5] proc.pexepath proc.sname user.loginname container.id container.privileged
evt.arg.domain evt.arg.linkpath evt.arg.newpath evt.args evt.is_open_read evt.is_open_write evt.num fd.connected
fd.filename fd.ip fd.name_changed fd.net fd.sip fd.sip.name fd.snet fd.sport k8s.ns.name proc.aexepath[2]
proc.aname[1] proc.aname[6] proc.aname[7] proc.duration proc.exe_ino.ctime proc.exe_ino.ctime_duration_proc_start
proc.exe_ino.mtime proc.is_exe_from_memfd proc.is_exe_upper_layer
""".split()


def test_stable_field_expressions_resolve() -> None:
    """All 71 field expressions of the stable file resolve, naming 58 distinct catalog fields."""
    names = {resolve(REGISTRY, "syscall", parse_field_ref(text)).name for text in STABLE_FIELD_EXPRESSIONS}
    assert (len(STABLE_FIELD_EXPRESSIONS), len(names)) == (71, 58)


def test_stable_file_field_uses_all_resolve() -> None:
    """Every dotted word in a condition field position or output token of the stable file is a field."""
    text = STABLE_RULES.read_text()
    tokens = set(re.findall(r"%([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+(?:\[[0-9]+\])?)", text))
    for token in tokens:
        resolve(REGISTRY, "syscall", parse_field_ref(token))


def test_libsinsp_class_sizes() -> None:
    """The syscall source's libsinsp tables hold 232 fields; the container plugin tables 61; each plugin source
    its generic, json and own fields (k8saudit 100, cloudtrail 73, github 25, okta 54, as upstream)."""
    syscall = [c for c in FIELD_CLASSES if c.source == "syscall"]
    plugin = {"container", "k8s"}
    assert sum(len(c.fields) for c in syscall if c.name not in plugin) == 232
    assert sum(len(c.fields) for c in syscall if c.name in plugin) == 61
    own = {"k8s_audit": 100, "aws_cloudtrail": 73, "github": 25, "okta": 54}
    generic = {"evt", "json", "jevt"}
    for source, count in own.items():
        assert sum(len(c.fields) for c in FIELD_CLASSES if c.source == source and c.name not in generic) == count
        assert sum(len(c.fields) for c in FIELD_CLASSES if c.source == source and c.name in generic) == 19


def test_exact_lookup_and_types() -> None:
    """Plain names resolve to their rows."""
    assert resolve(REGISTRY, "syscall", F("proc.name")).type is FieldType.CHARBUF
    assert resolve(REGISTRY, "syscall", F("fd.sport")).type is FieldType.PORT
    assert resolve(REGISTRY, "syscall", F("fd.snet")).filter_only


def test_dotted_argument_by_longest_prefix() -> None:
    """`evt.arg.flags` is evt.arg with argument flags; the text stays as written."""
    ref = normalize_ref(REGISTRY, "syscall", F("evt.arg.flags"))
    assert (ref.name, ref.arg, ref.dotted, ref.text) == ("evt.arg", "flags", True, "evt.arg.flags")
    assert resolve(REGISTRY, "syscall", F("evt.type.is.open")).name == "evt.type.is"
    assert resolve(REGISTRY, "syscall", F("thread.cgroup.cpu")).name == "thread.cgroup"
    assert resolve(REGISTRY, "syscall", F("k8s.pod.label.app")).name == "k8s.pod.label"


def test_exact_name_wins_over_dotted_argument() -> None:
    """`evt.time.s` is its own field, not a dotted argument."""
    ref = normalize_ref(REGISTRY, "syscall", F("evt.time.s"))
    assert (ref.name, ref.arg) == ("evt.time.s", None)


@pytest.mark.parametrize("ref,message", [
    (F("proc.namex"), "filter_check called with nonexistent field proc.namex"),
    (F("proc.name.x"), "filter_check called with nonexistent field proc.name.x"),
    (F("evt.arg"), "field 'evt.arg' requires an argument"),
    (F("proc.name", "1"), "field 'proc.name' does not take an argument"),
    (F("proc.aname", "x"), "invalid argument 'x' for field 'proc.aname': expected a number"),
    (F("evt.arg", "x"), "invalid argument 'x' for field 'evt.arg': expected a number"),
    (F("evt.rawarg", "size"), "field 'evt.rawarg' takes its argument after a dot (evt.rawarg.NAME)"),
])
def test_resolution_errors(ref: ast.FieldRef, message: str) -> None:
    """Unknown names and bad arguments raise ConditionCompileError with a precise message."""
    with pytest.raises(ConditionCompileError) as info:
        resolve(REGISTRY, "syscall", ref)
    assert info.value.message == message


def test_key_arguments_accept_text() -> None:
    """Label, environment and mount arguments take any text."""
    assert resolve(REGISTRY, "syscall", F("proc.env", "HOME")).name == "proc.env"
    assert resolve(REGISTRY, "syscall", F("container.mount.dest", "/proc*")).name == "container.mount.dest"
    assert resolve(REGISTRY, "syscall", F("evt.arg", "1")).name == "evt.arg"


def test_flags_of_ancestor_fields() -> None:
    """Ancestor fields take an optional index, no transformer and no right-hand side use."""
    for name in ("proc.aname", "proc.aexe", "proc.aexepath", "proc.acmdline", "proc.apid", "proc.aenv"):
        info = REGISTRY.get("syscall", name)
        assert (info.arg, info.any_ancestor, info.no_rhs, info.no_transformer) == (
            ArgKind.OPTIONAL, True, True, True)
    assert not REGISTRY.get("syscall", "proc.aargs").any_ancestor


def test_unknown_source_has_no_fields() -> None:
    """A source without registered classes knows no field."""
    with pytest.raises(ConditionCompileError):
        resolve(REGISTRY, "k8s_audit", F("proc.name"))


def test_catalog_rows() -> None:
    """--list rows carry name, type, flags, description and source, in table order."""
    rows = field_catalog_rows("syscall")
    assert rows[0] == ("evt.num", "UINT64", "", "Sequence number of the event, counting from 1.", "syscall")
    by_name = {row[0]: row for row in rows}
    assert by_name["fd.types"][2] == "arg? list no-rhs"
    assert by_name["fd.net"][2] == "FO no-rhs no-tr"
    assert len(rows) == 293
    k8s = {row[0]: row for row in field_catalog_rows("k8s_audit")}
    assert len(k8s) == 119 and {row[4] for row in k8s.values()} == {"k8s_audit"}
    assert k8s["jevt.value"][2] == "arg" and "ka.user.name" in k8s
    assert field_catalog_rows("no_such_source") == []


def test_every_description_is_a_sentence() -> None:
    """Descriptions are written out as sentences ending with a period."""
    for name, _, _, description, _ in field_catalog_rows():
        assert len(description) >= 8 and description.endswith("."), name


def test_known_event_types() -> None:
    """Syscalls, libscap spellings and meta-events are known; made-up names are not."""
    for name in ("open", "openat2", "execveat", "connect", "container", "procexit", "notification", "pread",
                 "epoll_wait", "memfd_create", "syscall", "switch"):
        assert name in KNOWN_EVENT_TYPES
    assert "openx" not in KNOWN_EVENT_TYPES
