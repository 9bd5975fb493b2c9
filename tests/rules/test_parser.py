"""Tests for rules.parser: accepted and rejected conditions, messages, positions, syntax traps."""

from __future__ import annotations

import pytest

from rules import ast
from rules.parser import MAX_DEPTH, ConditionSyntaxError, parse_condition, parse_field_ref
from tests.rules import stable_file

F = ast.FieldRef
C = ast.Const
M = ast.MacroRef


def parse(text: str) -> ast.Node:
    return parse_condition(text)


def reject(text: str) -> ConditionSyntaxError:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    return info.value


# Inputs whose canonical text must survive blanks turned into newlines or tabs (libsinsp's test_accept).
ACCEPTED = {
    "a": "a",
    "a and b": "(a and b)",
    "a and(b)": "(a and b)",
    "a or(b)": "(a or b)",
    "a or b and c": "(a or (b and c))",
    "not a and b": "(not a and b)",
    "not not x": "x",
    "not(a or b)": "not (a or b)",
    "not proc.pname exists": "not proc.pname exists",
    "notify_x": "notify_x",
    "fd.num>=0": "fd.num >= 0",
    "fd.typechar='f'": "fd.typechar = f",
    "evt.type in (open,openat,openat2)": "evt.type in (open, openat, openat2)",
    "(proc.args endswith \\)": "proc.args endswith \\",
    "proc.pname in (runc:[0:PARENT], x)": "proc.pname in (runc:[0:PARENT], x)",
    "proc.aname[2] = bash": "proc.aname[2] = bash",
    "evt.arg.flags contains O_TRUNC": "evt.arg.flags contains O_TRUNC",
    "proc.name == x": "proc.name = x",
    "fd.filename in (auth.log, x)": "fd.filename in (auth.log, x)",
    "proc.name = reload.sh": "proc.name = reload.sh",
    "evt.type in ()": "evt.type in ()",
    "proc.name in x": "proc.name in (x)",
    "proc.name startswith anyof (a, b)": "proc.name startswith anyof (a, b)",
    "proc.name = val(proc.pname)": "proc.name = val(proc.pname)",
    "toupper(basename(fd.name)) = X": "toupper(basename(fd.name)) = X",
    "proc.name = tolower(proc.pname)": "proc.name = tolower(proc.pname)",
    "len(proc.args) > 3": "len(proc.args) > 3",
    "evt.num < -1.5e+3": "evt.num < -1.5e+3",
    "evt.num > 0x1F": "evt.num > 0x1F",
    "fd.name glob /etc/*": "fd.name glob /etc/*",
    "fd.name pmatch (/etc, /usr)": "fd.name pmatch (/etc, /usr)",
    "proc.name regex '[a-z]+'": "proc.name regex [a-z]+",
    "container.label[\"io.x\"] exists": "container.label[io.x] exists",
    "a and not b or c": "((a and not b) or c)",
    "((a))": "a",
}


@pytest.mark.parametrize("text,canonical", sorted(ACCEPTED.items()))
def test_accepts_with_canonical_text(text: str, canonical: str) -> None:
    """Each accepted input parses to the expected canonical text."""
    assert parse(text).text == canonical


@pytest.mark.parametrize("text", sorted(ACCEPTED))
def test_accepts_whitespace_variants(text: str) -> None:
    """Spaces replaced by newlines or tabs give the same tree (libsinsp test_accept)."""
    expected = parse(text).text
    assert parse(text.replace(" ", "\n")).text == expected
    assert parse(text.replace(" ", "\t")).text == expected
    assert parse(" \t" + text + "\n ").text == expected


REJECTED = {
    "": ("filter input string is empty", 0),
    "a andb": ("expected blank or '(' after 'and'", 5),
    "a orb": ("expected blank or '(' after 'or'", 4),
    "a b": ("unexpected token after 'a', expecting 'or', 'and'", 2),
    "proc.args endswith \\)": ("unexpected token after '\\', expecting 'or', 'and'", 20),
    "(a": ("expected a ')' token", 2),
    "proc.name": ("expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', "
                  "'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', "
                  "'endswith', 'regex', 'intersects', 'in', 'pmatch'", 9),
    "proc.name contains": ("expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', "
                           "'!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', "
                           "'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'", 10),
    "proc.name in (a,)": ("expected a string value", 16),
    "proc.name in (a": ("expected a ')' token", 15),
    "fd.num > abc": ("expected a number value or a field with a valid transformer: 'val', 'tolower', "
                     "'toupper', 'b64', 'basename', 'len'", 9),
    "proc.name = (x)": ("expected a string value or a field with a valid transformer: 'val', 'tolower', "
                        "'toupper', 'b64', 'basename', 'len'", 12),
    "proc.aname[2 = x": ("expected a ']' token", 12),
    "proc.aname[] = x": ("expected a valid field argument: a quoted string or a bare string", 11),
    "proc.name = val(x)": ("expected a field within 'val' transformer", 16),
    "tolower(x) = a": ("expected a field or a nested valid transformer: 'val', 'tolower', 'toupper', 'b64', "
                       "'basename', 'len'", 8),
    "tolower(proc.name = a": ("expected a ')' token closing the transformer", 18),
    "proc.name = join(a)": ("transformer 'join' is not supported", 12),
    "proc.name=\"a\\qb\"": ("unsupported string escape sequence: \\q", 12),
    "proc.name=\"a\\'b\"": ("invalid \\' escape in \"-quoted string", 12),
    "proc.name='a\\\"b'": ("invalid \\\" escape in '-quoted string", 12),
    "proc.name=\"a\\x00\"": ("invalid NUL character in quoted string", 12),
}


