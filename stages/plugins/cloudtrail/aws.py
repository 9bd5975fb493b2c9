"""boto3 clients for the CloudTrail source, from its config section.

Credentials come from the standard AWS chain (environment, shared files, instance or task role). The region
is the section's, else the environment's or profile's, else us-east-1, so a sensor with no AWS setup beyond
credentials still starts. `endpoint_url` points S3 and SQS at an S3/SQS-compatible server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from config.schema import CloudTrailSource

DEFAULT_REGION = "us-east-1"


def clients(section: CloudTrailSource) -> Callable[[str], Any]:
    """A factory of boto3 clients (`s3`, `sqs`) sharing one session; their connection pools fit the download
    concurrency."""
    session = boto3.session.Session()
    region = section.region or session.region_name or DEFAULT_REGION
    config = Config(max_pool_connections=max(10, section.s3_download_concurrency),
                    retries={"mode": "standard", "max_attempts": 3})

    def client(service: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=section.endpoint_url or None, config=config)
    return client
