"""Vectorized condition compiler: every operator on every column shape, with exact expected masks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from rules import ast
from rules.compiler import CompileError, Rows, compile_condition
from rules.fields import REGISTRY
from rules.parser import parse_condition

# Five events; the last columns of each row exercise null and "cannot be extracted" cases.
COLUMNS = {
    "evt.type": pa.array(["openat", "execve", "connect", "openat", None]),
    "proc.name": pa.array(["bash", "sh", None, "Nginx", "systemd"]),
    "fd.name": pa.array(["/etc/shadow", "/tmp/x y", "/etc", None, "/etcx/passwd"]),
    "fd.num": pa.array([3, -1, None, 0, 70000], pa.int64()),
    "fd.sport": pa.array([22, 443, None, 8080, 0], pa.uint16()),
    "proc.tty": pa.array([0, 34816, None, 1, 0], pa.uint32()),
    "proc.fdusage": pa.array([0.5, 1.0, None, 0.0, 2.25], pa.float64()),
    "evt.is_open_read": pa.array([True, False, None, True, False]),
    "fd.sip": pa.array(["10.1.2.3", "8.8.8.8", None, "::1", "not-an-ip"]),
    "proc.aname": pa.array([["sshd", "init"], [], None, ["bash", "sshd", "systemd"], [None, "init"]]),
    "fd.types": pa.array([["ipv4", "file"], ["file"], None, [], ["unix", None]]),
    "evt.buffer": pa.array([b"\x7fELF\x02", b"abc", None, b"", b"\x00\x01"], pa.binary()),
    "proc.pname": pa.array(["sshd", "bash", "init", None, "Systemd"]),
}

ENCODINGS = ["plain", "dictionary", "large"]


def make_batch(encoding: str) -> pa.RecordBatch:
    columns = {}
    for name, column in COLUMNS.items():
        if pa.types.is_string(column.type) and encoding == "dictionary":
            column = column.dictionary_encode()
        elif pa.types.is_string(column.type) and encoding == "large":
            column = column.cast(pa.large_string())
        elif pa.types.is_list(column.type) and encoding == "dictionary":
            column = pa.ListArray.from_arrays(column.offsets, column.values.dictionary_encode(),
                                              mask=column.is_null())
        columns[name] = column
    return pa.record_batch(columns)


def run(condition_text_or_node: str | ast.Node, encoding: str = "plain") -> list[bool]:
    node = condition_text_or_node
    condition = compile_condition(parse_condition(node) if isinstance(node, str) else node, registry=REGISTRY)
    return condition(make_batch(encoding)).tolist()


T, F = True, False

CASES = [
    # strings: equality and order (bytewise), nulls false for every operator
    ("proc.name = bash", [T, F, F, F, F]),
    ("proc.name != bash", [F, T, F, T, T]),
    ("not proc.name = bash", [F, T, T, T, T]),
    ("not proc.name != bash", [T, F, T, F, F]),
    # (the grammar takes only numbers after <, so these string comparisons are built as nodes)
    (ast.Check(ast.FieldRef("proc.name"), "<", ast.Const("c")), [T, F, F, T, F]),
    (ast.Check(ast.FieldRef("proc.name"), ">=", ast.Const("sh")), [F, T, F, F, T]),
    (ast.Check(ast.FieldRef("proc.name"), "<=", ast.Const("sh")), [T, T, F, T, F]),
    (ast.Check(ast.FieldRef("proc.name"), ">", ast.Const("Nginx")), [T, T, F, F, T]),
    # substring family
    ("fd.name contains etc", [T, F, T, F, T]),
    ("proc.name icontains NGI", [F, F, F, T, F]),
    ("proc.name icontains Sys", [F, F, F, F, T]),
    ("fd.name startswith /etc/", [T, F, F, F, F]),
    ("fd.name endswith \"x y\"", [F, T, F, F, F]),
    # patterns
    ("fd.name glob '/etc*'", [T, F, T, F, T]),
    ("fd.name glob '/etc/*'", [T, F, F, F, F]),
    ("fd.name glob '/???/*'", [T, T, F, F, F]),
    ("fd.name glob '/[a-f]tc*'", [T, F, T, F, T]),
    ("fd.name glob '/[!e]*'", [F, T, F, F, F]),
    ("proc.name iglob 'n*X'", [F, F, F, T, F]),
    ("fd.name pmatch (/etc)", [T, F, T, F, F]),
    ("fd.name pmatch (/tmp, /nothing)", [F, T, F, F, F]),
    ("fd.name pmatch ('/e*/passwd')", [F, F, F, F, T]),
    ("fd.name regex '/etc.*'", [T, F, T, F, T]),
    ("fd.name regex 'etc'", [F, F, F, F, F]),
    ("proc.name regex '[a-z]+'", [T, T, F, F, T]),
    # membership
    ("proc.name in (bash, systemd, zsh)", [T, F, F, F, T]),
    ("proc.name intersects (sh)", [F, T, F, F, F]),
    ("not proc.name in (bash)", [F, T, T, T, T]),
    ("proc.name in ()", [F, F, F, F, F]),
    # exists
    ("proc.name exists", [T, T, F, T, T]),
    ("not fd.name exists", [F, F, F, T, F]),
    # signed integers: typed scalars, out-of-range constants
    ("fd.num >= 0", [T, F, F, T, T]),
    ("fd.num = -1", [F, T, F, F, F]),
    ("fd.num != 3", [F, T, F, T, T]),
    ("fd.num in (0, 3, 99)", [T, F, F, T, F]),
    ("fd.num < 100000000000000000000", [T, T, F, T, T]),
    # unsigned integers and ports
    ("fd.sport = 22", [T, F, F, F, F]),
    ("fd.sport = ssh", [T, F, F, F, F]),
    ("fd.sport in (ssh, https)", [T, T, F, F, F]),
    ("fd.sport > 100", [F, T, F, T, F]),
    ("proc.tty >= -5", [T, T, F, T, T]),
    ("proc.tty < -5", [F, F, F, F, F]),
    ("fd.sport = 70000", [F, F, F, F, F]),
    ("fd.sport != 70000", [T, T, F, T, T]),
    ("fd.sport < 70000", [T, T, F, T, T]),
    ("proc.tty != 0", [F, T, F, T, F]),
    # doubles
    ("proc.fdusage > 0.75", [F, T, F, F, T]),
    ("proc.fdusage = 0", [F, F, F, T, F]),
    # booleans
    ("evt.is_open_read = true", [T, F, F, T, F]),
    ("evt.is_open_read != true", [F, T, F, F, T]),
    ("not evt.is_open_read = true", [F, T, T, F, T]),
    # addresses: parsed once per distinct value, unparsable text cannot be extracted
    ("fd.sip = 10.1.2.3", [T, F, F, F, F]),
    ("fd.sip = 0:0::1", [F, F, F, T, F]),
    ("fd.sip != 8.8.8.8", [T, F, F, T, F]),
    ("fd.sip in (8.8.8.8, ::1)", [F, T, F, T, F]),
    ("fd.snet = 10.0.0.0/8", [T, F, F, F, F]),
    ("fd.snet != 10.0.0.0/8", [F, T, F, T, F]),
    ("fd.snet in (8.0.0.0/8, ::/0)", [F, T, F, T, F]),
    ("fd.net = 8.8.8.0/24", [F, T, F, F, F]),
    ("fd.ip = ::1", [F, F, F, T, F]),
    # any-ancestor semantics: a list column, true if any element matches
    ("proc.aname = sshd", [T, F, F, T, F]),
    ("proc.aname != sshd", [T, F, F, T, T]),
    ("proc.aname in (init, systemd)", [T, F, F, T, T]),
    ("not proc.aname = sshd", [F, T, T, F, T]),
    ("proc.aname startswith ss", [T, F, F, T, F]),
    ("proc.aname exists", [T, F, F, T, T]),
    # indexed ancestors: element N-1 of the list, N=0 is the process itself
    ("proc.aname[1] = sshd", [T, F, F, F, F]),
    ("proc.aname[2] = init", [T, F, F, F, T]),
    ("proc.aname[3] = systemd", [F, F, F, T, F]),
    ("proc.aname[3] exists", [F, F, F, T, F]),
    ("proc.aname[0] = bash", [T, F, F, F, F]),
    # list fields: `in` needs every value, `intersects` one of them
    ("fd.types in (file, ipv4)", [T, T, F, F, F]),
    ("fd.types intersects (file)", [T, T, F, F, F]),
    ("fd.types intersects (unix)", [F, F, F, F, T]),
    ("fd.types in (unix)", [F, F, F, F, F]),
    ("fd.types exists", [T, T, F, F, T]),
    # buffers
    ("evt.buffer bcontains 454c46", [T, F, F, F, F]),
    ("evt.buffer bstartswith 0001", [F, F, F, F, T]),
    ("evt.buffer contains bc", [F, T, F, F, F]),
    ("evt.buffer startswith abc", [F, T, F, F, F]),
    ("evt.buffer exists", [T, T, F, T, T]),
    # transformers
    ("tolower(proc.name) = nginx", [F, F, F, T, F]),
    ("toupper(proc.name) in (BASH, SH)", [T, T, F, F, F]),
    ("basename(fd.name) = passwd", [F, F, F, F, T]),
    ("basename(fd.name) = etc", [F, F, T, F, F]),
    ("len(proc.name) = 2", [F, T, F, F, F]),
    ("len(fd.name) > 10", [T, F, F, F, T]),
    ("len(fd.types) = 2", [T, F, F, F, T]),
    ("len(fd.types) exists", [T, T, F, F, T]),
    ("toupper(basename(fd.name)) startswith PASS", [F, F, F, F, T]),
    # field-to-field comparisons
    ("proc.name = val(proc.pname)", [F, F, F, F, F]),
    ("proc.name != val(proc.pname)", [T, T, F, F, T]),
    ("proc.aname[1] = val(proc.pname)", [T, F, F, F, F]),
    ("tolower(proc.pname) = val(proc.name)", [F, F, F, F, T]),
    ("proc.pname startswith val(proc.name)", [F, F, F, F, F]),
    ("proc.pname contains val(proc.aname[2])", [F, F, F, F, F]),
    ("proc.name < val(proc.pname)", [T, F, F, F, F]),
    # modifiers
    ("fd.name startswith anyof (/tmp, /etc/)", [T, T, F, F, F]),
    ("fd.name contains allof (etc, sh)", [T, F, F, F, F]),
    ("fd.name contains oneof (etc, /)", [F, T, F, F, F]),
    ("not fd.name contains oneof (etc, /)", [T, F, T, T, T]),
    # boolean structure
    ("evt.type = openat and fd.name startswith /etc", [T, F, F, F, F]),
    ("evt.type = connect or proc.name = sh", [F, T, T, F, F]),
    ("not (evt.type = openat or evt.type = execve)", [F, F, T, F, T]),
    ("(proc.name = bash or proc.name = Nginx) and not fd.name exists", [F, F, F, T, F]),
]


def _text(case: str | ast.Node) -> str:
    return case if isinstance(case, str) else case.text


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(("text", "expected"), CASES,
                         ids=[_text(case[0]) for case in CASES])
def test_operator_masks(text: str | ast.Node, expected: list[bool], encoding: str) -> None:
    """Each check yields exactly the expected mask for plain, dictionary and large string columns."""
    assert run(text, encoding) == expected


def test_missing_column_is_never_extracted() -> None:
    """A column the batch does not have makes every comparison false and `not` true."""
    batch = pa.record_batch({"proc.name": pa.array(["a", "b"])})
    for text, expected in [("fd.name = x", [F, F]), ("fd.name != x", [F, F]), ("not fd.name = x", [T, T]),
                           ("fd.num < 5", [F, F]), ("proc.aname = a", [F, F]), ("fd.sip = 1.2.3.4", [F, F])]:
        assert compile_condition(parse_condition(text), registry=REGISTRY)(batch).tolist() == expected, text


def test_indexed_ancestor_prefers_exact_column() -> None:
    """A `proc.aname[2]` column wins over the list column; the parent field backs `proc.aname[1]`."""
    batch = pa.record_batch({
        "proc.aname[2]": pa.array(["x", "y"]),
        "proc.aname": pa.array([["p", "g"], ["p", "y"]]),
        "proc.pname": pa.array(["pp", None]),
    })
    assert compile_condition(parse_condition("proc.aname[2] = x"))(batch).tolist() == [T, F]
    parent_only = batch.drop_columns(["proc.aname"])
    assert compile_condition(parse_condition("proc.aname[1] = pp"))(parent_only).tolist() == [T, F]


def test_selection_argument_forms() -> None:
    """Positions give a mask over those rows; a bool mask gives a full-length mask, false outside it."""
    condition = compile_condition(parse_condition("proc.name exists"), registry=REGISTRY)
    batch = make_batch("plain")
    assert condition(batch, np.array([2, 0])).tolist() == [F, T]
    selected = np.array([F, F, T, T, T])
    assert condition(batch, selected).tolist() == [F, F, F, T, T]


def test_short_circuit_skips_rows_already_false() -> None:
    """`and` gathers the few surviving rows so later checks see only them."""
    seen: list[int] = []
    condition = compile_condition(parse_condition("proc.name = bash and fd.name exists"), registry=REGISTRY)
    original = Rows.field

    def spy(self, ref, info):
        seen.append(self.num_rows)
        return original(self, ref, info)

    Rows.field = spy
    try:
        assert condition(make_batch("plain")).tolist() == [T, F, F, F, F]
    finally:
        Rows.field = original
    assert seen == [5, 1]


def test_or_short_circuit_stops_when_all_true() -> None:
    """`or` does not evaluate later children once every row is true."""
    condition = compile_condition(parse_condition("proc.tty exists or fd.num exists or fd.name = x"),
                                  registry=REGISTRY)
    batch = pa.record_batch({"proc.tty": pa.array([1, 2], pa.uint32()), "fd.num": pa.array([1, 2])})
    assert condition(batch).tolist() == [T, T]


def test_chunked_columns_are_accepted() -> None:
    """A column handed in as a ChunkedArray (from a Table) works like a plain array."""
    table = pa.Table.from_batches([make_batch("dictionary")])
    batch = table.combine_chunks().to_batches()[0]
    assert compile_condition(parse_condition("proc.name = sh"))(batch).tolist() == [F, T, F, F, F]


@pytest.mark.parametrize(("node", "message"), [
    (ast.Check(ast.FieldRef("proc.name"), "regex", ast.Const("(")), "invalid regular expression"),
    (ast.Check(ast.FieldRef("fd.num"), "=", ast.Const("0x10")), "not a valid number"),
    (ast.Check(ast.FieldRef("fd.sip"), "<", ast.Const("1.2.3.4")), "not supported for addresses"),
    (ast.Check(ast.FieldRef("fd.num"), "glob", ast.Const("1")), "'glob' operator not supported"),
    (ast.Check(ast.Transformer("tolower", ast.FieldRef("fd.num")), "=", ast.Const("1")), "needs a string"),
    (ast.Check(ast.FieldRef("fd.num"), "=", ast.FieldValue(ast.FieldRef("proc.name"))), "cannot compare"),
    (ast.MacroRef("spawned_process"), "Undefined macro"),
])
def test_compile_errors(node: ast.Node, message: str) -> None:
    """Conditions the compiler cannot evaluate fail at compile time with a typed error."""
    with pytest.raises(CompileError, match=message):
        compile_condition(node, registry=REGISTRY)


@pytest.mark.parametrize(("text", "column", "expected"), [
    ("evt.rawarg.fd > 2", pa.array([3, 2, None, -1, 70000], pa.int64()), [T, F, F, F, T]),
    ("evt.rawarg.fd = 3", pa.array([3, 2, None, -1, 3], pa.int64()), [T, F, F, F, T]),
    ("evt.rawarg.fd in (2, 3, x)", pa.array([3, 2, None, -1, 4], pa.int64()), [T, T, F, F, F]),
    ("evt.rawarg.fd <= -1", pa.array([3, 2, None, -1, 4], pa.int64()), [F, F, F, T, F]),
    ("evt.rawarg.fd = abc", pa.array([3, 2, None, -1, 4], pa.int64()), [F, F, F, F, F]),
    ("evt.rawarg.size >= 4096", pa.array([4096, 1, None, 0, 1 << 40], pa.uint64()), [T, F, F, F, T]),
    ("evt.rawarg.name = /etc", pa.array(["/etc", "x", None, "/etc", "2"]), [T, F, F, T, F]),
])
def test_dyn_field_constant_typed_like_its_column(text: str, column: pa.Array, expected: list[bool]) -> None:
    """`evt.rawarg.NAME` (DYN) compares its constant as a value of the argument column's own type."""
    field = parse_condition(text).lhs.text
    batch = pa.record_batch({field: column})
    assert compile_condition(parse_condition(text), registry=REGISTRY)(batch).tolist() == expected
    from rules.scalar import evaluate

    assert [evaluate(parse_condition(text), row, REGISTRY) for row in batch.to_pylist()] == expected
