"""The okta fields on synthetic System Log events (tests/plugins/okta_synthetic.py): exact values, absent rules."""

from __future__ import annotations

import copy
import json

import pytest

from config.schema import OktaSource
from rules.fields import REGISTRY
from stages.plugins import spec
from stages.plugins.base import raw_batch
from stages.plugins.okta.fields import OktaExtractor, go_float_text
from stages.plugins.okta.mfa import MfaWindows, count_within
from stages.plugins.okta.poller import published_ns, rfc3339
from tests.plugins.harness import events
from tests.plugins.okta_synthetic import BASE_NS, FULL_EVENT, MINIMAL_EVENT, log_event, payload

ORG = "acme-synthetic"
S = 1_000_000_000


def extractor(**section: object) -> OktaExtractor:
    return OktaExtractor(hostname="test-host", section=OktaSource(organization=ORG, **section))


def values(field: str, docs: list, times: list[int] | None = None, ex: OktaExtractor | None = None) -> list:
    """The column `field` gets for these events (dicts are JSON-encoded, bytes taken as they are)."""
    ex = ex or extractor()
    payloads = [d if isinstance(d, bytes) else payload(d) for d in docs]
    batch = ex.columns(raw_batch("okta", events(payloads, times)), [field])
    return batch.column(field).to_pylist()


def value(field: str, doc: dict | bytes) -> object:
    return values(field, [doc])[0]


FULL_VALUES = {
    "okta.evt.type": "user.session.start",
    "okta.evt.legacytype": "core.user_auth.login_success",
    "okta.severity": "INFO",
    "okta.message": "User login to Okta",
    "okta.published": "2024-03-05T10:15:30.250Z",
    "okta.org": ORG,
    "okta.app": "synthapp_saml_1",
    "okta.requesturi": "/app/synthapp_saml_1/exk1synthAPP/sso/saml",
    "okta.behaviors": "{New Geo-Location=NEGATIVE, New Device=POSITIVE, New IP=NEGATIVE}",
    "okta.logonlysecuritydata": "{\"risk\":{\"level\":\"LOW\"},\"behaviors\":{\"New Device\":\"POSITIVE\"}}",
    "okta.actor.id": "00usynthADA001",
    "okta.actor.Type": "User",
    "okta.actor.alternateid": "ada@example.test",
    "okta.actor.name": "Ada Example",
    "okta.client.zone": "null",
    "okta.client.ip": "198.51.100.7",
    "okta.client.device": "Computer",
    "okta.client.id": "",
    "okta.client.geo.city": "Lyon",
    "okta.client.geo.state": "Auvergne-Rhone-Alpes",
    "okta.client.geo.country": "France",
    "okta.client.geo.postalcode": "69001",
    "okta.client.geo.lat": "45.764",
    "okta.client.geo.lon": "4.8357",
    "okta.useragent.os": "Linux",
    "okta.useragent.browser": "CHROME",
    "okta.useragent.raw": "Mozilla/5.0 (X11; Linux x86_64) SyntheticBrowser/1.0",
    "okta.result": "SUCCESS",
    "okta.reason": "",
    "okta.transaction.id": "YsynthTX0001",
    "okta.transaction.type": "WEB",
    "okta.principal.id": "00usynthADMIN1",
    "okta.principal.alternateid": "admin@example.test",
    "okta.principal.type": "User",
    "okta.principal.name": "Admin Example",
    "okta.authentication.step": "0",
    "okta.authentication.sessionid": "102synthSESSION01",
    "okta.authentication.provider": "OKTA_AUTHENTICATION_PROVIDER",
    "okta.authentication.credentialprovider": "OKTA_CREDENTIAL_PROVIDER",
    "okta.security.asnumber": 64500,
    "okta.security.asorg": "example transit",
    "okta.security.isp": "example isp",
    "okta.security.domain": "example.test",
    "okta.security.isproxy": "false",
    "okta.target.user.id": "00usynthBOB001",
    "okta.target.user.alternateid": "bob@example.test",
    "okta.target.user.name": "Bob Example",
    "okta.target.group.id": "00gsynthGRP001",
    "okta.target.group.alternateid": "engineering",
    "okta.target.group.name": "Engineering",
    "okta.target.app.alternateid": "Synthetic SAML App",
    "okta.targets.displayName": "(Bob Example,Engineering,Synthetic SAML App)",
    "okta.targets.displayName[0]": "Bob Example",
    "okta.targets.displayName[2]": "Synthetic SAML App",
    "okta.targets.displayName[3]": None,
    "okta.mfa.failure.countlast[300]": None,
    "okta.mfa.deny.countlast[300]": None,
}

