"""SYNTHETIC Okta System Log events for the okta tests.

No real Okta event exists in the shared test data (see shared/peer/sample-events/okta/NOTE.md), so these are
written by us from the shape Okta's System Log API documents for a LogEvent (uuid, published, eventType,
actor, client, outcome, target, transaction, debugContext, authenticationContext, securityContext...). Every
value is invented: documentation IP ranges (RFC 5737), `.test` domains, a private AS number.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from stages.plugins.okta.poller import published_ns, rfc3339

BASE_PUBLISHED = "2024-03-05T10:15:30.250Z"
BASE_NS = published_ns(BASE_PUBLISHED)

FULL_EVENT: dict[str, Any] = {
    "uuid": "5f0c7a2e-synthetic-0001",
    "published": BASE_PUBLISHED,
    "eventType": "user.session.start",
    "version": "0",
    "severity": "INFO",
    "legacyEventType": "core.user_auth.login_success",
    "displayMessage": "User login to Okta",
    "actor": {"id": "00usynthADA001", "type": "User", "alternateId": "ada@example.test",
              "displayName": "Ada Example", "detailEntry": None},
    "client": {
        "userAgent": {"rawUserAgent": "Mozilla/5.0 (X11; Linux x86_64) SyntheticBrowser/1.0", "os": "Linux",
                      "browser": "CHROME"},
        "zone": "null",
        "device": "Computer",
        "id": None,
        "ipAddress": "198.51.100.7",
        "geographicalContext": {"city": "Lyon", "state": "Auvergne-Rhone-Alpes", "country": "France",
                                "postalCode": "69001", "geolocation": {"lat": 45.764, "lon": 4.8357}},
    },
    "device": None,
    "authenticationContext": {"authenticationProvider": "OKTA_AUTHENTICATION_PROVIDER",
                              "credentialProvider": "OKTA_CREDENTIAL_PROVIDER", "credentialType": "PASSWORD",
                              "issuer": None, "interface": None, "authenticationStep": 0,
                              "externalSessionId": "102synthSESSION01"},
    "outcome": {"result": "SUCCESS", "reason": None},
    "securityContext": {"asNumber": 64500, "asOrg": "example transit", "isp": "example isp",
                        "domain": "example.test", "isProxy": False},
    "debugContext": {"debugData": {
        "requestUri": "/app/synthapp_saml_1/exk1synthAPP/sso/saml",
        "behaviors": "{New Geo-Location=NEGATIVE, New Device=POSITIVE, New IP=NEGATIVE}",
        "logOnlySecurityData": "{\"risk\":{\"level\":\"LOW\"},\"behaviors\":{\"New Device\":\"POSITIVE\"}}",
        "originalPrincipal": {"id": "00usynthADMIN1", "type": "User", "alternateId": "admin@example.test",
                              "displayName": "Admin Example"},
    }},
    "transaction": {"type": "WEB", "id": "YsynthTX0001", "detail": {}},
    "request": {"ipChain": [{"ip": "198.51.100.7", "version": "V4", "source": None}]},
    "target": [
        {"id": "00usynthBOB001", "type": "User", "alternateId": "bob@example.test", "displayName": "Bob Example",
         "detailEntry": None},
        {"id": "00gsynthGRP001", "type": "UserGroup", "alternateId": "engineering",
         "displayName": "Engineering", "detailEntry": None},
        {"id": "0oasynthAPP001", "type": "AppInstance", "alternateId": "Synthetic SAML App",
         "displayName": "Synthetic SAML App", "detailEntry": None},
    ],
}

MINIMAL_EVENT: dict[str, Any] = {
    "uuid": "5f0c7a2e-synthetic-0002",
    "published": "2024-03-05T10:15:31.000Z",
    "eventType": "system.org.rate_limit.violation",
    "version": "0",
    "severity": "WARN",
    "displayMessage": "Rate limit violation",
    "actor": {"id": "00usynthADA001", "type": "User"},
    "outcome": {"result": "DENY"},
}


def log_event(event_type: str, *, offset_ms: int = 0, actor_id: str = "00usynthADA001",
              result: str = "SUCCESS", reason: str | None = None, uuid: str | None = None) -> dict[str, Any]:
    """FULL_EVENT with another type, actor and outcome, published `offset_ms` after BASE_PUBLISHED."""
    event = copy.deepcopy(FULL_EVENT)
    event["eventType"] = event_type
    event["published"] = rfc3339(BASE_NS + offset_ms * 1_000_000)
    event["uuid"] = uuid or f"synthetic-{event_type}-{actor_id}-{offset_ms}"
    event["actor"]["id"] = actor_id
    event["outcome"] = {"result": result, "reason": reason}
    return event


def payload(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()
