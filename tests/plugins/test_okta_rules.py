"""Every enabled upstream okta rule fires on a synthetic event and not on a near miss (the real engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.schema import OktaSource
from rules.loader import load_rules
from stages.plugins.okta.fields import OktaExtractor
from stages.plugins.okta.poller import published_ns
from tests.plugins.harness import alerts, events
from tests.plugins.okta_synthetic import log_event, payload

OKTA_RULES = Path(__file__).resolve().parents[3] / "shared" / "peer" / "plugin-rules" / "okta_rules.yaml"
FAILED_MFA = "Too many failed MFA in last 5min"
DENIED_PUSHES = "Too many denied MFA Pushes in last 5min"

# event type -> (the enabled rule it must fire, a near-miss type that must fire nothing)
BY_TYPE = {
    "user.account.lock": ("User has been locked out in OKTA", "user.account.unlock"),
    "user.lifecycle.suspended": ("User has been suspended in OKTA", "user.lifecycle.unsuspend"),
    "user.account.privilege.grant": ("Admin permission has been assigned to a user in OKTA",
                                     "user.account.privilege.revoke"),
    "system.api_token.create": ("Creating a new OKTA API token", "system.api_token.revoke"),
    "user.session.access_admin_app": ("User accessing OKTA admin section", "user.session.start"),
    "user.mfa.factor.deactivate": ("removing MFA factor from user in OKTA", "user.mfa.factor.activate"),
    "user.mfa.factor.reset_all": ("removing all MFA factor from user in OKTA", "user.mfa.factor.update"),
    "user.account.reset_password": ("User password reset by OKTA admin", "user.account.update_password"),
    "system.org.rate_limit.violation": ("User hitting the rate limit on requests in OKTA",
                                        "system.org.rate_limit.warning"),
    "user.session.impersonation.initiate": ("User initiating impersonation session in OKTA",
                                            "user.session.impersonation.end"),
}


def run(docs: list[dict], rule_matching: str = "first") -> list[dict]:
    """Alerts of the upstream okta rules on these events, each timed by its `published`."""
    extractor = OktaExtractor(hostname="test-host", section=OktaSource(organization="acme-synthetic"))
    batch = events([payload(d) for d in docs], [published_ns(d["published"]) for d in docs])
    return alerts(extractor, [str(OKTA_RULES)], batch, rule_matching=rule_matching)


def names(docs: list[dict], rule_matching: str = "first") -> list[str]:
    return [a["rule"] for a in run(docs, rule_matching)]


def mfa_failure(offset_s: float, actor: str = "00usynthADA001", result: str = "FAILURE") -> dict:
    return log_event("user.authentication.auth_via_mfa", offset_ms=int(offset_s * 1000), actor_id=actor,
                     result=result, reason="INVALID_CREDENTIALS")


def deny_push(offset_s: float, actor: str = "00usynthADA001") -> dict:
    return log_event("user.mfa.okta_verify.deny_push", offset_ms=int(offset_s * 1000), actor_id=actor,
                     result="FAILURE", reason="User rejected Okta push verify")


def test_every_enabled_rule_is_covered() -> None:
    """The tests below name exactly the enabled rules of the upstream file."""
    result = load_rules([str(OKTA_RULES)])
    enabled = {r.name for r in result.rules if r.enabled and r.source == "okta"}
    assert enabled == {rule for rule, _ in BY_TYPE.values()} | {FAILED_MFA, DENIED_PUSHES}


@pytest.mark.parametrize("event_type", sorted(BY_TYPE))
def test_rule_fires_on_its_event_type(event_type: str) -> None:
    """One event of the type fires the rule, once."""
    assert names([log_event(event_type)]) == [BY_TYPE[event_type][0]]


@pytest.mark.parametrize("event_type", sorted(BY_TYPE))
def test_near_miss_fires_nothing(event_type: str) -> None:
    """A neighbouring event type (some of them are types of disabled rules) fires no rule."""
    assert names([log_event(BY_TYPE[event_type][1])]) == []


def test_alert_output_is_rendered_from_okta_fields() -> None:
    """The output names the actor, client IP and target user of the synthetic event."""
    (alert,) = run([log_event("user.account.reset_password")])
    assert alert["message"] == ("A user password has been reset by an OKTA Admin account "
                                "(user=Ada Example, ip=198.51.100.7, target user=Bob Example)")
    assert (alert["source"], alert["time_ns"]) == ("okta", published_ns("2024-03-05T10:15:30.250Z"))


class TestFailedMfa:
    def test_third_failure_within_five_minutes_fires(self) -> None:
        """Two failures do not fire; the third within 300 s does, and so does a fourth."""
        docs = [mfa_failure(0), mfa_failure(120), mfa_failure(240), mfa_failure(250)]
        assert [a["rule"] for a in run(docs[:2])] == []
        found = run(docs)
        assert [a["rule"] for a in found] == [FAILED_MFA, FAILED_MFA]
        assert found[0]["message"] == ("A user has failed MFA too many times in last 5min "
                                       "(user='Ada Example' last_reason='INVALID_CREDENTIALS' countLast300=3)")
        assert found[0]["output_fields"]["okta.mfa.failure.countlast[300]"] == 3

    def test_failures_older_than_the_window_do_not_count(self) -> None:
        """Failures at 0, 200 and 301 s: the first has left the window, so the third does not fire."""
        assert names([mfa_failure(0), mfa_failure(200), mfa_failure(301)]) == []
        assert names([mfa_failure(0), mfa_failure(200), mfa_failure(301), mfa_failure(302)]) == [FAILED_MFA]

    def test_other_actors_and_successes_do_not_count(self) -> None:
        """Three failures of three actors, or three successful verifications, fire nothing."""
        assert names([mfa_failure(0, "00uA"), mfa_failure(1, "00uB"), mfa_failure(2, "00uC")]) == []
        assert names([mfa_failure(i, result="SUCCESS") for i in range(3)]) == []

    def test_same_instant_counts_once(self) -> None:
        """Three failures published in the same millisecond are one, so nothing fires."""
        assert names([mfa_failure(7), mfa_failure(7), mfa_failure(7)]) == []


class TestDeniedPushes:
    def test_third_denied_push_within_five_minutes_fires(self) -> None:
        """Two denied pushes do not fire; the third within 300 s fires the deny rule, not the failed-MFA one."""
        assert names([deny_push(0), deny_push(60)]) == []
        found = run([deny_push(0), deny_push(60), deny_push(120)])
        assert [a["rule"] for a in found] == [DENIED_PUSHES]
        assert found[0]["message"] == ("A user has denied too many MFA pushes in last 5min "
                                       "(user='Ada Example' reason='User rejected Okta push verify' "
                                       "countLast300=3)")

    def test_older_pushes_do_not_count(self) -> None:
        """Pushes 300 s or more before the third do not count."""
        assert names([deny_push(0), deny_push(300), deny_push(400)]) == []

    def test_each_kind_fires_only_its_own_rule(self) -> None:
        """With rule_matching all, failures fire only the failed-MFA rule and pushes only the deny rule."""
        docs = [mfa_failure(0), deny_push(1), mfa_failure(2), deny_push(3), mfa_failure(4), deny_push(5)]
        assert names(docs, rule_matching="all") == [FAILED_MFA, DENIED_PUSHES]