# The minimal event lacks most keys: upstream's struct gives "" / "0" / 0, and absent where noted.
MINIMAL_VALUES = {
    **{name: "" for name in FULL_VALUES},
    "okta.evt.type": "system.org.rate_limit.violation",
    "okta.severity": "WARN",
    "okta.message": "Rate limit violation",
    "okta.published": "2024-03-05T10:15:31.000Z",
    "okta.org": ORG,
    "okta.actor.id": "00usynthADA001",
    "okta.actor.Type": "User",
    "okta.result": "DENY",
    "okta.client.geo.lat": "0",
    "okta.client.geo.lon": "0",
    "okta.authentication.step": "0",
    "okta.security.asnumber": 0,
    "okta.app": None,
    **{name: None for name in FULL_VALUES if name.startswith(("okta.target", "okta.mfa"))},
}


class TestTable:
    def test_every_okta_field_has_an_extractor(self) -> None:
        """Each of the 54 catalog fields of the okta class is extracted, and no other."""
        catalog = [f.name for c in REGISTRY.classes("okta") if c.name == "okta" for f in c.fields]
        assert len(catalog) == 54
        assert sorted(extractor().fields) == sorted(catalog)

    def test_spec_matches_the_declared_plugin(self) -> None:
        """The package declares source and plugin okta at upstream version 0.12.0."""
        okta = spec("okta")
        assert (okta.source, okta.plugin, okta.version) == ("okta", "okta", "0.12.0")
        assert isinstance(okta.extractor(hostname="h", section=OktaSource(organization=ORG)), OktaExtractor)


class TestValues:
    @pytest.mark.parametrize("field", sorted(FULL_VALUES))
    def test_full_event(self, field: str) -> None:
        """Every field of a fully populated synthetic event has its exact value."""
        assert value(field, FULL_EVENT) == FULL_VALUES[field]

    @pytest.mark.parametrize("field", sorted(MINIMAL_VALUES))
    def test_minimal_event(self, field: str) -> None:
        """Missing keys read as upstream's zero values, except the fields that are absent without data."""
        assert value(field, MINIMAL_EVENT) == MINIMAL_VALUES[field]

    @pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\"text\""])
    def test_payload_that_is_no_object_has_no_okta_fields(self, body: bytes) -> None:
        """Where upstream cannot decode the event, every okta field is absent (the generic ones remain)."""
        for field in ("okta.evt.type", "okta.org", "okta.client.geo.lat", "okta.security.asnumber",
                      "okta.authentication.step", "okta.app", "okta.targets.displayName"):
            assert value(field, body) is None
        assert value("evt.plugininfo", body) == body.decode()

    def test_plugininfo_is_the_event_json(self) -> None:
        """evt.plugininfo renders the stored event as it is, like upstream's String()."""
        assert value("evt.plugininfo", FULL_EVENT) == payload(FULL_EVENT).decode()

    def test_org_without_section_is_empty(self) -> None:
        """Without a configuration section, okta.org is "" (upstream's unset organization)."""
        assert values("okta.org", [FULL_EVENT], ex=OktaExtractor(hostname="h")) == [""]


class TestAppAndTargets:
    @pytest.mark.parametrize(("uri", "expected"), [
        ("/app/office365/exk1/sso/wsfed/passive", "office365"),
        ("/app/", ""),
        ("/app/onlyname", "onlyname"),
        ("/api/v1/authn", None),
        ("/home/app/x", None),
    ])
    def test_app_is_the_segment_after_app(self, uri: str, expected: str | None) -> None:
        """okta.app is the segment after a leading /app/, absent for other URIs."""
        event = copy.deepcopy(FULL_EVENT)
        event["debugContext"]["debugData"]["requestUri"] = uri
        assert value("okta.app", event) == expected

    def test_last_target_of_a_type_wins(self) -> None:
        """With two User targets, the user fields come from the last; a missing key reads as ""."""
        event = copy.deepcopy(FULL_EVENT)
        event["target"].append({"id": "00usynthCAROL1", "type": "User"})
        assert value("okta.target.user.id", event) == "00usynthCAROL1"
        assert value("okta.target.user.name", event) == ""
        assert value("okta.targets.displayName", event) == "(Bob Example,Engineering,Synthetic SAML App,)"

    def test_no_targets_means_absent(self) -> None:
        """An empty target list leaves the target fields and the display name list absent."""
        event = copy.deepcopy(FULL_EVENT)
        event["target"] = []
        for field in ("okta.target.user.id", "okta.target.group.name", "okta.target.app.alternateid",
                      "okta.targets.displayName", "okta.targets.displayName[0]"):
            assert value(field, event) is None


