"""CloudTrail field extraction: exact values on Falco's sample records, and upstream's presence rules on
records written here (present-but-not-a-string is "", identity types, S3 sizes, image IDs, ct.info)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rules.fields import REGISTRY
from stages.plugins.base import raw_batch
from stages.plugins.cloudtrail.fields import CloudTrailExtractor
from stages.plugins.cloudtrail.logfile import events_of
from tests.conftest import SHARED
from tests.plugins.harness import events

SOURCE = "aws_cloudtrail"
SAMPLES = SHARED / "peer" / "sample-events" / "cloudtrail"
CATALOG = [info.name for c in REGISTRY.classes(SOURCE) if c.name == "cloudtrail" for info in c.fields]


def extract(payloads: list[bytes], names: list[str], times: list[int] | None = None) -> list[dict[str, Any]]:
    """Field values through the extractor's column path, one dict per event."""
    batch = CloudTrailExtractor(hostname="test-host").columns(raw_batch(SOURCE, events(payloads, times)), names)
    rows = batch.to_pylist()
    return [{name: row[name] for name in names} for row in rows]


def one(record: dict[str, Any], *names: str) -> Any:
    """The values of some fields for one record written here (a single name gives its value)."""
    values = extract([json.dumps(record).encode()], list(names))[0]
    return values[names[0]] if len(names) == 1 else values


ALICE_FIELDS: dict[str, Any] = {
    "ct.id": None, "ct.name": "StartInstances", "ct.src": "ec2.amazonaws.com", "ct.region": "us-east-2",
    "ct.srcip": "205.251.233.176", "ct.useragent": "ec2-api-tools 1.6.12.2", "ct.time": "2014-03-06T21:22:54Z",
    "ct.shortsrc": "ec2", "ct.error": None, "ct.errormessage": None, "ct.user": "Alice", "ct.originaluser": "Alice",
    "ct.user.accountid": "123456789012", "ct.user.identitytype": "IAMUser", "ct.user.principalid": "EX_PRINCIPAL_ID",
    "ct.user.arn": "arn:aws:iam::123456789012:user/Alice",
    "ct.request": '{"instancesSet":{"items":[{"instanceId":"i-ebeaf9e2"}]}}',
    "ct.response": '{"instancesSet":{"items":[{"instanceId":"i-ebeaf9e2","currentState":{"code":0,"name":"pending"},'
                   '"previousState":{"code":80,"name":"stopped"}}]}}',
    "ct.additionaleventdata": None,
    **{f"ct.request.{key}": None for key in (
        "availabilityzone", "cluster", "functionname", "groupname", "host", "name", "policy", "reason", "target",
        "serialnumber", "servicename", "subnetid", "taskdefinition", "username", "documentname")},
    "ct.response.subnetid": None, "ct.response.reservationid": None,
    "ct.info": "Alice via 205.251.233.176 ← StartInstances",
    "ct.managementevent": None, "ct.readonly": None, "ct.sessioncredentialfromconsole": None, "ct.requestid": None,
    "ct.eventtype": "AwsApiCall", "ct.apiversion": None, "ct.recipientaccountid": None, "ct.sharedeventid": None,
    "ct.vpcendpointid": None, "ct.eventcategory": None, "ct.resources": None, "ct.serviceeventdetails": None,
    "ct.edgedevicedetails": None, "ct.addendum.reason": None, "ct.addendum.updatedfields": None,
    "ct.addendum.originalrequestid": None, "ct.addendum.originaleventid": None, "ct.tlsdetails.tlsversion": None,
    "ct.tlsdetails.ciphersuite": None, "ct.tlsdetails.clientprovidedhostheader": None,
    "s3.bucket": None, "s3.key": None, "s3.uri": None, "s3.bytes": None, "s3.bytes.in": None, "s3.bytes.out": None,
    "s3.cnt.get": None, "s3.cnt.put": None, "s3.cnt.other": 1, "ec2.name": None, "ec2.imageids": None,
    "ec2.imageid": None, "ecr.repository": None, "ecr.imagetag": None, "iam.role": None, "iam.policy": None,
}


def test_the_table_lists_every_extracted_field() -> None:
    assert CATALOG == list(ALICE_FIELDS)
    assert len(CATALOG) == 73
    assert set(CloudTrailExtractor().fields) == set(CATALOG)


