"""Shell patterns: fnmatch semantics, pmatch prefixes, and their RE2 translations agreeing."""

from __future__ import annotations

import pytest
import re2

from rules.patterns import glob_match, glob_regex, pmatch_match, pmatch_regex

GLOB_CASES = [
    ("*", "", True), ("*", "a/b", True), ("a*c", "a/b/c", True), ("?", "é", True), ("?", "", False),
    ("[abc]x", "bx", True), ("[!abc]x", "bx", False), ("[^abc]x", "dx", True), ("[]a]", "]", True),
    ("[a-c]", "d", False), ("[z-a]", "m", False), ("[[:upper:]]*", "Abc", True), ("[[:upper:]]*", "abc", False),
    ("\\*", "*", True), ("\\*", "x", False), ("a\\", "a\\", False), ("[a-", "[a-", True), ("[", "[", True),
    ("/etc/*", "/etc/passwd", True), ("/etc/*", "/etcx", False), ("*.log", "a\nb.log", True),
    ("[[:bogus:]]", "b", False), ("x[!/]y", "x/y", False), ("x[!a]y", "x/y", True),
]


@pytest.mark.parametrize(("pattern", "value", "expected"), GLOB_CASES)
def test_glob_direct_and_regex(pattern: str, value: str, expected: bool) -> None:
    """The direct matcher and the RE2 translation both give the fnmatch verdict."""
    assert glob_match(pattern, value) is expected
    regex = glob_regex(pattern)
    assert (regex is not None and re2.search(regex, value) is not None) is expected


def test_iglob_folds_ascii_only() -> None:
    """FNM_CASEFOLD folds A-Z; other letters keep their case."""
    assert glob_match("BA*", "bash", casefold=True)
    assert not glob_match("É*", "é", casefold=True)


PMATCH_CASES = [
    (("/etc",), "/etc", True), (("/etc",), "/etc/x", True), (("/etc",), "/etcx", False),
    (("/etc/",), "//etc//x", True), (("/e*",), "/etc/x", True), (("/*/b",), "/b", False),
    (("/*/b",), "/a/b/c", True), (("/",), "", True), (("/tmp", "/etc"), "/etc/x", True),
    (("/etc/pass?d",), "/etc/passwd", True), (("etc",), "etc/x", True), (("/a/b",), "/a", False),
]


@pytest.mark.parametrize(("entries", "value", "expected"), PMATCH_CASES)
def test_pmatch_direct_and_regex(entries: tuple[str, ...], value: str, expected: bool) -> None:
    """Component-wise prefix matching, with glob components, agrees with its regex."""
    assert pmatch_match(entries, value) is expected
    regex = pmatch_regex(entries)
    assert (regex is not None and re2.search(regex, value) is not None) is expected