class TestTypedValues:
    @pytest.mark.parametrize(("lat", "lon", "expected"), [
        (37, -122.4194, ("37", "-122.4194")),
        (0.00001, 1234567.0, ("1e-05", "1.234567e+06")),
        (-0.0, 100.5, ("-0", "100.5")),
    ])
    def test_coordinates_print_like_go(self, lat: float, lon: float, expected: tuple[str, str]) -> None:
        """Latitude and longitude are printed as Go's %v does; longitude is the real one (upstream: 0)."""
        event = copy.deepcopy(FULL_EVENT)
        event["client"]["geographicalContext"]["geolocation"] = {"lat": lat, "lon": lon}
        assert (value("okta.client.geo.lat", event), value("okta.client.geo.lon", event)) == expected

    @pytest.mark.parametrize(("number", "expected"), [
        (0.30000000000000004, "0.30000000000000004"), (123456.0, "123456"), (1e21, "1e+21"), (0.0001, "0.0001"),
        (float("inf"), "+Inf"), (float("nan"), "NaN"),
    ])
    def test_go_float_text(self, number: float, expected: str) -> None:
        """Shortest digits; exponent form below 1e-4 and from 1e6, with a two-digit exponent."""
        assert go_float_text(number) == expected

    @pytest.mark.parametrize(("security", "asnumber", "isproxy"), [
        ({"asNumber": 7922, "isProxy": True}, 7922, "true"),
        ({"asNumber": -5, "isProxy": None}, 0, ""),
        ({"asNumber": "7922", "isProxy": "false"}, 0, "false"),
    ])
    def test_as_number_and_proxy(self, security: dict, asnumber: int, isproxy: str) -> None:
        """The AS number is a uint64 (0 unless a non-negative integer); isProxy is true/false text."""
        event = copy.deepcopy(FULL_EVENT)
        event["securityContext"] = security
        assert value("okta.security.asnumber", event) == asnumber
        assert value("okta.security.isproxy", event) == isproxy

    def test_authentication_step_is_number_text(self) -> None:
        """The authentication step reads as the number's text."""
        event = copy.deepcopy(FULL_EVENT)
        event["authenticationContext"]["authenticationStep"] = 2
        assert value("okta.authentication.step", event) == "2"

    def test_unexpected_types_render_as_json(self) -> None:
        """A non-string where text is expected reads as compact JSON, as the json plugin renders it."""
        event = copy.deepcopy(FULL_EVENT)
        event["eventType"] = 42
        event["debugContext"]["debugData"]["behaviors"] = {"New IP": "POSITIVE"}
        assert value("okta.evt.type", event) == "42"
        assert value("okta.behaviors", event) == '{"New IP":"POSITIVE"}'


class TestPublishedTime:
    @pytest.mark.parametrize(("text", "expected"), [
        ("2024-03-05T10:15:30.250Z", 1709633730_250_000_000),
        ("2024-03-05T10:15:30Z", 1709633730_000_000_000),
        ("2024-03-05T12:15:30.250+02:00", 1709633730_250_000_000),
        ("2024-03-05T10:15:30.123456789Z", 1709633730_123_456_789),
        ("2024-03-05t10:15:30.250z", 1709633730_250_000_000),
    ])
    def test_rfc3339_in_ns(self, text: str, expected: int) -> None:
        """RFC 3339 times convert to exact nanoseconds, offsets applied."""
        assert published_ns(text) == expected

    @pytest.mark.parametrize("text", ["2024-03-05", "2024-03-05T10:15:30", "2024-13-05T10:15:30Z", "", None, 17])
    def test_not_rfc3339(self, text: object) -> None:
        """A date alone, a time without offset, an impossible date or a non-string is no RFC 3339 time."""
        assert published_ns(text) is None

    def test_rfc3339_round_trip(self) -> None:
        """The poller's own `since` text reads back to the same millisecond."""
        assert rfc3339(BASE_NS) == "2024-03-05T10:15:30.250Z"
        assert published_ns(rfc3339(BASE_NS + 1_999_999)) == BASE_NS + 1_000_000


def mfa_failure(offset_s: float, actor: str = "00usynthADA001") -> dict:
    return log_event("user.authentication.auth_via_mfa", offset_ms=int(offset_s * 1000), actor_id=actor,
                     result="FAILURE", reason="INVALID_CREDENTIALS")


def times_of(docs: list[dict]) -> list[int]:
    return [published_ns(d["published"]) for d in docs]


def counts(field: str, docs: list[dict], ex: OktaExtractor | None = None) -> list:
    return values(field, docs, times_of(docs), ex)


