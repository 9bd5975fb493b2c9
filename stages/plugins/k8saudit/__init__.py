"""Kubernetes audit events, source `k8s_audit`: Falco's k8saudit plugin 0.18.0 in Python.

- `fields`: the `ka.*` fields of one audit Event (the extractor).
- `parse`: payloads (EventList, Event, arrays of them) into timed events.
- `webhook`: the HTTP(S) endpoint the API server's audit webhook backend posts to.
- `files`: audit log files read once or followed like `tail -F`.
- `ingest`: the source's Ingest, running the webhook and the files per `sources.k8s_audit`.

Only the plugin's own ingestion modes are built; the cloud variants (k8saudit-eks, -gke, -aks, -ovh) are not,
so no alias names are declared.
"""

from __future__ import annotations

from stages.plugins.base import PluginSpec
from stages.plugins.k8saudit.fields import K8sAuditExtractor
from stages.plugins.k8saudit.ingest import build

SPEC = PluginSpec(source="k8s_audit", plugin="k8saudit", version="0.18.0", extractor=K8sAuditExtractor,
                  ingest=build)
