"""The shipped aws_cloudtrail rules on CloudTrail records: each enabled rule fires on a record of its kind and
stays quiet on near misses; Falco's sample rule fires once per sample file.

The rule records are synthetic (tests/plugins/data/cloudtrail/synthetic_rule_records.json, written for
these tests in the shape AWS documents); the sample files are the upstream ones, loaded from shared/.
"""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import pytest

from config.schema import CloudTrailSource
from rules.loader import load_rules
from stages.plugins.cloudtrail.fields import CloudTrailExtractor
from stages.plugins.cloudtrail.ingest import CloudTrailIngest
from tests.conftest import SHARED
from tests.plugins.harness import alerts, events

RULES = str(SHARED / "peer" / "plugin-rules" / "aws_cloudtrail_rules.yaml")
SAMPLES = SHARED / "peer" / "sample-events" / "cloudtrail"
SAMPLE_RULE = str(SAMPLES / "cloudtrail_create_instances.yaml")
SYNTHETIC = Path(__file__).parent / "data" / "cloudtrail" / "synthetic_rule_records.json"
CASES = json.loads(SYNTHETIC.read_text())["cases"]


def fired_per_record(records: list[dict]) -> list[list[str]]:
    """The rules each record fires (all matching rules, not only the first), in rule order."""
    batch = events([json.dumps(record).encode() for record in records])
    first_time = batch[0].time_ns
    fired: list[list[str]] = [[] for _ in records]
    for alert in alerts(CloudTrailExtractor(), [RULES], batch, rule_matching="all"):
        fired[alert["time_ns"] - first_time].append(alert["rule"])  # the harness times events 1 ns apart
    return fired


def _case(name: str) -> dict:
    return copy.deepcopy(next(case["record"] for case in CASES if case["name"] == name))


def test_each_rule_fires_on_its_records() -> None:
    fired = fired_per_record([case["record"] for case in CASES])
    assert dict(zip([case["name"] for case in CASES], fired)) == {case["name"]: case["fires"] for case in CASES}


def test_no_rule_fires_when_the_call_failed() -> None:
    failed = [copy.deepcopy(case["record"]) for case in CASES]
    for record in failed:
        record["errorCode"] = "AccessDenied"
        record["errorMessage"] = "User is not authorized to perform this operation"
    assert fired_per_record(failed) == [[] for _ in CASES]


def test_every_enabled_rule_has_a_record() -> None:
    loaded = load_rules([RULES])
    assert loaded.ok
    enabled = {rule.name for rule in loaded.rules if rule.enabled}
    covered = {name for case in CASES for name in case["fires"]}
    assert len(enabled) == 20
    assert covered == enabled


def test_near_misses() -> None:
    with_mfa = _case("IAM user console login without MFA")
    with_mfa["additionalEventData"]["MFAUsed"] = "Yes"
    root_with_mfa = _case("root console login without MFA")
    root_with_mfa["additionalEventData"]["MFAUsed"] = "Yes"
    failed_login = _case("IAM user console login without MFA")
    failed_login["responseElements"]["ConsoleLogin"] = "Failure"
    failed_login["errorMessage"] = "Failed authentication"
    user_mfa = _case("root MFA device deactivated")
    user_mfa["userIdentity"] = _case("IAM user created")["userIdentity"]
    user_mfa["requestParameters"]["userName"] = "alice.example"
    blocked = _case("S3 bucket public access block removed")
    blocked["requestParameters"]["PublicAccessBlockConfiguration"] |= {
        "RestrictPublicBuckets": True, "BlockPublicPolicy": True, "BlockPublicAcls": True, "IgnorePublicAcls": True}
    other_service = _case("ECS service created")
    other_service["eventSource"] = "apprunner.amazonaws.com"
    approved_region = _case("EC2 instances launched")
    approved_region["awsRegion"] = "us-east-0"
    listing = _case("S3 bucket ACL set")
    listing["eventName"] = "ListBuckets"  # its rule ships disabled
    misses = [with_mfa, root_with_mfa, failed_login, user_mfa, blocked, other_service, approved_region, listing]
    assert fired_per_record(misses) == [[], [], [], [], [], [], ["Run Instances"], []]


def test_outputs_carry_the_record_fields() -> None:
    records = [_case("root MFA device deactivated"), _case("S3 bucket policy set"), _case("EC2 instances launched")]
    payloads = [json.dumps(record).encode() for record in records]
    outputs = [a["message"] for a in alerts(CloudTrailExtractor(), [RULES], events(payloads))]
    assert outputs == [
        ("Multi Factor Authentication configuration has been disabled for root (requesting user=<NA>, "
         "requesting IP=198.51.100.7, AWS region=us-east-1, "
         "MFA serial number=arn:aws:iam::111122223333:mfa/root-account-mfa-device)"),
        ("An Amazon S3 bucket policy has been applied to an Amazon S3 bucket. (requesting user=alice.example, "
         "requesting IP=203.0.113.25, AWS region=eu-central-1, bucket name=example-site, policy=)"),
        ("A number of instances have been launched. (requesting user=alice.example, requesting IP=203.0.113.25, "
         "AWS region=eu-west-1, availability zone=eu-west-1a, subnet id=<NA>, reservation id=r-0123456789abcdef0)"),
    ]


@pytest.mark.parametrize("sample", ["alice_start_instances.json", "alice_start_instances_bigevent.json"])
def test_sample_rule_fires_once_per_sample_file(sample: str) -> None:
    emitted: list[tuple[int, bytes]] = []
    ingest = CloudTrailIngest(CloudTrailSource(enabled=True, paths=[str(SAMPLES / sample)]))
    ingest.run(emitted.extend, threading.Event())  # a file path: returns when the file is read
    batch = events([payload for _, payload in emitted], [time for time, _ in emitted])
    result = alerts(CloudTrailExtractor(), [SAMPLE_RULE], batch)
    assert [a["rule"] for a in result] == ["Cloudtrail Create Instance"]
    assert result[0]["message"] == (
        "EC2 Instance Created (evtnum=1 info=us-east-2 Alice ec2 StartInstances Alice via 205.251.233.176 "
        "← StartInstances id=<NA> user name=Alice)")