class TestMfaCounters:
    def test_failures_count_within_the_window(self) -> None:
        """Each failure counts the same actor's failures in the last N seconds, itself included."""
        docs = [mfa_failure(0), mfa_failure(100), mfa_failure(299.999), mfa_failure(400)]
        assert counts("okta.mfa.failure.countlast[300]", docs) == [1, 2, 3, 2]
        assert counts("okta.mfa.failure.countlast[10]", docs) == [1, 1, 1, 1]

    def test_window_excludes_its_left_edge(self) -> None:
        """An event exactly N seconds older no longer counts (upstream compares with >)."""
        assert counts("okta.mfa.failure.countlast[300]", [mfa_failure(0), mfa_failure(300)]) == [1, 1]

    def test_equal_times_count_once(self) -> None:
        """Two failures with the same published time count as one."""
        docs = [mfa_failure(5), mfa_failure(5), mfa_failure(6)]
        assert counts("okta.mfa.failure.countlast[300]", docs) == [1, 1, 2]

    def test_keyed_by_actor(self) -> None:
        """Failures of other actors do not count."""
        docs = [mfa_failure(0, "00uA"), mfa_failure(1, "00uB"), mfa_failure(2, "00uA")]
        assert counts("okta.mfa.failure.countlast[300]", docs) == [1, 1, 2]

    def test_only_the_named_event_kinds(self) -> None:
        """Successes and other types have no counter; a failure has no deny counter and vice versa."""
        deny = log_event("user.mfa.okta_verify.deny_push", offset_ms=1000, result="FAILURE")
        success = log_event("user.authentication.auth_via_mfa", offset_ms=2000, result="SUCCESS")
        docs = [mfa_failure(0), deny, success, FULL_EVENT]
        assert counts("okta.mfa.failure.countlast[300]", docs) == [1, None, None, None]
        assert counts("okta.mfa.deny.countlast[300]", docs) == [None, 1, None, None]

    def test_state_spans_batches(self) -> None:
        """The counts carry over from one batch to the next."""
        ex = extractor()
        assert counts("okta.mfa.failure.countlast[300]", [mfa_failure(0), mfa_failure(1)], ex) == [1, 2]
        assert counts("okta.mfa.failure.countlast[300]", [mfa_failure(2)], ex) == [3]

    def test_stamps_per_key_are_bounded(self) -> None:
        """With cache_usermaxsize 2 only the two newest times are kept."""
        docs = [mfa_failure(0), mfa_failure(1), mfa_failure(2)]
        assert counts("okta.mfa.failure.countlast[300]", docs, extractor(cache_usermaxsize=2)) == [1, 2, 2]

    def test_keys_expire_after_cache_expiration(self) -> None:
        """A key not updated for cache_expiration seconds of event time starts over."""
        docs = [mfa_failure(0), mfa_failure(30), mfa_failure(91), mfa_failure(100)]
        assert counts("okta.mfa.failure.countlast[300]", docs, extractor(cache_expiration=60)) == [1, 2, 1, 2]
        assert counts("okta.mfa.failure.countlast[300]", docs, extractor()) == [1, 2, 3, 4]


class TestMfaWindows:
    def test_least_recently_updated_key_is_evicted(self) -> None:
        """Beyond max_keys, the key updated longest ago is dropped."""
        windows = MfaWindows(ttl_seconds=1000, max_stamps=10, max_keys=2)
        windows.record(("t", "a"), 1 * S)
        windows.record(("t", "b"), 2 * S)
        windows.record(("t", "a"), 3 * S)
        windows.record(("t", "c"), 4 * S)
        assert len(windows) == 2
        assert windows.record(("t", "b"), 5 * S) == (5 * S,)
        assert windows.record(("t", "c"), 6 * S) == (4 * S, 6 * S)

    def test_expired_keys_are_swept(self) -> None:
        """Keys older than the TTL (against the newest event time) leave the cache."""
        windows = MfaWindows(ttl_seconds=10, max_stamps=10)
        for i, actor in enumerate("abc"):
            windows.record(("t", actor), i * S)
        windows.record(("t", "d"), 11 * S + 1)
        assert len(windows) == 2  # a (0 s) and b (1 s) expired; c (2 s) and d remain

    def test_count_within(self) -> None:
        """count_within counts times in (t - N s, t]."""
        assert count_within((0, 5 * S, 10 * S, 20 * S), 10 * S, 10) == 2


def test_payload_json_is_the_stored_event() -> None:
    """json.value reads any key of the stored API object, also keys upstream drops (lon, request)."""
    assert value("json.value[/client/geographicalContext/geolocation/lon]", FULL_EVENT) == "4.8357"
    assert json.loads(value("json.value[/request/ipChain/0]", FULL_EVENT)) == FULL_EVENT["request"]["ipChain"][0]
