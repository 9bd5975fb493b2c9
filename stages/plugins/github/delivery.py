"""One webhook delivery: is it signed with our secret, and what JSON document does it carry.

GitHub signs each delivery with the webhook's secret: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
body>`. It also sends the older SHA-1 header `X-Hub-Signature`, but always beside the SHA-256 one, so a request
signed with SHA-1 only did not come from GitHub as configured and is refused: accepting it would let a weaker
MAC stand in for the one GitHub documents.

The body is the event as JSON, either raw (`application/json`) or as the `payload` field of a form
(`application/x-www-form-urlencoded`), as chosen in the webhook's settings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

SIGNATURE_HEADER = "X-Hub-Signature-256"
SHA1_SIGNATURE_HEADER = "X-Hub-Signature"
EVENT_HEADER = "X-GitHub-Event"
JSON_MEDIA = "application/json"
FORM_MEDIA = "application/x-www-form-urlencoded"


class BadDelivery(ValueError):
    """A signed delivery whose body or headers cannot be read; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def signature(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends for this body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_problem(secret: bytes, body: bytes, headers: Mapping[str, str]) -> str | None:
    """Why the delivery's signature is not acceptable, or None when it is."""
    given = headers.get(SIGNATURE_HEADER)
    if given is None:
        if SHA1_SIGNATURE_HEADER in headers:
            return f"signed with SHA-1 only ({SHA1_SIGNATURE_HEADER}); {SIGNATURE_HEADER} is required"
        return f"no {SIGNATURE_HEADER} header"
    # Constant-time comparison of bytes: the header may hold any text, the digest is hex.
    if not hmac.compare_digest(signature(secret, body).encode(), given.strip().lower().encode(errors="replace")):
        return f"{SIGNATURE_HEADER} does not match the body"
    return None


def event_type(headers: Mapping[str, str]) -> str:
    """The event name GitHub puts in X-GitHub-Event (push, repository, ping...)."""
    value = headers.get(EVENT_HEADER, "").strip()
    if not value:
        raise BadDelivery(f"no {EVENT_HEADER} header")
    return value


def document(media_type: str, body: bytes) -> dict[str, Any]:
    """The event's JSON object from a body of the given media type (without parameters such as charset)."""
    if media_type == JSON_MEDIA:
        text: str | bytes = body
    elif media_type == FORM_MEDIA:
        text = _form_payload(body)
    else:
        raise BadDelivery(f"content type {media_type!r} is neither {JSON_MEDIA} nor {FORM_MEDIA}", status=415)
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as err:  # includes UnicodeDecodeError
        raise BadDelivery(f"body is not JSON: {err}") from err
    if not isinstance(doc, dict):
        raise BadDelivery("the event is not a JSON object")
    return doc


def _form_payload(body: bytes) -> str:
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError) as err:
        raise BadDelivery(f"form body cannot be decoded: {err}") from err
    values = fields.get("payload")
    if not values:
        raise BadDelivery("form body has no payload field")
    return values[0]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
