"""Field values of CloudTrail records (source `aws_cloudtrail`), with the cloudtrail plugin's semantics.

Each event is one CloudTrail record (one JSON object). The rules of presence follow upstream:

- a `ct.*` string field reads a JSON string; a key that is there but holds something else (a number, an
  object, null) gives "" and still counts as present; a missing key is absent;
- `ct.error` is absent for a successful call, which is what the rules' `not ct.error exists` relies on;
- uint64 fields (`s3.bytes*`) take integers, truncate floats and count anything else as 0.

Where upstream has a bug, the evidently intended behaviour is implemented (docs/sources-cloudtrail.md):
`ct.request.documentname` reads `requestParameters.documentName` (upstream declares it but never extracts
it); the PutBucketPublicAccessBlock part of `ct.info` reads the four flags from the request's
`PublicAccessBlockConfiguration` (upstream reads them from the record's top level, so always `false`); and
`ct.info`'s message for a missing `sourceIPAddress` names that key (upstream's names `eventSource`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from stages.plugins.base import FieldExtractor, FieldFn, PluginEvent

_MISSING: Any = object()
_AMAZONAWS = ".amazonaws.com"
_UINT64_MAX = (1 << 64) - 1


# ---- reading the record --------------------------------------------------------------------------------

def _get(doc: Any, *keys: str) -> Any:
    """The value under nested object keys; `_MISSING` if a key is missing or a step is not an object."""
    value = doc
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _string(value: Any) -> str | None:
    """A value as a string field: absent if missing, "" if present but not a string (upstream's rule)."""
    if value is _MISSING:
        return None
    return value if isinstance(value, str) else ""


def _json(value: Any) -> str | None:
    """A value as compact JSON text; absent if missing."""
    if value is _MISSING:
        return None
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _flag(value: Any) -> str | None:
    """A boolean key as "true"/"false" (anything but JSON true is "false"); absent if missing."""
    if value is _MISSING:
        return None
    return "true" if value is True else "false"


def _uint64(value: Any) -> int:
    """A byte count: integers as they are, floats truncated, anything else 0; clamped to uint64."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if isinstance(value, float) and not math.isfinite(value):  # Python's JSON reader accepts NaN, Infinity
        return 0 if math.isnan(value) or value < 0 else _UINT64_MAX
    return min(max(int(value), 0), _UINT64_MAX)


def _record(event: PluginEvent) -> dict[str, Any] | None:
    doc = event.doc
    return doc if isinstance(doc, dict) else None


def _on_record(fn: Callable[[dict[str, Any]], Any]) -> FieldFn:
    """A field function reading the parsed record; every field is absent when the payload is no object."""
    def field(event: PluginEvent, _arg: str | None) -> Any:
        record = _record(event)
        return None if record is None else fn(record)
    return field


def _string_at(*keys: str) -> FieldFn:
    return _on_record(lambda record: _string(_get(record, *keys)))


# ---- ct.* ----------------------------------------------------------------------------------------------

def short_source(record: dict[str, Any]) -> str | None:
    source = _string(_get(record, "eventSource"))
    if source is not None and len(source) > len(_AMAZONAWS) and source.endswith(_AMAZONAWS):
        return source[: -len(_AMAZONAWS)]
    return source


def user(record: dict[str, Any]) -> str | None:
    """`ct.user`: the name that fits the identity type; absent for unknown types or a missing name."""
    identity_type = _get(record, "userIdentity", "type")
    if not isinstance(identity_type, str):
        return None
    if identity_type in ("Root", "IAMUser"):
        return _string(_get(record, "userIdentity", "userName"))
    if identity_type == "AWSService":
        return _string(_get(record, "userIdentity", "invokedBy"))
    if identity_type == "AssumedRole":
        role = _string(_get(record, "userIdentity", "sessionContext", "sessionIssuer", "userName"))
        return "AssumedRole" if role is None else role
    if identity_type in ("AWSAccount", "FederatedUser"):
        return identity_type
    return None


def original_user(record: dict[str, Any]) -> str | None:
    """`ct.originaluser`: an assumed role's session name (arn `…:assumed-role/<role>/<session>` or
    principalId `<id>:<session>`); the user name for every other identity type."""
    if _get(record, "userIdentity", "type") != "AssumedRole":
        return _string(_get(record, "userIdentity", "userName"))
    arn = _get(record, "userIdentity", "arn")
    if isinstance(arn, str) and len(parts := arn.split("/")) == 3:
        return parts[2]
    principal = _get(record, "userIdentity", "principalId")
    if isinstance(principal, str) and len(parts := principal.split(":")) == 2:
        return parts[1]
    return None


def account_id(record: dict[str, Any]) -> str | None:
    value = _get(record, "userIdentity", "accountId")
    return _string(_get(record, "recipientAccountId") if value is _MISSING else value)


def resources(record: dict[str, Any]) -> str | None:
    """Each `resources[]` item as compact JSON, comma-joined; absent when there are none."""
    items = _get(record, "resources")
    if not isinstance(items, list) or not items:
        return None
    return ",".join(json.dumps(item, separators=(",", ":"), ensure_ascii=False) for item in items)


def info(record: dict[str, Any]) -> str:
    """`ct.info`: `<user> via <ip> [!]<→|←> <eventName>` and, when known, S3 size, URI, bucket, key or host."""
    who, where, name = user(record), _string(_get(record, "sourceIPAddress")), _string(_get(record, "eventName"))
    if who is None:
        return "<invalid cloudtrail event: userIdentity field missing>"
    if where is None:
        return "<invalid cloudtrail event: sourceIPAddress field missing>"
    if name is None:
        return "<invalid cloudtrail event: eventName field missing>"
    error = "!" if _get(record, "errorCode") is not _MISSING else ""
    direction = "→" if _flag(_get(record, "readOnly")) == "false" else "←"
    text = f"{who} {error}{direction} {name}" if who == where else f"{who} via {where} {error}{direction} {name}"
    if name == "PutBucketPublicAccessBlock":
        return text + _public_access_block(record)
    return text + _s3_details(record)


def _public_access_block(record: dict[str, Any]) -> str:
    config = _get(record, "requestParameters", "PublicAccessBlockConfiguration")
    if not isinstance(config, dict):
        return ""
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    return "".join(f" {flag}={'true' if config.get(flag) is True else 'false'}" for flag in flags) + " "


def _s3_details(record: dict[str, Any]) -> str:
    size = s3_bytes(record)
    text = "" if size is None else f" Size={size}"
    for label, value in (("URI", s3_uri(record)), ("Bucket", _string(_get(record, "requestParameters", "bucketName"))),
                         ("Key", _string(_get(record, "requestParameters", "key"))),
                         ("Host", _string(_get(record, "requestParameters", "Host")))):
        if value is not None:
            return f"{text} {label}={value}"
    return text


def summary(record: dict[str, Any] | None) -> str:
    """`evt.plugininfo`: `<region> [<user> ]<short source> <eventName> <ct.info>`."""
    if record is None:
        return "<invalid JSON: the event is not a JSON object>"
    for key in ("eventSource", "awsRegion", "eventName"):
        if not isinstance(record.get(key), str):
            return f"<invalid JSON: event did not contain {key}>"
    who = user(record)
    who_text = f" {who}" if who else ""
    return f"{record['awsRegion']}{who_text} {short_source(record)} {record['eventName']} {info(record)}"


# ---- s3.* ----------------------------------------------------------------------------------------------

def s3_uri(record: dict[str, Any]) -> str | None:
    bucket, key = _get(record, "requestParameters", "bucketName"), _get(record, "requestParameters", "key")
    if isinstance(bucket, str) and isinstance(key, str):
        return f"s3://{bucket}/{key}"
    return None


def _transferred(record: dict[str, Any], direction: str) -> int | None:
    value = _get(record, "additionalEventData", f"bytesTransferred{direction}")
    return None if value is _MISSING else _uint64(value)


def s3_bytes(record: dict[str, Any]) -> int | None:
    sizes = [size for size in (_transferred(record, "In"), _transferred(record, "Out")) if size is not None]
    return min(sum(sizes), _UINT64_MAX) if sizes else None


def _operation_count(matches: Callable[[str | None], bool]) -> FieldFn:
    return _on_record(lambda record: 1 if matches(_string(_get(record, "eventName"))) else None)


# ---- ec2.* ---------------------------------------------------------------------------------------------

def ec2_name(record: dict[str, Any]) -> str | None:
    """The `Name` tag of the instance tag specifications of a request (the last one wins, as upstream)."""
    items = _get(record, "requestParameters", "tagSpecificationSet", "items")
    name = ""
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict) or item.get("resourceType") != "instance":
            continue
        tags = item.get("tags")
        for tag in tags if isinstance(tags, list) else ():
            if isinstance(tag, dict) and tag.get("key") == "Name":
                name = _string(tag.get("value", _MISSING)) or ""
                break
    return name or None


def ec2_image_ids(record: dict[str, Any]) -> list[str]:
    """Image IDs of the instances in the response; else the image the request names (RunInstances,
    DescribeFastLaunchImages, RequestSpotInstances shapes)."""
    items = _get(record, "responseElements", "instancesSet", "items")
    found = [item["imageId"] for item in (items if isinstance(items, list) else ())
             if isinstance(item, dict) and isinstance(item.get("imageId"), str) and item["imageId"]]
    if found:
        return found
    for value in (_get(record, "requestParameters", "imageId"),
                  _get(record, "requestParameters", "DescribeFastLaunchImagesRequest", "ImageId"),
                  _get(record, "requestParameters", "launchSpecification", "imageId")):
        ids = _image_ids_in(value)
        if ids:
            return ids
    return []


def _image_ids_in(value: Any) -> list[str]:
    """`ami-…` as text, as `{"content": "ami-…"}` (the XML-derived request shape) or a list of those."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, dict):
        return _image_ids_in(value.get("content"))
    if isinstance(value, list):
        return [image for item in value for image in _image_ids_in(item)]
    return []