@pytest.mark.parametrize("sample", ["alice_start_instances.json", "alice_start_instances_bigevent.json"])
def test_sample_record_fields(sample: str) -> None:
    found = events_of((SAMPLES / sample).read_bytes())
    assert [time for time, _ in found.events] == [1394140974 * 10**9]
    names = [*CATALOG, "evt.plugininfo", "evt.time.iso8601", "json.value[/userIdentity/userName]",
             "json.value[/someDummyField]"]
    values = extract([payload for _, payload in found.events], names, [time for time, _ in found.events])[0]
    big = sample.endswith("bigevent.json")
    assert {name: values[name] for name in CATALOG} == ALICE_FIELDS
    assert values["evt.plugininfo"] == "us-east-2 Alice ec2 StartInstances Alice via 205.251.233.176 ← StartInstances"
    assert values["evt.time.iso8601"] == "2014-03-06T21:22:54.000000000+0000"
    assert values["json.value[/userIdentity/userName]"] == "Alice"
    assert values["json.value[/someDummyField]"] == ("s" * 64_737 if big else None)


def test_present_values_that_are_not_strings_read_as_empty() -> None:
    record = {"eventName": 5, "errorCode": None, "awsRegion": {"a": 1}, "userIdentity": {"type": "IAMUser",
                                                                                          "userName": ["x"]}}
    assert one(record, "ct.name", "ct.error", "ct.region", "ct.user", "ct.id") == {
        "ct.name": "", "ct.error": "", "ct.region": "", "ct.user": "", "ct.id": None}
    assert one({"userIdentity": "Root"}, "ct.user.identitytype") is None  # not an object: nothing under it


