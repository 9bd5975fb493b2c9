"""AWS CloudTrail (source `aws_cloudtrail`), as the cloudtrail plugin 0.17.1: log files from disk, S3 or SQS.

`fields` extracts the `ct.*`, `s3.*`, `ec2.*`, `ecr.*` and `iam.*` fields; `ingest` reads the configured
paths (`files` for local ones, `s3` for buckets, `sqs` for queue notices) and `logfile` splits each log file
into one event per record. This package is the only plugin source that imports boto3.
"""

from __future__ import annotations

from stages.plugins.base import PluginSpec
from stages.plugins.cloudtrail.fields import CloudTrailExtractor
from stages.plugins.cloudtrail.ingest import CloudTrailIngest

SPEC = PluginSpec(
    source=CloudTrailExtractor.source,
    plugin=CloudTrailExtractor.plugin,
    version="0.17.1",
    extractor=CloudTrailExtractor,
    ingest=CloudTrailIngest,
)
