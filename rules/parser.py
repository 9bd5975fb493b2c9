"""Condition parser: Falco filter text to a syntax tree (`rules.ast`), with libsinsp's quirks and messages.

Grammar (EBNF). `ws` is one or more of space, tab, CR, LF, backspace. The whole input must be consumed.

    condition   = [ws] or-expr [ws] ;
    or-expr     = and-expr { [ws] "or"  ( ws and-expr | "(" condition ")" ) } ;
    and-expr    = not-expr { [ws] "and" ( ws not-expr | "(" condition ")" ) } ;
    not-expr    = [ws] { "not" ws } ( "not(" condition ")" | check ) ;
    check       = [ws] ( "(" condition ")" | operand predicate | IDENT ) ;     (* IDENT: macro *)
    operand     = field | transformer ;
    field       = FIELDNAME [ "[" ( QUOTED | ARGWORD ) "]" ] ;                (* no blank before "[" *)
    transformer = TNAME "(" [ws] operand [ws] ")" ;
    TNAME       = "tolower" | "toupper" | "b64" | "basename" | "len" ;
    predicate   = [ws] ( "exists"
                | NUMOP [ws] ( rhs-field | NUMBER )
                | STROP [ws] ( MOD ws list | rhs-field | QUOTED | BARE )
                | LISTOP [ws] ( list | rhs-field | IDENT ) ) ;
    rhs-field   = "val(" [ws] field [ws] ")" | transformer ;
    list        = "(" [ws] [ value { [ws] "," [ws] value } ] [ws] ")" ;
    value       = QUOTED | BARE ;
    NUMOP       = "<=" | "<" | ">=" | ">" ;
    STROP       = "==" | "=" | "!=" | WORDOP ws ;
    WORDOP      = "glob" | "iglob" | "contains" | "icontains" | "bcontains"
                | "startswith" | "bstartswith" | "endswith" | "regex" ;
    LISTOP      = "intersects" | "in" | "pmatch" ;         (* no blank needed: "in(" parses *)
    MOD         = "oneof" | "anyof" | "allof" ;

Tokens (regular expressions):

    IDENT      [A-Za-z][A-Za-z0-9_]*
    FIELDNAME  IDENT(\\.IDENT)+          every dot-separated segment starts with a letter
    ARGWORD    [^][\\"'[:space:]]+
    BARE       [^()\\"'[:space:]=,]+
    NUMBER     0[xX][0-9a-fA-F]+ | [+-]?[0-9]+\\.?[0-9]*([eE][+-][0-9]+)?
    QUOTED     "..." or '...' with the escapes \\b \\f \\n \\r \\t \\\\ \\/ \\" \\' \\xHH and backslash-space

Notes on choices:
- Operators match by prefix in the order exists, numeric, string, list (libsinsp does the same), so
  `proc.name inx` reads as `proc.name in (x)`, and `fd.num>=0` needs no blanks.
- A modifier applies only when it is followed by blanks and a list; otherwise the word is a plain value.
- The multi-argument transformers of libs master (`join`, `concat`, `getopt`) and an `[arg]` after a
  transformer are recognised and rejected with an explicit message: the tree has no shape for them.
- A dotted field stays one name: `evt.arg.flags` is `FieldRef(name="evt.arg.flags")`. Splitting it into
  `evt.arg` + `flags` needs the field catalog: `rules.fields.resolve` / `rules.fields.normalize_ref` do it.
- A single identifier after a list operator (`in x`) becomes a one-item `ValueList`.
"""

from __future__ import annotations

import bisect
import re
import sys

from rules import ast

MAX_DEPTH = 1000
"""Recursion cap, counted per production entered like libsinsp's depth_guard."""

_BLANKS = " \t\b\r\n"

_RX_NOT_BLANK = re.compile(r"not[ \t\b\r\n]+")
_RX_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RX_FIELDNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+")
_RX_ARGWORD = re.compile(r"[^\]\[\"'\s]+")
_RX_HEX_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+")
_RX_NUMBER = re.compile(r"[+\-]?[0-9]+\.?[0-9]*(?:[eE][+\-][0-9]+)?")
_RX_BARE = re.compile(r"[^()\"'\s=,]+")
_RX_WORD_OP = re.compile(
    r"(glob|iglob|contains|icontains|bcontains|startswith|bstartswith|endswith|regex)[ \t\b\r\n]"
)
_RX_MODIFIER = re.compile(r"(oneof|anyof|allof)[ \t\b\r\n]+\(")

