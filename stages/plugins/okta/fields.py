"""The okta plugin's fields, read from one Okta System Log event (a LogEvent object as the API returns it).

Upstream decodes each event into a fixed Go struct, so a key it models but the event lacks reads as "" (text),
0 (the AS number) or "0" (coordinates), and the field is present; only `okta.app`, the target fields,
`okta.targets.displayName` and the MFA counters can be absent. A payload that is not a JSON object has no
okta fields at all (upstream's decoding fails).

Deliberate differences, each an upstream bug fixed the evident way (no shipped rule reads these fields, except
the MFA counters, whose rules now report the right thing):
- `okta.client.geo.lon` is the longitude; upstream's struct tag is misspelled and it always reads 0.
- `okta.authentication.step` is the step number as text and `okta.security.asnumber` the number; upstream
  hands Go ints to a string and a uint64 field, which the plugin SDK rejects.
- `okta.security.isproxy` is "true"/"false"; upstream decodes Okta's boolean into a string.
- `okta.mfa.failure.countlast[N]` is set only on failed MFA verifications and `okta.mfa.deny.countlast[N]`
  only on denied pushes; upstream computes both names identically on both kinds, so with Falco's default
  first-match three denied pushes were reported as "Too many failed MFA".
Values of an unexpected JSON type are rendered as the json plugin does (compact JSON text) rather than
dropping the whole event as Go's decoder would.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from stages.plugins.base import FieldExtractor, FieldFn, PluginEvent
from stages.plugins.okta.mfa import MfaWindows, count_within

if TYPE_CHECKING:
    from config.schema import OktaSource

MFA_VERIFY = "user.authentication.auth_via_mfa"
DENY_PUSH = "user.mfa.okta_verify.deny_push"
FAILURE, DENY = "failure", "deny"

# Defaults of the plugin's init config (and of config.schema.OktaSource).
CACHE_EXPIRATION_S = 84600
CACHE_USER_MAX_SIZE = 200

# (field, JSON path) of the plain text fields: present as "" when the event lacks the key.
_TEXT_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("okta.evt.type", ("eventType",)),
    ("okta.evt.legacytype", ("legacyEventType",)),
    ("okta.severity", ("severity",)),
    ("okta.message", ("displayMessage",)),
    ("okta.published", ("published",)),
    ("okta.requesturi", ("debugContext", "debugData", "requestUri")),
    ("okta.behaviors", ("debugContext", "debugData", "behaviors")),
    ("okta.logonlysecuritydata", ("debugContext", "debugData", "logOnlySecurityData")),
    ("okta.actor.id", ("actor", "id")),
    ("okta.actor.Type", ("actor", "type")),
    ("okta.actor.alternateid", ("actor", "alternateId")),
    ("okta.actor.name", ("actor", "displayName")),
    ("okta.client.zone", ("client", "zone")),
    ("okta.client.ip", ("client", "ipAddress")),
    ("okta.client.device", ("client", "device")),
    ("okta.client.id", ("client", "id")),
    ("okta.client.geo.city", ("client", "geographicalContext", "city")),
    ("okta.client.geo.state", ("client", "geographicalContext", "state")),
    ("okta.client.geo.country", ("client", "geographicalContext", "country")),
    ("okta.client.geo.postalcode", ("client", "geographicalContext", "postalCode")),
    ("okta.useragent.os", ("client", "userAgent", "os")),
    ("okta.useragent.browser", ("client", "userAgent", "browser")),
    ("okta.useragent.raw", ("client", "userAgent", "rawUserAgent")),
    ("okta.result", ("outcome", "result")),
    ("okta.reason", ("outcome", "reason")),
    ("okta.transaction.id", ("transaction", "id")),
    ("okta.transaction.type", ("transaction", "type")),
    ("okta.principal.id", ("debugContext", "debugData", "originalPrincipal", "id")),
    ("okta.principal.alternateid", ("debugContext", "debugData", "originalPrincipal", "alternateId")),
    ("okta.principal.type", ("debugContext", "debugData", "originalPrincipal", "type")),
    ("okta.principal.name", ("debugContext", "debugData", "originalPrincipal", "displayName")),
    ("okta.authentication.sessionid", ("authenticationContext", "externalSessionId")),
    ("okta.authentication.provider", ("authenticationContext", "authenticationProvider")),
    ("okta.authentication.credentialprovider", ("authenticationContext", "credentialProvider")),
    ("okta.security.asorg", ("securityContext", "asOrg")),
    ("okta.security.isp", ("securityContext", "isp")),
    ("okta.security.domain", ("securityContext", "domain")),
    ("okta.security.isproxy", ("securityContext", "isProxy")),
)

# (field, target type, key) of the target fields: the last target of that type wins; absent without one.
_TARGET_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("okta.target.user.id", "User", "id"),
    ("okta.target.user.alternateid", "User", "alternateId"),
    ("okta.target.user.name", "User", "displayName"),
    ("okta.target.group.id", "UserGroup", "id"),
    ("okta.target.group.alternateid", "UserGroup", "alternateId"),
    ("okta.target.group.name", "UserGroup", "displayName"),
    ("okta.target.app.alternateid", "AppInstance", "alternateId"),
)

_GEO = ("client", "geographicalContext", "geolocation")


# ---- reading the document ----------------------------------------------------------------------------------

def _get(doc: Any, path: tuple[str, ...]) -> Any:
    """The value at a path of object keys; None when a step is missing or not an object."""
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _text(value: Any) -> str:
    """A value as a text field: strings as they are, null/missing as "", booleans as true/false, else JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def go_float_text(value: float) -> str:
    """A float as Go's `%v` prints it: shortest digits, exponent form below 1e-4 and from 1e6 (`1e+06`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple))
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    point = len(stripped) + exponent  # where the decimal point falls in `stripped`
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = stripped[0] + ("." + stripped[1:] if len(stripped) > 1 else "")
        return f"{prefix}{mantissa}e{point - 1:+03d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{stripped}"
    if point >= len(stripped):
        return prefix + stripped + "0" * (point - len(stripped))
    return f"{prefix}{stripped[:point]}.{stripped[point:]}"


# ---- field functions ---------------------------------------------------------------------------------------

def _text_field(path: tuple[str, ...]) -> FieldFn:
    def extract(event: PluginEvent, _arg: str | None) -> str | None:
        return _text(_get(event.doc, path)) if isinstance(event.doc, dict) else None
    return extract


def _coordinate(key: str) -> FieldFn:
    def extract(event: PluginEvent, _arg: str | None) -> str | None:
        if not isinstance(event.doc, dict):
            return None
        value = _get(event.doc, (*_GEO, key))
        return go_float_text(float(value)) if _is_number(value) else "0"
    return extract


def _authentication_step(event: PluginEvent, _arg: str | None) -> str | None:
    if not isinstance(event.doc, dict):
        return None
    step = _get(event.doc, ("authenticationContext", "authenticationStep"))
    return "0" if step is None else _text(step)


def _as_number(event: PluginEvent, _arg: str | None) -> int | None:
    if not isinstance(event.doc, dict):
        return None
    number = _get(event.doc, ("securityContext", "asNumber"))
    return number if isinstance(number, int) and not isinstance(number, bool) and 0 <= number < 1 << 64 else 0


def _app(event: PluginEvent, _arg: str | None) -> str | None:
    """The segment after `/app/` in the request URI (`/app/<name>/...`); absent for other URIs."""
    uri = _text(_get(event.doc, ("debugContext", "debugData", "requestUri")))
    return uri.split("/")[2] if uri.startswith("/app/") else None


def _targets(event: PluginEvent) -> list[dict]:
    targets = _get(event.doc, ("target",))
    return [t for t in targets if isinstance(t, dict)] if isinstance(targets, list) else []


def _target_field(target_type: str, key: str) -> FieldFn:
    def extract(event: PluginEvent, _arg: str | None) -> str | None:
        value = None
        for target in _targets(event):
            if target.get("type") == target_type:
                value = _text(target.get(key))
        return value
    return extract


def _target_names(event: PluginEvent, arg: str | None) -> str | None:
    """All target display names as `(a,b)`, or the one at index `arg`; absent without targets."""
    names = [_text(t.get("displayName")) for t in _targets(event)]
    if not names:
        return None
    if arg is None:
        return "(" + ",".join(names) + ")"
    index = int(arg)
    return names[index] if index < len(names) else None


def mfa_kind(doc: Any) -> str | None:
    """FAILURE for a failed MFA verification, DENY for a denied Okta Verify push, else None."""
    event_type = _get(doc, ("eventType",))
    if event_type == DENY_PUSH:
        return DENY
    if event_type == MFA_VERIFY and _get(doc, ("outcome", "result")) == "FAILURE":
        return FAILURE
    return None


# ---- the extractor -----------------------------------------------------------------------------------------

class OktaExtractor(FieldExtractor):
    """Fields of the `okta` source. `section` (an OktaSource) gives the organization and the MFA cache bounds."""

    source: ClassVar[str] = "okta"
    plugin: ClassVar[str] = "okta"
    stateful: ClassVar[frozenset[str]] = frozenset({"okta.mfa.failure.countlast", "okta.mfa.deny.countlast"})

    def __init__(self, *, section: OktaSource | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.organization = section.organization if section is not None else ""
        self.windows = MfaWindows(
            ttl_seconds=section.cache_expiration if section is not None else CACHE_EXPIRATION_S,
            max_stamps=section.cache_usermaxsize if section is not None else CACHE_USER_MAX_SIZE,
        )
        # Per event number of the current batch: (kind, the key's event times once this event was recorded).
        self._mfa: dict[int, tuple[str, tuple[int, ...]]] = {}
        self.fields = self._field_functions()

    def _field_functions(self) -> dict[str, FieldFn]:
        fields: dict[str, FieldFn] = {name: _text_field(path) for name, path in _TEXT_FIELDS}
        fields.update({name: _target_field(kind, key) for name, kind, key in _TARGET_FIELDS})
        fields.update({
            "okta.org": lambda event, _arg: self.organization if isinstance(event.doc, dict) else None,
            "okta.app": _app,
            "okta.client.geo.lat": _coordinate("lat"),
            "okta.client.geo.lon": _coordinate("lon"),
            "okta.authentication.step": _authentication_step,
            "okta.security.asnumber": _as_number,
            "okta.targets.displayName": _target_names,
            "okta.mfa.failure.countlast": self._count_last(FAILURE),
            "okta.mfa.deny.countlast": self._count_last(DENY),
        })
        return fields

    def observe(self, events: list[PluginEvent]) -> None:
        """Record failed MFA verifications and denied pushes in event order, keeping each one's snapshot."""
        self._mfa = {}
        for event in events:
            kind = mfa_kind(event.doc)
            if kind is None:
                continue
            key = (_get(event.doc, ("eventType",)), _text(_get(event.doc, ("actor", "id"))))
            self._mfa[event.num] = (kind, self.windows.record(key, event.time_ns))

    def _count_last(self, kind: str) -> FieldFn:
        def extract(event: PluginEvent, arg: str | None) -> int | None:
            seen = self._mfa.get(event.num)
            if seen is None or seen[0] != kind or arg is None:
                return None
            return count_within(seen[1], event.time_ns, int(arg))
        return extract