@pytest.mark.parametrize("text", sorted(REJECTED))
def test_rejects_with_message_and_offset(text: str) -> None:
    """Each rejected input gives libsinsp's message at the offset where parsing stopped."""
    message, offset = REJECTED[text]
    error = reject(text)
    assert (error.message, error.pos.offset) == (message, offset)


def test_error_position_has_line_and_column() -> None:
    """Positions count lines and columns from 1."""
    error = reject("a or\n  b and\n c d")
    assert error.pos == ast.Pos(offset=16, line=3, col=4)


def test_node_positions() -> None:
    """Every node carries the position of its first character."""
    node = parse("a and\n  not proc.name = x")
    assert isinstance(node, ast.And)
    assert node.pos == ast.Pos(0, 1, 1)
    assert node.children[1].pos == ast.Pos(8, 2, 3)
    check = node.children[1].child
    assert check.pos == ast.Pos(12, 2, 7)
    assert check.rhs.pos == ast.Pos(24, 2, 19)


def test_precedence_tree() -> None:
    """`not` binds tighter than `and`, which binds tighter than `or`."""
    tree = parse("not a and b or c")
    assert tree == ast.Or((ast.And((ast.Not(M("a")), M("b"))), M("c")))


def test_or_paren_form_ends_the_or_operand() -> None:
    """After `or(...)` only another `or` may follow, as in libsinsp."""
    assert reject("a or(b) and c").message == "unexpected token after ')', expecting 'or', 'and'"


def test_dotted_field_stays_one_name() -> None:
    """`evt.arg.flags` is one field name; the catalog splits it later."""
    check = parse("evt.arg.flags contains O_RDWR")
    assert check.lhs == F("evt.arg.flags")


def test_bracket_argument() -> None:
    """`proc.aname[2]` carries its argument separately."""
    assert parse("proc.aname[2] = sshd").lhs == F("proc.aname", "2")


def test_quoted_escapes() -> None:
    """The escapes of spec 5.3 decode, including backslash-space and \\xHH."""
    check = parse(r'proc.name = "a\tb\n\\\/\"\x41\ z"')
    assert check.rhs == C('a\tb\n\\/"A\\z')
    assert parse(r"proc.name = 'it\'s'").rhs == C("it's")
    assert parse("proc.name = \"it's\"").rhs == C("it's")


def test_backslash_space_legacy() -> None:
    """`contains "\\ "` is one backslash (falco-sandbox relies on it)."""
    assert parse('proc.args contains "\\ "').rhs == C("\\")


def test_delimiter_after_backslash_does_not_close() -> None:
    """`"a\\\\"` never closes, so the value cannot be read as a quoted string."""
    assert reject('proc.name = "a\\\\"').message.startswith("expected a string value")


def test_bare_value_stops_at_blank_paren_comma_quote_equals() -> None:
    """Bare words allow dots, slashes, brackets, colons and stop at the listed characters."""
    assert parse("proc.name = a/b.c:[d]<>!-x").rhs == C("a/b.c:[d]<>!-x")
    assert reject("proc.name = a=b").message == "unexpected token after 'a', expecting 'or', 'and'"


def test_word_operators_need_a_blank() -> None:
    """`containsx` is no operator; a newline after one is fine."""
    assert reject("proc.name containsx").message.startswith("expected a valid check operator")
    assert parse("proc.name contains\nx").rhs == C("x")


def test_list_operator_needs_no_blank() -> None:
    """`in(` parses, and so does `in` followed directly by a word."""
    assert parse("proc.name in(a)").rhs == ast.ValueList(("a",))
    assert parse("proc.name inx").rhs == ast.ValueList(("x",))


def test_modifier_word_without_list_is_a_value() -> None:
    """`oneof` only modifies when a list follows."""
    check = parse("proc.name = oneof")
    assert (check.modifier, check.rhs) == (None, C("oneof"))


def test_exists_has_no_rhs() -> None:
    """`exists` is unary."""
    check = parse("fd.name exists")
    assert (check.op, check.rhs) == ("exists", None)


def test_depth_guard() -> None:
    """Deep nesting is refused with libsinsp's message instead of overflowing the stack."""
    error = reject("(" * 2000 + "a" + ")" * 2000)
    assert error.message == f"exceeded max depth limit of {MAX_DEPTH}"


def test_moderate_nesting_is_fine() -> None:
    """150 levels of parentheses parse."""
    assert parse("(" * 150 + "a" + ")" * 150) == M("a")


def test_parse_field_ref() -> None:
    """A lone operand parses; trailing text is refused."""
    assert parse_field_ref("toupper(proc.aname[1])") == ast.Transformer("toupper", F("proc.aname", "1"))
    with pytest.raises(ConditionSyntaxError):
        parse_field_ref("proc.name x")


def test_every_stable_condition_parses() -> None:
    """All macro and rule conditions of the stable rules file parse after list substitution."""
    conditions = [item["condition"] for item in stable_file.items() if "condition" in item]
    assert len(conditions) == 25 + 87
    for condition in conditions:
        parse(stable_file.substitute_lists(condition))
