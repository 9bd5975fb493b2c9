"""Shell patterns of `glob`, `iglob` and `pmatch`: fnmatch(3) semantics without FNM_PATHNAME.

A pattern is read once into tokens. `glob_regex` / `pmatch_regex` turn tokens into one anchored RE2 regex
for the vectorized compiler; `glob_match` / `pmatch_match` match one string directly (a small NFA walk) for
the scalar reference evaluator. Both sides share the tokenizer, so their agreement tests the translation.

Rules followed (glibc fnmatch, C locale): `*` any run (crossing `/`), `?` one character, `[...]` a set with
`!` or `^` negation, ranges, a leading `]` as a member, `[:class:]` ASCII classes and backslash escapes; an
unterminated `[` is a literal `[`; a trailing backslash makes the pattern match nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CODEPOINT = 0x10FFFF
SLASH = ord("/")

_CLASSES: dict[str, tuple[tuple[int, int], ...]] = {
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "digit": ((0x30, 0x39),),
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "upper": ((0x41, 0x5A),),
    "lower": ((0x61, 0x7A),),
    "space": ((0x09, 0x0D), (0x20, 0x20)),
    "blank": ((0x09, 0x09), (0x20, 0x20)),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "print": ((0x20, 0x7E),),
    "graph": ((0x21, 0x7E),),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}


@dataclass(frozen=True)
class Literal:
    char: str


@dataclass(frozen=True)
class AnyChar:
    """`?`"""


@dataclass(frozen=True)
class Star:
    """`*`"""


@dataclass(frozen=True)
class CharSet:
    """`[...]`: inclusive code point ranges, possibly negated."""

    negated: bool
    ranges: tuple[tuple[int, int], ...]

    def contains(self, char: str) -> bool:
        code = ord(char)
        inside = any(lo <= code <= hi for lo, hi in self.ranges)
        return inside != self.negated


@dataclass(frozen=True)
class Never:
    """A pattern that can match nothing (trailing backslash, unknown character class)."""


Token = Literal | AnyChar | Star | CharSet | Never


def tokenize(pattern: str) -> tuple[Token, ...]:
    """Read a shell pattern into tokens."""
    tokens: list[Token] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            tokens.append(Star())
        elif char == "?":
            tokens.append(AnyChar())
        elif char == "\\":
            if i + 1 == len(pattern):
                return (Never(),)
            i += 1
            tokens.append(Literal(pattern[i]))
        elif char == "[":
            parsed = _read_set(pattern, i + 1)
            if parsed is None:
                tokens.append(Literal("["))
            else:
                token, i = parsed
                tokens.append(token)
                continue
        else:
            tokens.append(Literal(char))
        i += 1
    return tuple(tokens)


def _read_set(pattern: str, start: int) -> tuple[Token, int] | None:
    """Parse a bracket expression whose `[` is just before `start`: (token, index after `]`) or None."""
    i = start
    negated = i < len(pattern) and pattern[i] in "!^"
    if negated:
        i += 1
    ranges: list[tuple[int, int]] = []
    first = True
    while i < len(pattern):
        char = pattern[i]
        if char == "]" and not first:
            return CharSet(negated, tuple(ranges)), i + 1
        first = False
        if char == "[" and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            if end != -1:
                name = pattern[i + 2:end]
                if name not in _CLASSES:
                    return _skip_to_close(pattern, end + 2)
                ranges.extend(_CLASSES[name])
                i = end + 2
                continue
        if char == "\\":
            if i + 1 == len(pattern):
                return None
            i += 1
            char = pattern[i]
        i += 1
        low = ord(char)
        if i + 1 < len(pattern) and pattern[i] == "-" and pattern[i + 1] != "]":
            high_char = pattern[i + 1]
            i += 2
            if high_char == "\\":
                if i == len(pattern):
                    return None
                high_char = pattern[i]
                i += 1
            ranges.append((low, ord(high_char)))
        else:
            ranges.append((low, low))
    return None


def _skip_to_close(pattern: str, start: int) -> tuple[Token, int] | None:
    """An unknown class makes the set match nothing; the set still ends at its `]`."""
    end = pattern.find("]", start)
    return None if end == -1 else (Never(), end + 1)


# --- direct matching (scalar evaluator) ---------------------------------------------------------------

def glob_match(pattern: str, value: str, *, casefold: bool = False) -> bool:
    """fnmatch(pattern, value) == 0 without FNM_PATHNAME; `casefold` folds ASCII letters (FNM_CASEFOLD)."""
    if casefold:
        pattern, value = ascii_lower(pattern), ascii_lower(value)
    return _run(tokenize(pattern), value)


def _run(tokens: tuple[Token, ...], value: str) -> bool:
    """Simulate the pattern as an NFA: the set of token positions reachable after each character."""
    if any(isinstance(t, Never) for t in tokens):
        return False
    states = _closure(tokens, {0})
    for char in value:
        moved = set()
        for state in states:
            if state == len(tokens):
                continue
            token = tokens[state]
            if isinstance(token, Star):
                moved.add(state)
            elif isinstance(token, AnyChar) or (isinstance(token, Literal) and token.char == char) or (
                    isinstance(token, CharSet) and token.contains(char)):
                moved.add(state + 1)
        states = _closure(tokens, moved)
        if not states:
            return False
    return len(tokens) in states


def _closure(tokens: tuple[Token, ...], states: set[int]) -> set[int]:
    """A star may match nothing: being before it also means being after it."""
    result = set(states)
    for state in sorted(states):
        while state < len(tokens) and isinstance(tokens[state], Star):
            state += 1
            result.add(state)
    return result


def path_components(path: str) -> list[str]:
    """`/etc//ssh/` -> ["etc", "ssh"]."""
    return [part for part in path.split("/") if part]


def pmatch_match(entries: tuple[str, ...], value: str) -> bool:
    """Some entry's components are a component-wise (glob) prefix of the value's components."""
    value_parts = path_components(value)
    for entry in entries:
        entry_parts = path_components(entry)
        if len(entry_parts) <= len(value_parts) and all(
                glob_match(pattern, part) for pattern, part in zip(entry_parts, value_parts)):
            return True
    return False


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only, as C's tolower in the C locale."""
    return text.translate(_ASCII_LOWER)