_UNARY_OPS = ("exists",)
_NUM_OPS = ("<=", "<", ">=", ">")
_SYMBOL_STR_OPS = ("==", "=", "!=")
_LIST_OPS = ("intersects", "in", "pmatch")
_TRANSFORMERS = ("tolower", "toupper", "b64", "basename", "len")
_UNSUPPORTED_TRANSFORMERS = ("join", "concat", "getopt")

_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "\\": "\\", "/": "/", " ": "\\"}


class ConditionSyntaxError(ValueError):
    """A condition that does not parse. `message` reads like libsinsp's; `pos` is where parsing stopped."""

    def __init__(self, message: str, pos: ast.Pos) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos

    def __str__(self) -> str:
        return self.message


def parse_condition(text: str) -> ast.Node:
    """Parse a whole condition; raise ConditionSyntaxError on the first problem."""
    if not text:
        raise ConditionSyntaxError("filter input string is empty", ast.Pos())
    return _Parser(text).parse()


def parse_field_ref(text: str) -> ast.FieldRef | ast.Transformer:
    """Parse exactly one operand (`proc.aname[2]`, `toupper(fd.name)`); the whole text must be used."""
    parser = _Parser(text)
    with _deep_recursion():
        operand = parser.parse_operand_prefix()
    if operand is None or parser.idx != len(text):
        raise ConditionSyntaxError(f"invalid field reference '{text}'", parser.pos_at(parser.idx))
    return operand


def parse_operand_prefix(text: str, start: int = 0) -> tuple[ast.FieldRef | ast.Transformer, int] | None:
    """Read the operand at `text[start:]` and return it with the offset where it ends, or None.

    Used by output formats (`%proc.aname[2]rest`): only the prefix that forms an operand is taken.
    Syntax errors inside a started operand (an unclosed `[`) still raise ConditionSyntaxError.
    """
    parser = _Parser(text)
    parser.idx = start
    with _deep_recursion():
        operand = parser.parse_operand_prefix()
    return None if operand is None else (operand, parser.idx)


class _deep_recursion:
    """Let Python recurse deep enough for MAX_DEPTH productions (each is one or two frames)."""

    def __enter__(self) -> None:
        self._saved = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self._saved, 4 * MAX_DEPTH + 500))

    def __exit__(self, *exc: object) -> None:
        sys.setrecursionlimit(self._saved)


class _Depth:
    """Counts productions entered; raising past MAX_DEPTH keeps hostile inputs from exhausting the stack."""

    def __init__(self, parser: "_Parser") -> None:
        self._parser = parser

    def __enter__(self) -> None:
        self._parser.depth += 1
        if self._parser.depth >= MAX_DEPTH:
            self._parser.fail(f"exceeded max depth limit of {MAX_DEPTH}")

    def __exit__(self, *exc: object) -> None:
        self._parser.depth -= 1