def _image_ids(event: PluginEvent, arg: str | None) -> list[str] | None:
    """`ec2.imageids` and `ec2.imageids[N]` (element N as a one-element list: the column stays a list)."""
    record = _record(event)
    ids = [] if record is None else ec2_image_ids(record)
    if arg is None:
        return ids or None
    index = int(arg) if arg.isdigit() else -1
    return [ids[index]] if 0 <= index < len(ids) else None


# ---- the extractor -------------------------------------------------------------------------------------

_STRING_PATHS: dict[str, tuple[str, ...]] = {
    "ct.id": ("eventID",), "ct.name": ("eventName",), "ct.src": ("eventSource",), "ct.region": ("awsRegion",),
    "ct.srcip": ("sourceIPAddress",), "ct.useragent": ("userAgent",), "ct.time": ("eventTime",),
    "ct.error": ("errorCode",), "ct.errormessage": ("errorMessage",),
    "ct.user.identitytype": ("userIdentity", "type"), "ct.user.principalid": ("userIdentity", "principalId"),
    "ct.user.arn": ("userIdentity", "arn"),
    "ct.request.availabilityzone": ("requestParameters", "availabilityZone"),
    "ct.request.cluster": ("requestParameters", "cluster"),
    "ct.request.functionname": ("requestParameters", "functionName"),
    "ct.request.groupname": ("requestParameters", "groupName"),
    "ct.request.host": ("requestParameters", "Host"),
    "ct.request.name": ("requestParameters", "name"),
    "ct.request.policy": ("requestParameters", "policy"),
    "ct.request.reason": ("requestParameters", "reason"),
    "ct.request.target": ("requestParameters", "target"),
    "ct.request.serialnumber": ("requestParameters", "serialNumber"),
    "ct.request.servicename": ("requestParameters", "serviceName"),
    "ct.request.subnetid": ("requestParameters", "subnetId"),
    "ct.request.taskdefinition": ("requestParameters", "taskDefinition"),
    "ct.request.username": ("requestParameters", "userName"),
    "ct.request.documentname": ("requestParameters", "documentName"),
    "ct.response.subnetid": ("responseElements", "subnetId"),
    "ct.response.reservationid": ("responseElements", "reservationId"),
    "ct.requestid": ("requestID",), "ct.eventtype": ("eventType",), "ct.apiversion": ("apiVersion",),
    "ct.recipientaccountid": ("recipientAccountId",), "ct.sharedeventid": ("sharedEventID",),
    "ct.vpcendpointid": ("vpcEndpointId",), "ct.eventcategory": ("eventCategory",),
    "ct.serviceeventdetails": ("serviceEventDetails",), "ct.edgedevicedetails": ("edgeDeviceDetails",),
    "ct.addendum.reason": ("addendum", "reason"), "ct.addendum.updatedfields": ("addendum", "updatedFields"),
    "ct.addendum.originalrequestid": ("addendum", "originalRequestID"),
    "ct.addendum.originaleventid": ("addendum", "originalEventID"),
    "ct.tlsdetails.tlsversion": ("tlsDetails", "tlsVersion"),
    "ct.tlsdetails.ciphersuite": ("tlsDetails", "cipherSuite"),
    "ct.tlsdetails.clientprovidedhostheader": ("tlsDetails", "clientProvidedHostHeader"),
    "s3.bucket": ("requestParameters", "bucketName"), "s3.key": ("requestParameters", "key"),
    "ecr.repository": ("requestParameters", "repositoryName"), "ecr.imagetag": ("requestParameters", "imageTag"),
    "iam.role": ("requestParameters", "roleName"), "iam.policy": ("requestParameters", "policyName"),
}

