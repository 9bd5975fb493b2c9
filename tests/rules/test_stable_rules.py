"""Tests loading the upstream rule files unchanged (test data under ../shared/peer)."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from rules.loader import load_rules

PEER = Path(__file__).resolve().parents[3] / "shared" / "peer"
STABLE = PEER / "falco-rules" / "falco_rules.yaml"
PLUGIN_RULES = sorted((PEER / "plugin-rules").glob("*.yaml"))

# (file, rules, sources of the rules)
PLUGIN_FILES = {
    "k8s_audit_rules.yaml": (48, "k8s_audit"),
    "aws_cloudtrail_rules.yaml": (22, "aws_cloudtrail"),
    "github.yaml": (15, "github"),
    "okta_rules.yaml": (21, "okta"),
}


@pytest.fixture(name="stable", scope="module")
def fixture_stable():
    if not STABLE.exists():
        pytest.fail(f"test data missing: {STABLE}")
    return load_rules([str(STABLE)])


class TestStableRules:
    def test_clean_load(self, stable):
        """The stable file loads with no error and no warning."""
        assert [m.render_text() for m in stable.errors] == []
        assert [m.render_text() for m in stable.warnings] == []
        assert stable.ok

    def test_counts(self, stable):
        """25 rules, 87 macros, 49 lists, 7 of them empty."""
        assert (len(stable.rules), len(stable.macros), len(stable.lists)) == (25, 87, 49)
        assert sum(1 for lst in stable.lists.values() if not lst.items) == 7

    def test_priorities(self, stable):
        """WARNING 14, NOTICE 7, CRITICAL 3, INFO 1, shown with canonical names."""
        counts = collections.Counter(rule.priority.canonical for rule in stable.rules)
        assert counts == {"Warning": 14, "Notice": 7, "Critical": 3, "Informational": 1}

    def test_requirements(self, stable):
        """required_engine_version 0.57.0 and the container plugin >= 0.4.0."""
        assert stable.required_engine_version == "0.57.0"
        assert [req.alternatives for req in stable.required_plugins] == [[("container", "0.4.0")]]

    def test_every_rule_restricted_to_event_types(self, stable):
        """Every rule has a restricted, non-empty event-type set within the 19 known types."""
        assert all(rule.event_types for rule in stable.rules)
        union = frozenset().union(*(rule.event_types for rule in stable.rules))
        assert union == {"connect", "dup", "dup2", "dup3", "execve", "execveat", "finit_module", "init_module",
                         "link", "linkat", "open", "openat", "openat2", "ptrace", "sendmsg", "sendto", "socket",
                         "symlink", "symlinkat"}

    def test_known_restrictions(self, stable):
        """Spot checks: a shell rule runs on exec events only, a read rule on opens."""
        by_name = {rule.name: rule for rule in stable.rules}
        assert by_name["Run shell untrusted"].event_types == {"execve", "execveat"}
        assert by_name["Read sensitive file untrusted"].event_types == {"open", "openat", "openat2"}

    def test_all_enabled_and_every_macro_and_list_used(self, stable):
        """No rule is disabled; every macro and list is referenced."""
        assert all(rule.enabled for rule in stable.rules)
        assert all(m.used for m in stable.macros.values()) and all(lst.used for lst in stable.lists.values())

    def test_stable_with_min_priority(self):
        """min_priority critical keeps the three critical rules."""
        result = load_rules([str(STABLE)], min_priority="critical")
        assert result.ok and len(result.rules) == 3


class TestPluginRules:
    @pytest.mark.parametrize("path", PLUGIN_RULES, ids=lambda p: p.name)
    def test_plugin_rule_files_load_cleanly(self, path):
        """Each upstream plugin rules file loads with no error or warning: Saker's built-in sources meet its
        required_plugin_versions, and every rule is kept with its source."""
        count, source = PLUGIN_FILES[path.name]
        result = load_rules([str(path)])
        assert result.ok and result.warnings == []
        assert len(result.rules) == count and {rule.source for rule in result.rules} == {source}

    def test_engine_versions(self):
        """Bare integer engine versions read as 0.N.0."""
        versions = {p.name: load_rules([str(p)]).required_engine_version for p in PLUGIN_RULES}
        assert versions == {"k8s_audit_rules.yaml": "0.15.0", "aws_cloudtrail_rules.yaml": "0.10.0",
                            "github.yaml": "0.10.0", "okta_rules.yaml": "0.11.0"}