@pytest.mark.parametrize(("identity", "user", "original"), [
    ({"type": "Root", "accountId": "1"}, None, None),
    ({"type": "IAMUser", "userName": "bob"}, "bob", "bob"),
    ({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}, "lambda.amazonaws.com", None),
    ({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/Deployer/ci-run-42",
      "sessionContext": {"sessionIssuer": {"userName": "Deployer"}}}, "Deployer", "ci-run-42"),
    ({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/x", "principalId": "AROAEXAMPLE:sess-7"},
     "AssumedRole", "sess-7"),
    ({"type": "AssumedRole", "principalId": "AROAEXAMPLE"}, "AssumedRole", None),
    ({"type": "AWSAccount", "accountId": "2"}, "AWSAccount", None),
    ({"type": "FederatedUser", "userName": "fed"}, "FederatedUser", "fed"),
    ({"type": "SAMLUser", "userName": "saml"}, None, "saml"),
])
def test_user_by_identity_type(identity: dict, user: str | None, original: str | None) -> None:
    assert one({"userIdentity": identity}, "ct.user", "ct.originaluser") == {
        "ct.user": user, "ct.originaluser": original}


def test_account_falls_back_to_the_recipient() -> None:
    assert one({"userIdentity": {"type": "AWSService"}, "recipientAccountId": "444455556666"},
               "ct.user.accountid") == "444455556666"
    assert one({"userIdentity": {"accountId": "1"}, "recipientAccountId": "2"}, "ct.user.accountid") == "1"


def test_flags_resources_and_details() -> None:
    record = {"readOnly": "yes", "managementEvent": True, "sessionCredentialFromConsole": False,
              "resources": [{"ARN": "arn:aws:s3:::b", "type": "AWS::S3::Bucket"}, {"accountId": "1"}],
              "serviceEventDetails": {"snapshotId": "s"}, "eventSource": "amazonaws.com",
              "requestParameters": {"documentName": "AWS-RunShellScript", "reason": "r", "target": "i-1"}}
    assert one(record, "ct.readonly", "ct.managementevent", "ct.sessioncredentialfromconsole", "ct.resources",
               "ct.serviceeventdetails", "ct.shortsrc", "ct.request.documentname", "ct.request.reason",
               "ct.request.target") == {
        "ct.readonly": "false", "ct.managementevent": "true", "ct.sessioncredentialfromconsole": "false",
        "ct.resources": '{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"},{"accountId":"1"}',
        "ct.serviceeventdetails": "", "ct.shortsrc": "amazonaws.com", "ct.request.documentname": "AWS-RunShellScript",
        "ct.request.reason": "r", "ct.request.target": "i-1"}
    assert one({"resources": []}, "ct.resources") is None


def test_s3_fields() -> None:
    get = {"eventName": "GetObject", "requestParameters": {"bucketName": "b", "key": "k/x.txt"},
           "additionalEventData": {"bytesTransferredIn": 0, "bytesTransferredOut": 1536.9}}
    assert one(get, "s3.uri", "s3.bytes", "s3.bytes.in", "s3.bytes.out", "s3.cnt.get", "s3.cnt.put",
               "s3.cnt.other") == {"s3.uri": "s3://b/k/x.txt", "s3.bytes": 1536, "s3.bytes.in": 0,
                                   "s3.bytes.out": 1536, "s3.cnt.get": 1, "s3.cnt.put": None, "s3.cnt.other": None}
    put = {"eventName": "PutObject", "requestParameters": {"bucketName": "b"},
           "additionalEventData": {"bytesTransferredIn": "12"}}
    assert one(put, "s3.uri", "s3.bucket", "s3.bytes", "s3.bytes.out", "s3.cnt.put") == {
        "s3.uri": None, "s3.bucket": "b", "s3.bytes": 0, "s3.bytes.out": None, "s3.cnt.put": 1}


def test_ec2_image_ids_and_name() -> None:
    launched = {"responseElements": {"instancesSet": {"items": [{"imageId": "ami-1"}, {"imageId": "ami-2"}]}},
                "requestParameters": {"imageId": "ami-request", "tagSpecificationSet": {"items": [
                    {"resourceType": "volume", "tags": [{"key": "Name", "value": "disk"}]},
                    {"resourceType": "instance", "tags": [{"key": "team", "value": "a"},
                                                          {"key": "Name", "value": "web-1"}]}]}}}
    assert one(launched, "ec2.imageids", "ec2.imageid", "ec2.imageids[1]", "ec2.imageids[5]", "ec2.name") == {
        "ec2.imageids": ["ami-1", "ami-2"], "ec2.imageid": "ami-1", "ec2.imageids[1]": ["ami-2"],
        "ec2.imageids[5]": None, "ec2.name": "web-1"}
    fast_launch = {"requestParameters": {"DescribeFastLaunchImagesRequest": {"ImageId": {"content": "ami-3",
                                                                                          "tag": 1}}}}
    spot = {"requestParameters": {"launchSpecification": {"imageId": "ami-4"}}}
    assert one(fast_launch, "ec2.imageids") == ["ami-3"]
    assert one(spot, "ec2.imageid") == "ami-4"
    assert one({"requestParameters": {}}, "ec2.imageids", "ec2.name") == {"ec2.imageids": None, "ec2.name": None}


USER = {"type": "IAMUser", "userName": "carol"}


@pytest.mark.parametrize(("record", "info"), [
    ({"userIdentity": USER, "sourceIPAddress": "192.0.2.1", "eventName": "GetObject", "readOnly": True,
      "requestParameters": {"bucketName": "b", "key": "k"}, "additionalEventData": {"bytesTransferredOut": 10}},
     "carol via 192.0.2.1 ← GetObject Size=10 URI=s3://b/k"),
    ({"userIdentity": USER, "sourceIPAddress": "192.0.2.1", "eventName": "DeleteBucket", "readOnly": False,
      "errorCode": "AccessDenied", "requestParameters": {"bucketName": "b", "Host": "h"}},
     "carol via 192.0.2.1 !→ DeleteBucket Bucket=b"),
    ({"userIdentity": USER, "sourceIPAddress": "192.0.2.1", "eventName": "ListBuckets",
      "requestParameters": {"Host": "s3.amazonaws.com"}}, "carol via 192.0.2.1 ← ListBuckets Host=s3.amazonaws.com"),
    ({"userIdentity": {"type": "AWSService", "invokedBy": "config.amazonaws.com"},
      "sourceIPAddress": "config.amazonaws.com", "eventName": "Describe"}, "config.amazonaws.com ← Describe"),
    ({"userIdentity": USER, "sourceIPAddress": "192.0.2.1", "eventName": "PutBucketPublicAccessBlock",
      "readOnly": False, "requestParameters": {"bucketName": "b", "PublicAccessBlockConfiguration": {
          "BlockPublicAcls": True, "BlockPublicPolicy": False, "IgnorePublicAcls": True}}},
     ("carol via 192.0.2.1 → PutBucketPublicAccessBlock BlockPublicAcls=true BlockPublicPolicy=false "
      "IgnorePublicAcls=true RestrictPublicBuckets=false ")),
    ({"sourceIPAddress": "192.0.2.1", "eventName": "X"}, "<invalid cloudtrail event: userIdentity field missing>"),
    ({"userIdentity": USER, "eventName": "X"}, "<invalid cloudtrail event: sourceIPAddress field missing>"),
    ({"userIdentity": USER, "sourceIPAddress": "192.0.2.1"}, "<invalid cloudtrail event: eventName field missing>"),
])
def test_info(record: dict, info: str) -> None:
    assert one(record, "ct.info") == info


def test_plugininfo() -> None:
    record = {"userIdentity": {"type": "AWSAccount"}, "sourceIPAddress": "192.0.2.1", "eventName": "AssumeRole",
              "eventSource": "sts.amazonaws.com", "awsRegion": "eu-west-3"}
    assert one(record, "evt.plugininfo") == "eu-west-3 AWSAccount sts AssumeRole AWSAccount via 192.0.2.1 ← AssumeRole"
    del record["awsRegion"]
    assert one(record, "evt.plugininfo") == "<invalid JSON: event did not contain awsRegion>"
    assert extract([b"not json"], ["evt.plugininfo", "ct.name"]) == [
        {"evt.plugininfo": "<invalid JSON: the event is not a JSON object>", "ct.name": None}]
