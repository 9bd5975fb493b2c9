"""Property test: the vectorized compiler agrees with the scalar reference evaluator on random input."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import ast
from rules.compiler import compile_condition
from rules.fields import REGISTRY
from rules.scalar import evaluate

NAMES = ["bash", "Bash", "BASH", "sh", "", "ssh-d", "/etc/passwd", "/etc", "/etcx/y", "etc//x/", "/tmp/x y",
         "a\nb", "é/ü", "[a]", "*", "10.1.2.3"]
ADDRESSES = ["10.1.2.3", "8.8.8.8", "::1", "0:0::1", "10.200.0.1", "garbage", "::ffff:10.1.2.3"]
STRING_CONSTANTS = NAMES + ["b", "ash", "/etc/", "E", "Sh", "x"]
GLOBS = ["*", "b*", "*sh", "?ash", "[bB]ash", "[!a]*", "/etc/*", "*/*", "\\*", "[a-", "[]]*", "[[:upper:]]*",
         "*[!/]", "a?b", "", "*x y", "\\"]
PMATCH_ENTRIES = ["/etc", "/etc/", "/", "etc", "/e*", "/etc/pass*", "/tmp", "*/x", "/etcx/?"]
REGEXES = ["b.*", "[a-z]+", "sh|bash", ".*etc.*", "", "a.b", "(?i)bash", "/etc/[a-z]+"]

STRING_OPS = ["=", "!=", "<", "<=", ">", ">=", "contains", "icontains", "startswith", "endswith", "glob",
              "iglob", "regex", "in", "intersects", "pmatch", "exists"]
NUMBER_OPS = ["=", "!=", "<", "<=", ">", ">=", "in", "intersects", "exists"]
EQUALITY_OPS = ["=", "!=", "in", "intersects", "exists"]

# field -> (operators, constant pool)
FIELDS: dict[str, tuple[list[str], list[str]]] = {
    "proc.name": (STRING_OPS, STRING_CONSTANTS),
    "proc.pname": (STRING_OPS, STRING_CONSTANTS),
    "fd.name": (STRING_OPS, STRING_CONSTANTS),
    "proc.aname": (STRING_OPS, STRING_CONSTANTS),
    "proc.aname[2]": (STRING_OPS, STRING_CONSTANTS),
    "proc.aname[0]": (["=", "!=", "startswith", "in"], STRING_CONSTANTS),
    "fd.types": (["=", "in", "intersects", "exists", "contains"], STRING_CONSTANTS),
    "fd.num": (NUMBER_OPS, ["-1", "0", "1", "3", "22", "70000", "-5", "9223372036854775807"]),
    "proc.tty": (NUMBER_OPS, ["0", "1", "3", "-5", "22", "4294967296"]),
    "fd.sport": (NUMBER_OPS, ["0", "22", "443", "8080", "70000", "ssh"]),
    "proc.fdusage": (NUMBER_OPS, ["0", "0.5", "1", "-1", "2.25"]),
    "evt.is_open_read": (EQUALITY_OPS, ["true", "false"]),
    "fd.sip": (EQUALITY_OPS, ["10.1.2.3", "::1", "8.8.8.8", "0::1", "10.1.2.4"]),
    "evt.rawarg.fd": (NUMBER_OPS, ["-1", "0", "3", "22", "x", "9223372036854775807"]),
    "fd.snet": (["=", "!=", "in", "intersects"], ["10.0.0.0/8", "8.8.8.8/32", "::/0", "0.0.0.0/0", "10.1.2.3"]),
}
STRING_FIELDS = ["proc.name", "proc.pname", "fd.name"]
TRANSFORMERS = ["tolower", "toupper", "basename"]


def field_ref(text: str) -> ast.FieldRef:
    if "[" in text:
        name, arg = text[:-1].split("[")
        return ast.FieldRef(name, arg)
    return ast.FieldRef(text)


@st.composite
def checks(draw: st.DrawFn) -> ast.Check:
    kind = draw(st.sampled_from(["field", "field", "field", "transformer", "length", "val", "modifier"]))
    if kind == "transformer":
        operand = ast.Transformer(draw(st.sampled_from(TRANSFORMERS)), field_ref(draw(st.sampled_from(STRING_FIELDS))))
        return _constant_check(draw, operand, STRING_OPS, STRING_CONSTANTS)
    if kind == "length":
        target = draw(st.sampled_from(STRING_FIELDS + ["fd.types"]))
        return _constant_check(draw, ast.Transformer("len", field_ref(target)), NUMBER_OPS, ["0", "1", "3", "6"])
    if kind == "val":
        left, right = draw(st.sampled_from([("proc.name", "proc.pname"), ("fd.name", "proc.aname[2]"),
                                             ("fd.num", "proc.tty"), ("fd.sip", "fd.sip")]))
        numeric = left == "fd.num"
        ops = (["=", "!=", "<", ">="] if numeric else ["=", "!="] if left == "fd.sip" else
               ["=", "!=", "<", ">=", "contains", "startswith", "endswith", "glob", "in"])
        return ast.Check(field_ref(left), draw(st.sampled_from(ops)), ast.FieldValue(field_ref(right)))
    if kind == "modifier":
        items = tuple(draw(st.lists(st.sampled_from(STRING_CONSTANTS), max_size=3)))
        return ast.Check(field_ref(draw(st.sampled_from(STRING_FIELDS + ["proc.aname"]))),
                         draw(st.sampled_from(["=", "contains", "startswith", "endswith"])), ast.ValueList(items),
                         draw(st.sampled_from(["anyof", "allof", "oneof"])))
    name = draw(st.sampled_from(sorted(FIELDS)))
    ops, pool = FIELDS[name]
    return _constant_check(draw, field_ref(name), ops, pool)


def _constant_check(draw: st.DrawFn, operand: ast.Operand, ops: list[str], pool: list[str]) -> ast.Check:
    op = draw(st.sampled_from(ops))
    if op == "exists":
        return ast.Check(operand, op)
    if op in ("in", "intersects"):
        return ast.Check(operand, op, ast.ValueList(tuple(draw(st.lists(st.sampled_from(pool), max_size=3)))))
    if op == "pmatch":
        entries = draw(st.lists(st.sampled_from(PMATCH_ENTRIES), min_size=1, max_size=3))
        return ast.Check(operand, op, ast.ValueList(tuple(entries)))
    if op in ("glob", "iglob"):
        return ast.Check(operand, op, ast.Const(draw(st.sampled_from(GLOBS + pool))))
    if op == "regex":
        return ast.Check(operand, op, ast.Const(draw(st.sampled_from(REGEXES))))
    return ast.Check(operand, op, ast.Const(draw(st.sampled_from(pool))))


conditions = st.recursive(
    checks(),
    lambda children: st.one_of(
        st.builds(ast.Not, children),
        st.lists(children, min_size=2, max_size=3).map(lambda c: ast.And(tuple(c))),
        st.lists(children, min_size=2, max_size=3).map(lambda c: ast.Or(tuple(c))),
    ),
    max_leaves=6,
)


def _maybe(values: list) -> st.SearchStrategy:
    return st.one_of(st.none(), st.sampled_from(values))


ROW_VALUES = {
    "proc.name": (_maybe(NAMES), pa.string()),
    "proc.pname": (_maybe(NAMES), pa.string()),
    "fd.name": (_maybe(NAMES), pa.string()),
    "proc.aname": (st.one_of(st.none(), st.lists(_maybe(NAMES), max_size=3)), pa.list_(pa.string())),
    "fd.types": (st.one_of(st.none(), st.lists(_maybe(["file", "ipv4", "unix", "bash"]), max_size=3)),
                 pa.list_(pa.string())),
    "fd.num": (st.one_of(st.none(), st.sampled_from([-1, 0, 1, 3, 22, 70000])), pa.int64()),
    "proc.tty": (st.one_of(st.none(), st.sampled_from([0, 1, 3, 22, 34816])), pa.uint32()),
    "fd.sport": (st.one_of(st.none(), st.sampled_from([0, 22, 443, 8080])), pa.uint16()),
    "proc.fdusage": (st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0, 2.25])), pa.float64()),
    "evt.is_open_read": (st.one_of(st.none(), st.booleans()), pa.bool_()),
    "fd.sip": (_maybe(ADDRESSES), pa.string()),
    "proc.aname[2]": (_maybe(NAMES), pa.string()),
    "evt.rawarg.fd": (st.one_of(st.none(), st.sampled_from([-1, 0, 1, 3, 22, 70000])), pa.int64()),
}


@st.composite
def batches(draw: st.DrawFn) -> pa.RecordBatch:
    size = draw(st.integers(min_value=0, max_value=12))
    columns = {}
    for name, (values, arrow_type) in ROW_VALUES.items():
        if name == "proc.aname[2]" and draw(st.booleans()):
            continue  # usually read from element 1 of proc.aname instead
        if draw(st.integers(0, 9)) == 0:
            continue  # an absent column: nothing can be extracted
        column = pa.array(draw(st.lists(values, min_size=size, max_size=size)), type=arrow_type)
        columns[name] = _encode(column, draw(st.sampled_from(["plain", "dictionary", "large"])))
    if not columns:
        columns["evt.num"] = pa.array([1] * size, pa.uint64())
    return pa.record_batch(columns)


def _encode(column: pa.Array, encoding: str) -> pa.Array:
    if pa.types.is_string(column.type):
        if encoding == "dictionary":
            return column.dictionary_encode()
        if encoding == "large":
            return column.cast(pa.large_string())
    if pa.types.is_list(column.type) and encoding == "dictionary":
        return pa.ListArray.from_arrays(column.offsets, column.values.dictionary_encode(), mask=column.is_null())
    return column


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(condition=conditions, batch=batches())
def test_vectorized_equals_scalar(condition: ast.Node, batch: pa.RecordBatch) -> None:
    """For every row, the compiled mask equals the reference evaluator's verdict."""
    mask = compile_condition(condition, registry=REGISTRY)(batch).tolist()
    expected = [evaluate(condition, row, REGISTRY) for row in batch.to_pylist()]
    assert mask == expected, condition.text
