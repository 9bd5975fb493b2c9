"""Imports go one way: run.py -> stages -> kernel, rules, pipeline; config is a leaf; only kernel imports bcc."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("stages", "kernel", "rules", "pipeline", "config")

# package -> project packages it may import
ALLOWED = {
    "config": set(),
    "rules": set(),
    "pipeline": {"config"},
    "kernel": {"pipeline", "config"},
    "stages": {"kernel", "rules", "pipeline", "config"},
}
# third-party modules reserved to one place
RESERVED = {"bcc": ("kernel",), "slack_sdk": ("stages/sinks",), "boto3": ("stages/sinks", "stages/plugins/cloudtrail"),
            "smtplib": ("stages/sinks",)}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_project_imports_flow_one_way(package: str) -> None:
    """A package imports only the project packages below it."""
    for path in sources(package):
        used = imports_of(path) & set(PACKAGES) - {package}
        assert used <= ALLOWED[package], f"{path.relative_to(ROOT)} imports {sorted(used - ALLOWED[package])}"


@pytest.mark.parametrize("module", sorted(RESERVED))
def test_reserved_libraries(module: str) -> None:
    """bcc only in kernel/; slack_sdk, boto3, smtplib only in the output sinks (and the CloudTrail source for boto3)."""
    for package in PACKAGES:
        for path in sources(package):
            if module in imports_of(path):
                rel = path.relative_to(ROOT).as_posix()
                assert rel.startswith(RESERVED[module]), f"{rel} imports {module}"


def test_run_py_imports_only_stages() -> None:
    """run.py parses the command line and hands over to stages."""
    assert imports_of(ROOT / "run.py") & set(PACKAGES) == {"stages"}