class _Parser:
    """Recursive descent over one text. `idx` is the cursor; `last_token` feeds libsinsp-style messages."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.idx = 0
        self.depth = 0
        self.last_token = ""
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        self._guard = _Depth(self)

    # ----------------------------------------------------------------- positions and errors

    def pos_at(self, offset: int) -> ast.Pos:
        line = bisect.bisect_right(self._line_starts, offset)
        return ast.Pos(offset=offset, line=line, col=offset - self._line_starts[line - 1] + 1)

    def fail(self, message: str, offset: int | None = None) -> None:
        raise ConditionSyntaxError(message, self.pos_at(self.idx if offset is None else offset))

    # ----------------------------------------------------------------- productions

    def parse(self) -> ast.Node:
        with _deep_recursion():
            node = self._parse_or()
        if self.idx != len(self.text):
            self.fail(f"unexpected token after '{self.last_token}', expecting 'or', 'and'")
        return node

    def _parse_or(self) -> ast.Node:
        with self._guard:
            self._lex_blank()
            start = self.idx
            children = [self._parse_and()]
            self._lex_blank()
            while self._lex_str("or"):
                children.append(self._parse_joined_operand("or", self._parse_and))
                self._lex_blank()
            return children[0] if len(children) == 1 else ast.Or(tuple(children), self.pos_at(start))

    def _parse_and(self) -> ast.Node:
        with self._guard:
            self._lex_blank()
            start = self.idx
            children = [self._parse_not()]
            self._lex_blank()
            while self._lex_str("and"):
                children.append(self._parse_joined_operand("and", self._parse_not))
                self._lex_blank()
            return children[0] if len(children) == 1 else ast.And(tuple(children), self.pos_at(start))

    def _parse_joined_operand(self, keyword: str, parse_next) -> ast.Node:
        """After `and`/`or`: a blank and the next operand, or `(` and a group."""
        if self._lex_blank():
            return parse_next()
        if self._lex_str("("):
            return self._parse_group_remainder()
        self.fail(f"expected blank or '(' after '{keyword}'")
        raise AssertionError("unreachable")

    def _parse_not(self) -> ast.Node:
        with self._guard:
            self._lex_blank()
            start = self.idx
            negated = False
            while self._lex_not_blank():
                negated = not negated
            if self._lex_str("not("):
                negated = not negated
                child = self._parse_group_remainder()
            else:
                child = self._parse_check()
            return ast.Not(child, self.pos_at(start)) if negated else child

    def _parse_group_remainder(self) -> ast.Node:
        """The rest of a parenthesised condition, right after its `(`."""
        with self._guard:
            self._lex_blank()
            child = self._parse_or()
            self._lex_blank()
            if not self._lex_str(")"):
                self.fail("expected a ')' token")
            return child

    def _parse_check(self) -> ast.Node:
        with self._guard:
            self._lex_blank()
            start = self.idx
            if self._lex_str("("):
                return self._parse_group_remainder()
            operand = self._parse_operand()
            if operand is not None:
                return self._parse_predicate(operand, start)
            if self._lex_identifier():
                return ast.MacroRef(self.last_token, self.pos_at(start))
            self.fail("expected a '(' token, a field check, or an identifier")
            raise AssertionError("unreachable")

    def parse_operand_prefix(self) -> ast.FieldRef | ast.Transformer | None:
        """Entry point for `parse_field_ref` and output tokens."""
        return self._parse_operand()

    def _parse_operand(self) -> ast.FieldRef | ast.Transformer | None:
        """A field or a transformer at the cursor, or None (cursor unchanged) when there is neither."""
        with self._guard:
            start = self.idx
            if self._lex_field_name():
                return self._parse_field_remainder(self.last_token, start)
            name = self._lex_transformer_name()
            if name is not None:
                return self._parse_transformer_remainder(name, start)
            self._reject_unsupported_transformer()
            return None

    def _parse_field_remainder(self, name: str, start: int) -> ast.FieldRef:
        """An optional `[arg]` right after a field name."""
        with self._guard:
            if not self._lex_str("["):
                return ast.FieldRef(name, pos=self.pos_at(start))
            if not (self._lex_quoted() or self._lex_argword()):
                self.fail("expected a valid field argument: a quoted string or a bare string")
            arg = self.last_token
            if not self._lex_str("]"):
                self.fail("expected a ']' token")
            return ast.FieldRef(name, arg, pos=self.pos_at(start))

    def _parse_transformer_remainder(self, name: str, start: int) -> ast.Transformer:
        """The argument and `)` of a transformer whose `name(` was just read."""
        with self._guard:
            self._lex_blank()
            arg_start = self.idx
            if self._lex_field_name():
                arg: ast.Operand = self._parse_field_remainder(self.last_token, arg_start)
            else:
                inner = self._lex_transformer_name()
                if inner is None:
                    self._reject_unsupported_transformer()
                    self.fail("expected a field or a nested valid transformer: " + _transformer_names())
                arg = self._parse_transformer_remainder(inner, arg_start)
            self._lex_blank()
            if not self._lex_str(")"):
                self.fail("expected a ')' token closing the transformer")
            if self.text.startswith("[", self.idx):
                self.fail(f"an argument after transformer '{name}' is not supported")
            return ast.Transformer(name, arg, self.pos_at(start))

    def _reject_unsupported_transformer(self) -> None:
        for name in _UNSUPPORTED_TRANSFORMERS:
            if self.text.startswith(name + "(", self.idx):
                self.fail(f"transformer '{name}' is not supported")

    def _parse_predicate(self, lhs: ast.Operand, start: int) -> ast.Check:
        """Operator and right-hand side after the left operand."""
        with self._guard:
            self._lex_blank()
            pos = self.pos_at(start)
            if self._lex_any(_UNARY_OPS):
                return ast.Check(lhs, "exists", None, pos=pos)
            if self._lex_any(_NUM_OPS):
                op = self.last_token
                return ast.Check(lhs, op, self._parse_number_value(), pos=pos)
            if self._lex_any(_SYMBOL_STR_OPS) or self._lex_word_op():
                op = "=" if self.last_token == "==" else self.last_token
                modifier = self._lex_modifier()
                if modifier is not None:
                    return ast.Check(lhs, op, self._parse_list(), modifier, pos=pos)
                return ast.Check(lhs, op, self._parse_string_value(), pos=pos)
            if self._lex_any(_LIST_OPS):
                op = self.last_token
                return ast.Check(lhs, op, self._parse_list_value(), pos=pos)
            self.fail("expected a valid check operator: one of " + _quoted_list(_operator_names()))
            raise AssertionError("unreachable")

    def _parse_number_value(self) -> ast.Value:
        with self._guard:
            self._lex_blank()
            start = self.idx
            field = self._parse_rhs_field()
            if field is not None:
                return field
            if self._lex_hex_number() or self._lex_number():
                return ast.Const(self.last_token, self.pos_at(start))
            self.fail("expected a number value or a field with a valid transformer: " + _transformer_names())
            raise AssertionError("unreachable")

    def _parse_string_value(self) -> ast.Value:
        with self._guard:
            self._lex_blank()
            start = self.idx
            field = self._parse_rhs_field()
            if field is not None:
                return field
            if self._lex_quoted() or self._lex_bare():
                return ast.Const(self.last_token, self.pos_at(start))
            self.fail("expected a string value or a field with a valid transformer: " + _transformer_names())
            raise AssertionError("unreachable")

    def _parse_list_value(self) -> ast.Value:
        with self._guard:
            self._lex_blank()
            start = self.idx
            if self.text.startswith("(", self.idx):
                return self._parse_list()
            field = self._parse_rhs_field()
            if field is not None:
                return field
            if self._lex_identifier():
                return ast.ValueList((self.last_token,), self.pos_at(start))
            self.fail("expected a list, an identifier, or a field with a valid transformer: " + _transformer_names())
            raise AssertionError("unreachable")

    def _parse_list(self) -> ast.ValueList:
        """`( value, value ... )`, possibly empty; items are plain strings."""
        with self._guard:
            self._lex_blank()
            start = self.idx
            if not self._lex_str("("):
                self.fail("expected a '(' token")
            self._lex_blank()
            values: list[str] = []
            if self._lex_value():
                values.append(self.last_token)
                self._lex_blank()
                while self._lex_str(","):
                    self._lex_blank()
                    if not self._lex_value():
                        self.fail("expected a string value")
                    values.append(self.last_token)
                    self._lex_blank()
            if not self._lex_str(")"):
                self.fail("expected a ')' token")
            return ast.ValueList(tuple(values), self.pos_at(start))

    def _parse_rhs_field(self) -> ast.FieldValue | None:
        """`val(field)` or a transformer on the right-hand side, or None."""
        with self._guard:
            start = self.idx
            if self._lex_str("val("):
                self._lex_blank()
                field_start = self.idx
                if not self._lex_field_name():
                    self.fail("expected a field within 'val' transformer")
                field = self._parse_field_remainder(self.last_token, field_start)
                self._lex_blank()
                if not self._lex_str(")"):
                    self.fail("expected a ')' token closing the transformer")
                return ast.FieldValue(field, self.pos_at(start))
            name = self._lex_transformer_name()
            if name is not None:
                return ast.FieldValue(self._parse_transformer_remainder(name, start), self.pos_at(start))
            self._reject_unsupported_transformer()
            return None

    # ----------------------------------------------------------------- tokens

    def _lex_blank(self) -> bool:
        """Skip blanks; the only lexer that leaves `last_token` alone."""
        start = self.idx
        while self.idx < len(self.text) and self.text[self.idx] in _BLANKS:
            self.idx += 1
        return self.idx > start

    def _lex_str(self, token: str) -> bool:
        if self.text.startswith(token, self.idx):
            self.idx += len(token)
            self.last_token = token
            return True
        return False

    def _lex_any(self, tokens: tuple[str, ...]) -> bool:
        return any(self._lex_str(token) for token in tokens)

    def _lex_regex(self, regex: re.Pattern[str]) -> bool:
        match = regex.match(self.text, self.idx)
        if match is None:
            return False
        self.idx = match.end()
        self.last_token = match.group(0)
        return True

    def _lex_not_blank(self) -> bool:
        return self._lex_regex(_RX_NOT_BLANK)

    def _lex_identifier(self) -> bool:
        return self._lex_regex(_RX_IDENT)

    def _lex_field_name(self) -> bool:
        return self._lex_regex(_RX_FIELDNAME)

    def _lex_argword(self) -> bool:
        return self._lex_regex(_RX_ARGWORD)

    def _lex_hex_number(self) -> bool:
        return self._lex_regex(_RX_HEX_NUMBER)

    def _lex_number(self) -> bool:
        return self._lex_regex(_RX_NUMBER)

    def _lex_bare(self) -> bool:
        return self._lex_regex(_RX_BARE)

    def _lex_value(self) -> bool:
        return self._lex_quoted() or self._lex_bare()

    def _lex_word_op(self) -> bool:
        """A word operator and the one blank that must follow it (the blank is not part of the token)."""
        match = _RX_WORD_OP.match(self.text, self.idx)
        if match is None:
            return False
        self.idx = match.end()
        self.last_token = match.group(1)
        return True

    def _lex_modifier(self) -> str | None:
        """oneof/anyof/allof, only when blanks and a list follow (otherwise the word is a value)."""
        self._lex_blank()
        match = _RX_MODIFIER.match(self.text, self.idx)
        if match is None:
            return None
        self.idx = match.end() - 1  # leave the "(" for _parse_list
        self.last_token = match.group(1)
        return match.group(1)

    def _lex_transformer_name(self) -> str | None:
        """`tolower(` and friends: returns the name with the "(" consumed, or None."""
        for name in _TRANSFORMERS:
            if self._lex_str(name + "("):
                self.last_token = name
                return name
        return None

    def _lex_quoted(self) -> bool:
        """A "..." or '...' string; `last_token` becomes its unescaped value."""
        if self.idx >= len(self.text) or self.text[self.idx] not in "\"'":
            return False
        start = self.idx
        delimiter = self.text[start]
        end = start + 1
        # A delimiter right after a backslash never closes (libsinsp looks at the previous raw character).
        while end < len(self.text) and not (self.text[end] == delimiter and self.text[end - 1] != "\\"):
            end += 1
        if end >= len(self.text):
            return False
        self.last_token = self._unescape(self.text[start + 1:end], delimiter, start)
        self.idx = end + 1
        return True

    def _unescape(self, body: str, delimiter: str, start: int) -> str:
        """Apply the escapes of spec 5.3 to a quoted body; unknown escapes and NUL bytes are errors."""
        out: list[str] = []
        i = 0
        while i < len(body):
            char = body[i]
            if char == "\0":
                self.fail("invalid NUL character in quoted string", start + 1 + i)
            if char != "\\":
                out.append(char)
                i += 1
                continue
            escape = body[i + 1] if i + 1 < len(body) else ""
            i += 2
            if escape in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[escape])
            elif escape in "\"'" and escape:
                if escape != delimiter:
                    self.fail(f"invalid \\{escape} escape in {delimiter}-quoted string", start + i - 1)
                out.append(escape)
            elif escape == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[i:i + 2]):
                value = int(body[i:i + 2], 16)
                if value == 0:
                    self.fail("invalid NUL character in quoted string", start + i - 1)
                out.append(chr(value))
                i += 2
            else:
                self.fail(f"unsupported string escape sequence: \\{escape}", start + i - 1)
        return "".join(out)


def _transformer_names() -> str:
    return _quoted_list(("val",) + _TRANSFORMERS)


def _operator_names() -> tuple[str, ...]:
    words = ("glob", "iglob", "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith",
             "regex")
    return _UNARY_OPS + _NUM_OPS + _SYMBOL_STR_OPS + words + _LIST_OPS


def _quoted_list(items: tuple[str, ...]) -> str:
    return ", ".join(f"'{item}'" for item in items)
