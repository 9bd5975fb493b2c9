"""Fields of the `okta` source (the okta plugin's): one Okta System Log event (a LogEvent) per plugin event.

The table follows the okta plugin 0.12.0 field list in its order. Every field is text except the AS number and
the two MFA counters. Most fields are always present, as "" (or "0" for coordinates, 0 for the AS number) when
the event lacks the value; the app, target and counter fields are absent when the event has nothing to give.
"""

from __future__ import annotations

from rules.fields.base import FieldClass, FieldType
from rules.fields.plugin import plugin_classes
from rules.fields.table import row

SOURCE = "okta"

T = FieldType


def _r(name: str, type_: FieldType, description: str, flags: str = ""):
    return row(name, type_, description, flags, source=SOURCE)


_OKTA_FIELDS = (
    _r("okta.evt.type", T.CHARBUF, "The event type, e.g. user.session.start (eventType)."),
    _r("okta.evt.legacytype", T.CHARBUF, "The event type of Okta's older API, if any (legacyEventType)."),
    _r("okta.severity", T.CHARBUF, "Severity Okta gives the event: DEBUG, INFO, WARN or ERROR."),
    _r("okta.message", T.CHARBUF, "The human-readable description of the event (displayMessage)."),
    _r("okta.published", T.CHARBUF, "When Okta recorded the event, as the RFC 3339 text it sent."),
    _r("okta.org", T.CHARBUF, "The Okta organization the sensor polls (from the configuration, not the event)."),
    _r("okta.app", T.CHARBUF, "The application named in a request URI of the form /app/<name>/...; absent for "
                              "other URIs."),
    _r("okta.requesturi", T.CHARBUF, "The URI of the request that caused the event (debug data)."),
    _r("okta.behaviors", T.CHARBUF, "The behavior detections Okta evaluated for the sign-in (debug data)."),
    _r("okta.logonlysecuritydata", T.CHARBUF, "Risk and behavior data Okta logs without acting on it "
                                              "(debug data)."),
    _r("okta.actor.id", T.CHARBUF, "ID of the actor: who or what performed the action."),
    _r("okta.actor.Type", T.CHARBUF, "Kind of actor, e.g. User or PublicClientApp (note the capital T)."),
    _r("okta.actor.alternateid", T.CHARBUF, "Alternate ID of the actor, usually a login or email address."),
    _r("okta.actor.name", T.CHARBUF, "Display name of the actor."),
    _r("okta.client.zone", T.CHARBUF, "The network zone the client's address fell in."),
    _r("okta.client.ip", T.CHARBUF, "IP address of the client that made the request."),
    _r("okta.client.device", T.CHARBUF, "Kind of client device, e.g. Computer or Mobile."),
    _r("okta.client.id", T.CHARBUF, "ID of the client application, when there is one."),
    _r("okta.client.geo.city", T.CHARBUF, "City of the client's address."),
    _r("okta.client.geo.state", T.CHARBUF, "State or region of the client's address."),
    _r("okta.client.geo.country", T.CHARBUF, "Country of the client's address."),
    _r("okta.client.geo.postalcode", T.CHARBUF, "Postal code of the client's address."),
    _r("okta.client.geo.lat", T.CHARBUF, "Latitude of the client's address as number text (0 when unknown)."),
    _r("okta.client.geo.lon", T.CHARBUF, "Longitude of the client's address as number text (0 when unknown)."),
    _r("okta.useragent.os", T.CHARBUF, "Operating system named by the client's user agent."),
    _r("okta.useragent.browser", T.CHARBUF, "Browser named by the client's user agent."),
    _r("okta.useragent.raw", T.CHARBUF, "The client's User-Agent header as sent."),
    _r("okta.result", T.CHARBUF, "Outcome of the action: SUCCESS, FAILURE, SKIPPED, ALLOW, DENY, CHALLENGE..."),
    _r("okta.reason", T.CHARBUF, "Why the action had that outcome."),
    _r("okta.transaction.id", T.CHARBUF, "ID of the transaction (request or job) the event belongs to."),
    _r("okta.transaction.type", T.CHARBUF, "Kind of transaction: WEB or JOB."),
    _r("okta.principal.id", T.CHARBUF, "ID of the original principal, when one acts on behalf of another."),
    _r("okta.principal.alternateid", T.CHARBUF, "Alternate ID of the original principal."),
    _r("okta.principal.type", T.CHARBUF, "Kind of the original principal."),
    _r("okta.principal.name", T.CHARBUF, "Display name of the original principal."),
    _r("okta.authentication.step", T.CHARBUF, "Step of the authentication flow the event records, as number text."),
    _r("okta.authentication.sessionid", T.CHARBUF, "ID of the session the authentication belongs to."),
    _r("okta.authentication.provider", T.CHARBUF, "System that authenticated, e.g. OKTA_AUTHENTICATION_PROVIDER."),
    _r("okta.authentication.credentialprovider", T.CHARBUF, "Provider of the credential used, e.g. OKTA_CREDENTIAL_PROVIDER."),
    _r("okta.security.asnumber", T.UINT64, "Autonomous system number of the client's address (0 when unknown)."),
    _r("okta.security.asorg", T.CHARBUF, "Organization owning that autonomous system."),
    _r("okta.security.isp", T.CHARBUF, "Internet service provider of the client's address."),
    _r("okta.security.domain", T.CHARBUF, "Domain name of the client's address."),
    _r("okta.security.isproxy", T.CHARBUF, "Whether the client came through a known proxy: true or false."),
    _r("okta.target.user.id", T.CHARBUF, "ID of the User target of the action; absent without one."),
    _r("okta.target.user.alternateid", T.CHARBUF, "Alternate ID of the User target; absent without one."),
    _r("okta.target.user.name", T.CHARBUF, "Display name of the User target; absent without one."),
    _r("okta.target.group.id", T.CHARBUF, "ID of the UserGroup target; absent without one."),
    _r("okta.target.group.alternateid", T.CHARBUF, "Alternate ID of the UserGroup target; absent without one."),
    _r("okta.target.group.name", T.CHARBUF, "Display name of the UserGroup target; absent without one."),
    _r("okta.target.app.alternateid", T.CHARBUF, "Alternate ID of the AppInstance target; absent without one."),
    _r("okta.targets.displayName", T.CHARBUF, "Display names of all targets as (a,b,c); with an index, the one "
                                              "at that position; absent without targets.", "arg? index"),
    _r("okta.mfa.failure.countlast", T.UINT64, "On a failed MFA verification: how many the same actor failed in "
                                               "the last N seconds, this one included.", "arg index"),
    _r("okta.mfa.deny.countlast", T.UINT64, "On a denied Okta Verify push: how many the same actor denied in "
                                            "the last N seconds, this one included.", "arg index"),
)

CLASSES: tuple[FieldClass, ...] = (
    *plugin_classes(SOURCE),
    FieldClass("okta", SOURCE, "Fields of an Okta System Log event.", _OKTA_FIELDS),
)