_JSON_KEYS = {"ct.request": "requestParameters", "ct.response": "responseElements",
              "ct.additionaleventdata": "additionalEventData"}

_FLAG_KEYS = {"ct.managementevent": "managementEvent", "ct.readonly": "readOnly",
              "ct.sessioncredentialfromconsole": "sessionCredentialFromConsole"}


def _first_image_id(event: PluginEvent, _arg: str | None) -> str | None:
    ids = _image_ids(event, None)
    return ids[0] if ids else None


class CloudTrailExtractor(FieldExtractor):
    """Fields of CloudTrail records: every `ct.*`, `s3.*`, `ec2.*`, `ecr.*` and `iam.*` field."""

    source = "aws_cloudtrail"
    plugin = "cloudtrail"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields = {name: _string_at(*path) for name, path in _STRING_PATHS.items()}
        self.fields.update({name: _on_record(lambda r, key=key: _json(_get(r, key))) for name, key in _JSON_KEYS.items()})
        self.fields.update({name: _on_record(lambda r, key=key: _flag(_get(r, key))) for name, key in _FLAG_KEYS.items()})
        self.fields.update({
            "ct.shortsrc": _on_record(short_source),
            "ct.user": _on_record(user),
            "ct.originaluser": _on_record(original_user),
            "ct.user.accountid": _on_record(account_id),
            "ct.info": _on_record(info),
            "ct.resources": _on_record(resources),
            "s3.uri": _on_record(s3_uri),
            "s3.bytes": _on_record(s3_bytes),
            "s3.bytes.in": _on_record(lambda r: _transferred(r, "In")),
            "s3.bytes.out": _on_record(lambda r: _transferred(r, "Out")),
            "s3.cnt.get": _operation_count(lambda name: name == "GetObject"),
            "s3.cnt.put": _operation_count(lambda name: name == "PutObject"),
            "s3.cnt.other": _operation_count(lambda name: name not in ("GetObject", "PutObject")),
            "ec2.name": _on_record(ec2_name),
            "ec2.imageids": _image_ids,
            "ec2.imageid": _first_image_id,
        })

    def summary(self, event: PluginEvent) -> str:
        return summary(_record(event))
