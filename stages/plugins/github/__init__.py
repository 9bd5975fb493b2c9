"""The `github` source: GitHub webhook deliveries, verified with the hook's secret, scanned for committed secrets
and crypto-mining workflows (upstream: Falco's github plugin 0.10.1).

- delivery.py: signature check (X-Hub-Signature-256) and body decoding (JSON or form)
- webhook.py: the aiohttp receiver, the Ingest
- api.py / enrich.py / scan.py: GitHub REST calls, what they add to a delivery, the secret and miner scans
- fields.py: the github.* fields
"""

from __future__ import annotations

from stages.plugins.base import PluginSpec
from stages.plugins.github.fields import GitHubExtractor
from stages.plugins.github.webhook import GitHubWebhook

SPEC = PluginSpec(source="github", plugin="github", version="0.10.1", extractor=GitHubExtractor,
                  ingest=GitHubWebhook)
