"""Event sources beside syscalls, built in: k8s audit, CloudTrail, GitHub, Okta (Falco's plugins, in Python).

Each lives in its own package here and exposes `SPEC` (a `stages.plugins.base.PluginSpec`). They are imported
only when enabled, so a sensor without CloudTrail never loads boto3.
"""

from __future__ import annotations

import importlib

from stages.plugins.base import PluginSpec

MODULES = {
    "k8s_audit": "stages.plugins.k8saudit",
    "aws_cloudtrail": "stages.plugins.cloudtrail",
    "github": "stages.plugins.github",
    "okta": "stages.plugins.okta",
}


def spec(source: str) -> PluginSpec:
    """The built-in plugin serving `source` (a key of MODULES)."""
    return importlib.import_module(MODULES[source]).SPEC
