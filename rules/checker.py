"""Semantic check of a macro-expanded condition against the field catalog of its source.

Raises ConditionCompileError on the first error (Falco's LOAD_ERR_COMPILE_CONDITION causes: nonexistent
field, bad argument, unknown event type, a constant the field type cannot hold, an operator the type does not
support, transformer and field-comparison misuse, a regex RE2 rejects) and returns the warnings Falco's
loader would give (LOAD_COMPILE_CONDITION, LOAD_UNSAFE_NA_CHECK). Operator support per type follows
libsinsp's `flt_is_comparable`, including its messages.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache

import re2

from rules import ast
from rules.fields.base import FieldInfo, FieldRegistry, FieldType
from rules.fields.evttypes import KNOWN_EVENT_TYPES


class ConditionCompileError(ValueError):
    """A condition that parses but does not compile: `message` (Falco wording where known), `pos`."""

    def __init__(self, message: str, pos: ast.Pos = ast.NOWHERE) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class CheckWarning:
    """A compile warning: `code` is the Falco warning code (LOAD_COMPILE_CONDITION, LOAD_UNSAFE_NA_CHECK)."""

    code: str
    message: str
    pos: ast.Pos = field(default=ast.NOWHERE, compare=False)


NA_CHECK_MESSAGE = (
    "comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of the rule condition. "
    "If you need to check for the existence of a field, consider using the 'exists' operator instead."
)

EVENT_TYPE_FIELDS = frozenset({"evt.type", "syscall.type"})

# Operator support per type family (libsinsp flt_is_comparable_*), and the family's name in messages.
_NUMERIC_OK = frozenset({"=", "!=", "<", "<=", ">", ">=", "in", "intersects", "exists"})
_BOOL_OK = frozenset({"=", "!=", "in", "intersects", "exists"})
_IP_OK = frozenset({"=", "!=", "in", "intersects", "exists"})
_STRING_OK = frozenset({"=", "!=", "<", "<=", ">", ">=", "contains", "icontains", "startswith", "endswith",
                        "glob", "iglob", "pmatch", "regex", "in", "intersects", "exists"})
_BUFFER_OK = frozenset({"=", "!=", "contains", "startswith", "endswith", "bcontains", "bstartswith", "in",
                        "intersects", "exists"})
_LIST_OK = frozenset({"in", "intersects", "exists"})
_LIST_TYPES = frozenset({FieldType.CHARBUF, FieldType.UINT64, FieldType.RELTIME, FieldType.ABSTIME,
                         FieldType.BOOL, FieldType.IPADDR, FieldType.IPNET})

_STRING_TRANSFORMERS = frozenset({"tolower", "toupper", "basename"})
_NA_OPS = frozenset({"=", "!=", "in", "intersects", "pmatch"})
_NA_PREFIXES = ("ka.", "jevt.")
_REGEX_SPECIALS = frozenset(".^$*+?()[]{}|\\")
_RX_DECIMAL = re.compile(r"[+-]?[0-9]+")
_RX_FIELD_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+(\[[^\]]*\])?")

# Used when /etc/services cannot be read: the names rules most often use.
_FALLBACK_SERVICES = {
    "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80, "pop3": 110, "ntp": 123,
    "imap": 143, "snmp": 161, "ldap": 389, "https": 443, "smtps": 465, "submission": 587, "ldaps": 636,
    "imaps": 993, "pop3s": 995, "mysql": 3306, "postgresql": 5432, "redis": 6379,
}


def check_condition(node: ast.Node, *, source: str, registry: FieldRegistry) -> list[CheckWarning]:
    """Check every check of an expanded condition; raise on the first error, return the warnings."""
    checker = _Checker(source, registry)
    for sub in ast.walk(node):
        if isinstance(sub, ast.MacroRef):
            raise ConditionCompileError(f"Undefined macro '{sub.name}' used in filter.", sub.pos)
        if isinstance(sub, ast.Check):
            checker.check(sub)
    return checker.warnings


def operand_type(operand: ast.Operand, *, source: str, registry: FieldRegistry) -> tuple[FieldType, bool]:
    """The (type, is_list) an operand yields, transformers applied; raises like check_condition."""
    return _Checker(source, registry).operand_type(operand)


def service_port(name: str) -> int | None:
    """The TCP/UDP port of a service name from the services database (or a small built-in table)."""
    return _services().get(name)


@lru_cache(maxsize=1)
def _services() -> dict[str, int]:
    try:
        with open("/etc/services", encoding="utf-8", errors="replace") as handle:
            return _parse_services(handle.read())
    except OSError:
        return dict(_FALLBACK_SERVICES)


def _parse_services(text: str) -> dict[str, int]:
    """`name port/proto [aliases...]` lines; the first entry for a name wins."""
    table: dict[str, int] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2 or "/" not in words[1]:
            continue
        port = words[1].split("/", 1)[0]
        if port.isdigit():
            for name in [words[0], *words[2:]]:
                table.setdefault(name, int(port))
    return table


class _Checker:
    """One pass over the checks of a condition, collecting warnings."""

    def __init__(self, source: str, registry: FieldRegistry) -> None:
        self.source = source
        self.registry = registry
        self.warnings: list[CheckWarning] = []

    def check(self, check: ast.Check) -> None:
        lhs_field = ast.operand_fields(check.lhs)
        lhs_info = self.resolve(lhs_field)
        if lhs_info.print_only:
            raise ConditionCompileError(f"field '{lhs_field.text}' is print-only and cannot be filtered on",
                                        lhs_field.pos)
        self.check_event_type_shape(check, lhs_info)
        type_, is_list = self.operand_type(check.lhs)
        self.check_operator(check, type_, is_list)
        if isinstance(check.rhs, ast.FieldValue):
            self.check_rhs_field(check, lhs_info, type_)
        elif check.rhs is not None:
            for value, pos in _constants(check.rhs):
                self.check_constant(check, lhs_info, type_, value, pos)

    # ----------------------------------------------------------------- fields and operands

    def resolve(self, ref: ast.FieldRef) -> FieldInfo:
        from rules.fields import resolve

        return resolve(self.registry, self.source, ref)

    def operand_type(self, operand: ast.Operand) -> tuple[FieldType, bool]:
        if isinstance(operand, ast.FieldRef):
            info = self.resolve(operand)
            # An indexed ancestor/argument picks one value; list fields stay lists.
            return info.type, info.is_list and operand.arg is None
        inner_type, inner_list = self.operand_type(operand.arg)
        base = self.resolve(ast.operand_fields(operand))
        if base.no_transformer:
            raise ConditionCompileError(
                f"'{operand.name}' transformer is not supported on field '{ast.operand_fields(operand).text}'",
                operand.pos)
        return self.transformer_type(operand, inner_type, inner_list)

    def transformer_type(self, transformer: ast.Transformer, type_: FieldType,
                         is_list: bool) -> tuple[FieldType, bool]:
        name = transformer.name
        if name == "len":
            if type_ in (FieldType.CHARBUF, FieldType.BYTEBUF) or is_list:
                return FieldType.UINT64, False
        elif name == "b64":
            if type_ in (FieldType.CHARBUF, FieldType.BYTEBUF):
                return type_, is_list
        elif name in _STRING_TRANSFORMERS and type_ is FieldType.CHARBUF:
            return type_, is_list
        raise ConditionCompileError(f"'{name}' transformer is not supported on type {type_.value}", transformer.pos)

    def check_event_type_shape(self, check: ast.Check, lhs_info: FieldInfo) -> None:
        """Event-type selection needs the plain field compared with names (spec section 8)."""
        if lhs_info.name not in EVENT_TYPE_FIELDS:
            return
        if isinstance(check.lhs, ast.Transformer):
            raise ConditionCompileError(f"transformers are not supported on {lhs_info.name}", check.lhs.pos)
        if isinstance(check.rhs, ast.FieldValue):
            raise ConditionCompileError(f"{lhs_info.name} cannot be compared with another field", check.rhs.pos)

    # ----------------------------------------------------------------- operators

    def check_operator(self, check: ast.Check, type_: FieldType, is_list: bool) -> None:
        op = check.op
        if op == "exists":
            return
        if is_list:
            if type_ not in _LIST_TYPES:
                raise ConditionCompileError(f"list filters are not supported for type '{type_.value}'", check.pos)
            if op not in _LIST_OK:
                raise ConditionCompileError(f"'{op}' operator not supported list filters", check.pos)
            return
        allowed, family = _operator_family(type_)
        if op not in allowed:
            raise ConditionCompileError(f"'{op}' operator not supported for {family} filters", check.pos)

    # ----------------------------------------------------------------- right-hand sides

    def check_rhs_field(self, check: ast.Check, lhs_info: FieldInfo, lhs_type: FieldType) -> None:
        rhs = check.rhs
        assert isinstance(rhs, ast.FieldValue)
        rhs_field = ast.operand_fields(rhs.operand)
        rhs_info = self.resolve(rhs_field)
        if check.op in ("pmatch", "regex"):
            raise ConditionCompileError(f"'{check.op}' operator does not support field comparison", rhs.pos)
        if rhs_info.no_rhs:
            raise ConditionCompileError(f"field '{rhs_field.text}' cannot be used on the right-hand side",
                                        rhs.pos)
        rhs_type, _ = self.operand_type(rhs.operand)
        if FieldType.IPNET in (lhs_type, rhs_type):
            raise ConditionCompileError("IP network fields cannot be compared with another field", rhs.pos)
        if _family_of(lhs_type) != _family_of(rhs_type):
            raise ConditionCompileError(
                f"field '{rhs_field.text}' of type {rhs_type.value} cannot be compared with "
                f"'{ast.operand_fields(check.lhs).text}' of type {lhs_type.value}", rhs.pos)

    def check_constant(self, check: ast.Check, lhs_info: FieldInfo, type_: FieldType, value: str,
                       pos: ast.Pos) -> None:
        """A constant must be a value of the compared type; some constants draw warnings."""
        self.warn_about_constant(check, lhs_info, value, pos)
        op = check.op
        if lhs_info.name in EVENT_TYPE_FIELDS and op in ("=", "!=", "in", "intersects") \
                and isinstance(check.lhs, ast.FieldRef) and value not in KNOWN_EVENT_TYPES:
            raise ConditionCompileError(f"unknown event type {value}", pos)
        if op in ("bcontains", "bstartswith"):
            _check_hex(op, value, pos)
        elif op == "regex":
            self.check_regex(value, pos)
        elif op not in ("pmatch",):
            _check_typed_value(type_, value, pos)

    def check_regex(self, value: str, pos: ast.Pos) -> None:
        try:
            _compile_regex(value)
        except re2.error as exc:
            detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise ConditionCompileError(f"invalid regular expression '{value}': {detail}", pos) from None
        if not any(c in _REGEX_SPECIALS for c in value):
            self.warnings.append(CheckWarning(
                "LOAD_COMPILE_CONDITION",
                f"regex '{value}' has no special characters: an equality or string operator is simpler and faster",
                pos))

    def warn_about_constant(self, check: ast.Check, lhs_info: FieldInfo, value: str, pos: ast.Pos) -> None:
        if value == "<NA>" and check.op in _NA_OPS and lhs_info.name.startswith(_NA_PREFIXES):
            self.warnings.append(CheckWarning("LOAD_UNSAFE_NA_CHECK", NA_CHECK_MESSAGE, pos))
        if self.names_field(value):
            self.warnings.append(CheckWarning(
                "LOAD_COMPILE_CONDITION", f"'{value}' may be a valid field misused as a const string value", pos))
        elif self.names_transformer(value):
            self.warnings.append(CheckWarning(
                "LOAD_COMPILE_CONDITION",
                f"'{value}' may be a valid field transformer misused as a const string value", pos))

    def names_field(self, value: str) -> bool:
        if not _RX_FIELD_LIKE.fullmatch(value):
            return False
        return self._resolves(value)

    def names_transformer(self, value: str) -> bool:
        if "(" not in value:
            return False
        return self._resolves(value, transformer=True)

    def _resolves(self, text: str, transformer: bool = False) -> bool:
        from rules.parser import ConditionSyntaxError, parse_field_ref

        try:
            operand = parse_field_ref(text)
            if transformer != isinstance(operand, ast.Transformer):
                return False
            self.operand_type(operand)
        except (ConditionSyntaxError, ConditionCompileError):
            return False
        return True


def _constants(value: ast.Value) -> list[tuple[str, ast.Pos]]:
    if isinstance(value, ast.Const):
        return [(value.value, value.pos)]
    if isinstance(value, ast.ValueList):
        return [(item, value.pos) for item in value.values]
    return []


def _operator_family(type_: FieldType) -> tuple[frozenset[str], str]:
    """Allowed operators and the family name libsinsp prints in its message."""
    if type_ is FieldType.BOOL:
        return _BOOL_OK, "numeric"  # libsinsp says "numeric" for booleans too
    if type_ in (FieldType.IPADDR, FieldType.IPNET):
        return _IP_OK, "ip address and network"
    if type_ is FieldType.BYTEBUF:
        return _BUFFER_OK, "buffer"
    if type_ is FieldType.CHARBUF:
        return _STRING_OK, "string"
    if type_ is FieldType.DYN:
        return _STRING_OK | _NUMERIC_OK, "string"
    return _NUMERIC_OK, "numeric"


def _family_of(type_: FieldType) -> str:
    if type_.is_numeric:
        return "number"
    if type_ in (FieldType.IPADDR, FieldType.IPNET):
        return "address"
    if type_ in (FieldType.CHARBUF, FieldType.DYN):
        return "string"
    return type_.value.lower()


def _check_typed_value(type_: FieldType, value: str, pos: ast.Pos) -> None:
    """Spec 5.4: decimal integers, true/false, addresses, CIDRs, ports or service names."""
    if type_ is FieldType.DOUBLE:
        try:
            float(value)
        except ValueError:
            raise ConditionCompileError(f"{value} is not a valid number", pos) from None
    elif type_ is FieldType.PORT:
        if not (value.isascii() and value.isdigit() and int(value) <= 65535) and service_port(value) is None:
            raise ConditionCompileError(f"{value} is not a valid port number or service name", pos)
    elif type_.is_numeric:
        if not _RX_DECIMAL.fullmatch(value):
            raise ConditionCompileError(f"{value} is not a valid number", pos)
    elif type_ is FieldType.BOOL:
        if value not in ("true", "false"):
            raise ConditionCompileError(f"{value} is not a valid boolean: use true or false", pos)
    elif type_ is FieldType.IPADDR:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ConditionCompileError(f"unrecognized IP address {value}", pos) from None
    elif type_ is FieldType.IPNET:
        try:
            if "/" not in value:
                raise ValueError(value)
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ConditionCompileError(f"unrecognized IP network {value}", pos) from None


def _check_hex(op: str, value: str, pos: ast.Pos) -> None:
    if not value or len(value) % 2 or not all(c in "0123456789abcdefABCDEF" for c in value):
        raise ConditionCompileError(f"'{op}' requires a hexadecimal string, got '{value}'", pos)


@lru_cache(maxsize=1024)
def _compile_regex(pattern: str):
    """RE2 in POSIX mode, as libsinsp compiles `regex` operands; errors are not logged to stderr."""
    options = re2.Options()
    options.posix_syntax = True
    options.longest_match = True
    options.log_errors = False
    return re2.compile(pattern, options=options)
