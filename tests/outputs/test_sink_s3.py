"""S3 sink against moto's S3 server on loopback: keys, gzip JSON-lines bodies, batching, errors."""

from __future__ import annotations

import gzip
import json
import re

import boto3
import pytest
from moto.server import ThreadedMotoServer

from stages.sinks import SinkError
from stages.sinks.s3 import S3Sink, object_key
from tests.outputs.conftest import make_alert, make_config

CREDENTIALS = {"access_key_id": "AKIDTEST", "secret_access_key": "s3-very-secret-key", "region": "us-east-1"}


@pytest.fixture(name="moto_endpoint", scope="module")
def fixture_moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIDTEST",
                        aws_secret_access_key="s3-very-secret-key")


def _sink(endpoint: str, bucket: str, **settings) -> S3Sink:
    config = make_config(s3_output={"enabled": True, "bucket": bucket, "endpoint_url": endpoint, **CREDENTIALS,
                                    **settings})
    return S3Sink(config.s3_output, config)


def test_object_key_layout():
    """prefix/YYYY-MM-DD/<UTC time with ns>-<n>.jsonl.gz; an empty prefix adds no slash."""
    assert object_key("falco/alerts/", 1769852482118204311, 7) == (
        "falco/alerts/2026-01-31/2026-01-31T09:41:22.118204311Z-7.jsonl.gz")
    assert object_key("", 1769852482118204311, 1) == "2026-01-31/2026-01-31T09:41:22.118204311Z-1.jsonl.gz"


def test_batches_become_gzip_jsonl_objects(moto_endpoint):
    """Each delivery is one object under prefix/date/; read back and gunzipped it holds the JSON documents."""
    client = _client(moto_endpoint)
    client.create_bucket(Bucket="alerts")
    sink = _sink(moto_endpoint, "alerts", prefix="saker/prod", batch_size=3, flush_seconds=2)
    sink.deliver([make_alert(i) for i in range(3)])
    sink.deliver([make_alert(3)])
    sink.close()
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="alerts")["Contents"])
    assert len(keys) == 2
    pattern = r"saker/prod/(\d{4}-\d\d-\d\d)/\1T\d\d:\d\d:\d\d\.\d{9}Z-(\d)\.jsonl\.gz"
    assert all(re.fullmatch(pattern, key) for key in keys)
    assert sorted(re.fullmatch(pattern, key).group(2) for key in keys) == ["1", "2"]
    documents = []
    for key in sorted(keys, key=lambda k: k[-10:]):
        body = client.get_object(Bucket="alerts", Key=key)["Body"].read()
        documents.append([json.loads(line) for line in gzip.decompress(body).decode().splitlines()])
    assert [[d["output_fields"]["n"] for d in batch] for batch in documents] == [[0, 1, 2], [3]]
    assert documents[0][0] == json.loads(make_alert(0).to_falco_json(make_config()))
    assert sink.batching() == (3, 2.0)


def test_missing_bucket_is_a_sink_error_without_the_secret_key(moto_endpoint):
    """An upload refused by the store raises SinkError naming the bucket, never the secret key."""
    sink = _sink(moto_endpoint, "no-such-bucket")
    with pytest.raises(SinkError, match="NoSuchBucket") as caught:
        sink.deliver([make_alert(0)])
    sink.close()
    assert "s3-very-secret-key" not in str(caught.value)