def ascii_upper(text: str) -> str:
    return text.translate(_ASCII_UPPER)


_ASCII_LOWER = {c: c + 32 for c in range(0x41, 0x5B)}
_ASCII_UPPER = {c: c - 32 for c in range(0x61, 0x7B)}


# --- regex translation (vectorized compiler) ----------------------------------------------------------

def glob_regex(pattern: str) -> str | None:
    """An anchored RE2 regex matching what the glob matches; None when it matches nothing."""
    body = _tokens_regex(tokenize(pattern), component=False)
    return None if body is None else f"(?s)^{body}$"


def pmatch_regex(entries: tuple[str, ...]) -> str | None:
    """One anchored RE2 regex for a `pmatch` list; None when no entry can match."""
    alternatives = []
    for entry in entries:
        parts = []
        for component in path_components(entry):
            tokens = tokenize(component)
            regex = _tokens_regex(tokens, component=True)
            if regex is None:
                break
            # A value component is never empty, so an all-star component must consume something.
            parts.append("[^/]+" if all(isinstance(t, Star) for t in tokens) else regex)
        else:
            if not parts:
                return "(?s)^.*$"
            alternatives.append("/*" + "/+".join(parts) + "(?:/.*)?")
    if not alternatives:
        return None
    return "(?s)^(?:" + "|".join(alternatives) + ")$"


def _tokens_regex(tokens: tuple[Token, ...], *, component: bool) -> str | None:
    pieces = []
    for token in tokens:
        if isinstance(token, Never):
            return None
        if isinstance(token, Star):
            pieces.append("[^/]*" if component else ".*")
        elif isinstance(token, AnyChar):
            pieces.append("[^/]" if component else ".")
        elif isinstance(token, Literal):
            pieces.append(_escape(token.char))
        else:
            charset = _charset_regex(token, component=component)
            if charset is None:
                return None
            pieces.append(charset)
    return "".join(pieces)


def _charset_regex(token: CharSet, *, component: bool) -> str | None:
    ranges = [(lo, hi) for lo, hi in token.ranges if lo <= hi]
    if component:
        # Inside a path component a set can never match "/": drop it from members, add it to exclusions.
        ranges = _without_slash(ranges) if not token.negated else ranges + [(SLASH, SLASH)]
    if not ranges:
        return None if not token.negated else "."
    body = "".join(_range_regex(lo, hi) for lo, hi in ranges)
    return f"[^{body}]" if token.negated else f"[{body}]"


def _without_slash(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept = []
    for lo, hi in ranges:
        if lo <= SLASH <= hi:
            kept.extend(r for r in ((lo, SLASH - 1), (SLASH + 1, hi)) if r[0] <= r[1])
        else:
            kept.append((lo, hi))
    return kept


def _range_regex(low: int, high: int) -> str:
    return f"\\x{{{low:x}}}" if low == high else f"\\x{{{low:x}}}-\\x{{{high:x}}}"


def _escape(char: str) -> str:
    """Letters and digits stand for themselves; everything else as a code point escape."""
    if char.isascii() and char.isalnum():
        return char
    return f"\\x{{{ord(char):x}}}"
