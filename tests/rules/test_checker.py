"""Tests for rules.checker: compile errors and warnings on expanded conditions."""

from __future__ import annotations

import pytest

from rules.checker import NA_CHECK_MESSAGE, CheckWarning, ConditionCompileError, check_condition, service_port
from rules.fields import REGISTRY, build_registry
from rules.fields.base import FieldClass, FieldType
from rules.fields.table import row
from rules.parser import parse_condition
from tests.rules import stable_file


def check(text: str, registry=REGISTRY, source: str = "syscall") -> list[CheckWarning]:
    return check_condition(parse_condition(text), source=source, registry=registry)


def error(text: str) -> ConditionCompileError:
    with pytest.raises(ConditionCompileError) as info:
        check(text)
    return info.value


def test_every_stable_rule_checks_clean() -> None:
    """The 25 stable rules, macros expanded, compile without errors or warnings."""
    rules = stable_file.rules()
    assert len(rules) == 25
    for rule in rules:
        assert check_condition(stable_file.rule_condition(rule), source="syscall", registry=REGISTRY) == []


@pytest.mark.parametrize("text,message", [
    ("proc.namex = a", "filter_check called with nonexistent field proc.namex"),
    ("evt.type = openx", "unknown event type openx"),
    ("evt.type in (open, nope)", "unknown event type nope"),
    ("syscall.type != bogus", "unknown event type bogus"),
    ("fd.num = 0x10", "0x10 is not a valid number"),
    ("fd.num > 1.5", "1.5 is not a valid number"),
    ("fd.num = abc", "abc is not a valid number"),
    ("fd.connected = yes", "yes is not a valid boolean: use true or false"),
    ("fd.sip = 1.2.3", "unrecognized IP address 1.2.3"),
    ("fd.snet = 10.0.0.1", "unrecognized IP network 10.0.0.1"),
    ("fd.sport = nosuchservice", "nosuchservice is not a valid port number or service name"),
    ("fd.sport = 70000", "70000 is not a valid port number or service name"),
    ("evt.buffer bcontains 2f6", "'bcontains' requires a hexadecimal string, got '2f6'"),
    ("proc.name contains 5 and fd.num contains 5", "'contains' operator not supported for numeric filters"),
    ("fd.connected > 1", "'>' operator not supported for numeric filters"),
    ("fd.sip startswith 10", "'startswith' operator not supported for ip address and network filters"),
    ("proc.name bcontains 2f", "'bcontains' operator not supported for string filters"),
    ("evt.buffer icontains x", "'icontains' operator not supported for buffer filters"),
    ("fd.types = file", "'=' operator not supported list filters"),
    ("tolower(proc.aname) = x", "'tolower' transformer is not supported on field 'proc.aname'"),
    ("tolower(fd.num) = x", "'tolower' transformer is not supported on type INT64"),
    ("tolower(evt.type) = open", "transformers are not supported on evt.type"),
    ("evt.type = val(proc.name)", "evt.type cannot be compared with another field"),
    ("proc.name = val(proc.aname[1])", "field 'proc.aname[1]' cannot be used on the right-hand side"),
    ("proc.name pmatch val(proc.pname)", "'pmatch' operator does not support field comparison"),
    ("proc.name = val(fd.num)", "field 'fd.num' of type INT64 cannot be compared with 'proc.name' of type CHARBUF"),
    ("proc.name regex 'a(b'", "invalid regular expression 'a(b': missing ): a(b"),
    ("evt.outputtime = x", "field 'evt.outputtime' is print-only and cannot be filtered on"),
    ("undefined_macro", "Undefined macro 'undefined_macro' used in filter."),
])
def test_compile_errors(text: str, message: str) -> None:
    """Each bad condition raises with the expected message."""
    assert error(text).message == message


def test_error_position_points_at_the_constant() -> None:
    """Errors about a constant carry the constant's position."""
    assert error("proc.name = x and fd.num = zz").pos.offset == 27


def test_accepted_constants() -> None:
    """Valid constants of every type pass."""
    assert check("fd.num = -1 and fd.connected = true and fd.sip = 10.0.0.1 and fd.sip = ::1") == []
    assert check("fd.snet = 10.0.0.0/8 and fd.sport = ssh and fd.sport in (80, 443, https)") == []
    assert check("evt.buffer bcontains 2f62696e and proc.fdusage > 0.5 and len(proc.args) > 3") == []
    assert check("proc.name = val(proc.pname) and toupper(proc.name) = toupper(proc.pname)") == []


def test_len_of_list_field() -> None:
    """len() of a list field is a number."""
    assert check("len(fd.types) > 2") == []


def test_field_name_constant_warns() -> None:
    """A constant that names a real field draws LOAD_COMPILE_CONDITION."""
    warnings = check("proc.name = proc.pname")
    assert warnings == [CheckWarning("LOAD_COMPILE_CONDITION",
                                     "'proc.pname' may be a valid field misused as a const string value")]
    assert check("fd.filename in (auth.log, reload.sh)") == []


def test_transformer_constant_warns() -> None:
    """A quoted constant that reads as a transformer draws LOAD_COMPILE_CONDITION."""
    warnings = check("proc.name = 'tolower(proc.pname)'")
    assert [w.code for w in warnings] == ["LOAD_COMPILE_CONDITION"]
    assert "transformer" in warnings[0].message


def test_plain_regex_warns() -> None:
    """A regex without special characters suggests a simpler operator."""
    warnings = check("proc.name regex bash")
    assert [w.code for w in warnings] == ["LOAD_COMPILE_CONDITION"]
    assert check("proc.name regex 'ba.h'") == []


def test_na_check_warns_for_plugin_fields() -> None:
    """Comparing ka./jevt. fields with <NA> draws LOAD_UNSAFE_NA_CHECK; syscall fields do not."""
    audit = FieldClass("ka", "k8s_audit", "test", (row("ka.user.name", FieldType.CHARBUF, "User.",
                                                       source="k8s_audit"),))
    registry = build_registry((audit,))
    warnings = check("ka.user.name = <NA> or ka.user.name in (a, <NA>)", registry, "k8s_audit")
    assert [(w.code, w.message) for w in warnings] == [("LOAD_UNSAFE_NA_CHECK", NA_CHECK_MESSAGE)] * 2
    assert check("proc.name = <NA>") == []


def test_service_port_lookup() -> None:
    """Service names map to ports."""
    assert (service_port("ssh"), service_port("https"), service_port("nosuchservice")) == (22, 443, None)
