"""Falco's `plugins:` / `load_plugins:` keys, read as settings of Saker's built-in sources.

A Falco configuration enables the k8s audit, CloudTrail and Okta sources by loading plugin libraries, each
with an `init_config` map and an `open_params` string. Saker has those sources built in (`sources:`), so an
entry is translated into the same settings: `library_path` is not needed, the `json` and `container` plugins
are always there, and an init key Saker has no use for is an error that names it rather than a setting
silently dropped. The GitHub plugin cannot be translated: it registers webhooks in GitHub with a secret it
makes up, where Saker verifies a secret the user sets (`sources.github`).
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit

BUILT_IN = ("json", "container")  # provided without a source of their own

# Init keys that only tune the plugin's own threading in Falco; nothing to set in Saker.
_IGNORED = frozenset({"useAsync"})


def source_settings(name: str, init_config: dict[str, Any], open_params: str) -> tuple[str, dict[str, Any]] | None:
    """(source, settings for `sources.<source>`) for a plugin entry; None for a built-in extractor plugin.
    Raises ValueError naming what cannot be translated."""
    if name in BUILT_IN:
        return None
    translate = _TRANSLATORS.get(name)
    if translate is None:
        if name == "github":
            raise ValueError("the github plugin registers its own webhooks with a secret it makes up; Saker "
                             "verifies a secret you set: configure sources.github instead")
        raise ValueError(f"no built-in source for plugin {name!r}; Saker has {', '.join(sorted(_TRANSLATORS))}"
                         f" (and {', '.join(BUILT_IN)})")
    return translate(dict(init_config), open_params.strip())


def _take(init: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Init keys renamed to Saker's; any key left over (and not ignorable) is an error."""
    settings = {ours: init.pop(theirs) for theirs, ours in mapping.items() if theirs in init}
    unknown = sorted(set(init) - _IGNORED)
    if unknown:
        raise ValueError(f"init_config key(s) {', '.join(unknown)} not supported; supported: "
                         f"{', '.join(sorted(mapping))}")
    return settings


def _k8saudit(init: dict[str, Any], open_params: str) -> tuple[str, dict[str, Any]]:
    settings = _take(init, {"maxEventSize": "max_event_bytes", "webhookMaxBatchSize": "max_body_bytes",
                            "sslCertificate": "tls_cert"})
    cert = settings.pop("tls_cert", "/etc/falco/falco.pem")
    if not open_params:
        raise ValueError("open_params is empty: give http://:9765/k8s-audit, a file path or file://PATH")
    url = urlsplit(open_params)
    if url.scheme in ("http", "https"):
        settings.update(webhook=True, listen_address=url.hostname or "0.0.0.0", listen_port=url.port or 80,
                        path=url.path or "/")
        if url.scheme == "https":
            settings["tls"] = {"cert": cert}
        return "k8s_audit", settings
    settings.update(webhook=False, files=[open_params])  # a JSONL file or folder, or file://PATH to follow
    return "k8s_audit", settings


def _cloudtrail(init: dict[str, Any], open_params: str) -> tuple[str, dict[str, Any]]:
    aws = init.pop("aws", {}) or {}
    settings = _take(init, {"s3DownloadConcurrency": "s3_download_concurrency", "s3Interval": "s3_interval",
                            "sqsDelete": "sqs_delete", "useS3SNS": "use_s3_sns",
                            "sqsOwnerAccount": "sqs_owner_account"})
    unknown = sorted(set(aws) - {"region"})
    if unknown:
        raise ValueError(f"init_config.aws key(s) {', '.join(unknown)} not supported: Saker takes AWS "
                         "credentials from the standard chain (environment, files, instance role)")
    if aws.get("region"):
        settings["region"] = aws["region"]
    if not open_params:
        raise ValueError("open_params is empty: give s3://bucket/prefix, sqs://queue, or a file or folder")
    settings["paths"] = [open_params]
    return "aws_cloudtrail", settings


def _okta(init: dict[str, Any], _open_params: str) -> tuple[str, dict[str, Any]]:
    return "okta", _take(init, {"organization": "organization", "api_token": "api_token",
                                "refresh_interval": "refresh_interval", "cache_expiration": "cache_expiration",
                                "cache_usermaxsize": "cache_usermaxsize"})


_TRANSLATORS: dict[str, Callable[[dict[str, Any], str], tuple[str, dict[str, Any]]]] = {
    "k8saudit": _k8saudit,
    "cloudtrail": _cloudtrail,
    "okta": _okta,
}
