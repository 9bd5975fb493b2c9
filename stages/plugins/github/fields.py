"""github.* fields of a delivery document, with upstream's semantics (plugin github 0.10.1).

The document is GitHub's webhook payload plus `webhook_type` (the X-GitHub-Event header) and, when the sensor
scanned it, `files` (push) or `workflow_miner_detections` (workflow_run); see enrich.py.

Presence follows upstream's extractor: most fields are always present, empty text when the payload lacks the
key or holds a non-string there. `github.diff.has_secrets` and `.links` are present (empty) even without
`files`, while `.desc`, `.files` and `.lines` are then absent; `github.workflow.has_miners` and
`.miners.type` are absent unless `workflow_miner_detections.matches` is a list.

Fixed upstream bug: upstream trims the trailing comma after each commit (or file) instead of once at the end,
so the values of two commits ran together (`a.txt,b.txtc.txt`); here every list is joined with commas
throughout, as the fields' descriptions promise. Upstream lists distinct miner types in Go's random map order;
here in order of first appearance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from rules.fields.github import SOURCE
from stages.plugins.base import FieldExtractor, FieldFn, PluginEvent

_UINT64_MAX = (1 << 64) - 1
_GITHUB_WEB = "https://github.com/"

DocFn = Callable[[dict[str, Any]], "str | None"]


def _at(doc: Any, *keys: str) -> Any:
    for key in keys:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def _text(value: Any) -> str:
    """A JSON string as it is; anything else (missing, null, number...) reads as empty, as upstream."""
    return value if isinstance(value, str) else ""


def _uint_text(value: Any) -> str:
    """A JSON unsigned integer as decimal text; anything else is 0, as upstream's GetUint64."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _UINT64_MAX:
        return str(value)
    return "0"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _string(*keys: str) -> DocFn:
    return lambda doc: _text(_at(doc, *keys))


def _repo_name(doc: dict[str, Any]) -> str:
    return _text(_at(doc, "repository", "html_url")).removeprefix(_GITHUB_WEB)


def _repo_public(doc: dict[str, Any]) -> str:
    return "false" if _at(doc, "repository", "private") is True else "true"


def _commit_files(kind: str) -> DocFn:
    return lambda doc: ",".join(_text(name) for commit in _list(doc.get("commits"))
                                for name in _list(_at(commit, kind)))


# ---- secrets found in a push (`files`) ------------------------------------------------------------------

def _secret_matches(doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], Any]]:
    """(file, match) for every match of every scanned file."""
    for file in _list(doc.get("files")):
        for match in _list(_at(file, "matches")):
            yield file, match


def _has_secrets(doc: dict[str, Any]) -> str:
    if not isinstance(doc.get("files"), list):
        return ""  # upstream: present but empty when the push was not scanned
    return "true" if any(True for _ in _secret_matches(doc)) else "false"


def _secret_list(render: Callable[[dict[str, Any], Any], str]) -> DocFn:
    def field(doc: dict[str, Any]) -> str | None:
        if not isinstance(doc.get("files"), list):
            return None
        return ",".join(render(file, match) for file, match in _secret_matches(doc))
    return field


def _secret_links(doc: dict[str, Any]) -> str:
    repo, head = _text(_at(doc, "repository", "html_url")), _text(_at(doc, "head_commit", "id"))
    return ",".join(f"{repo}/blob/{head}/{_text(_at(file, 'name'))}/#L{_uint_text(_at(match, 'line'))}"
                    for file, match in _secret_matches(doc))


# ---- miners found in a workflow (`workflow_miner_detections`) -------------------------------------------

def _has_miners(doc: dict[str, Any]) -> str | None:
    matches = _at(doc, "workflow_miner_detections", "matches")
    if not isinstance(matches, list):
        return None
    return "true" if matches else "false"


def _miner_types(doc: dict[str, Any]) -> str | None:
    matches = _at(doc, "workflow_miner_detections", "matches")
    if not isinstance(matches, list):
        return None
    return ",".join(dict.fromkeys(_text(_at(match, "type")) for match in matches))


_FIELDS: dict[str, DocFn] = {
    "github.type": _string("webhook_type"),
    "github.action": _string("action"),
    "github.user": _string("sender", "login"),
    "github.repo": _string("repository", "html_url"),
    "github.repo.url": _string("repository", "html_url"),
    "github.repo.name": _repo_name,
    "github.repo.description": _string("repository", "description"),
    "github.org": _string("organization", "login"),
    "github.owner": _string("repository", "owner", "login"),
    "github.repo.public": _repo_public,
    "github.collaborator.name": _string("member", "login"),
    "github.collaborator.role": _string("changes", "permission", "to"),
    "github.webhook.id": lambda doc: _uint_text(_at(doc, "hook", "id")),
    "github.webhook.type": _string("hook", "type"),
    "github.commit.added": _commit_files("added"),
    "github.commit.modified": _commit_files("modified"),
    "github.commit.removed": _commit_files("removed"),
    "github.diff.has_secrets": _has_secrets,
    "github.diff.committed_secrets.desc": _secret_list(lambda _file, match: _text(_at(match, "desc"))),
    "github.diff.committed_secrets.files": _secret_list(lambda file, _match: _text(_at(file, "name"))),
    "github.diff.committed_secrets.lines": _secret_list(lambda _file, match: _uint_text(_at(match, "line"))),
    "github.diff.committed_secrets.links": _secret_links,
    "github.workflow.has_miners": _has_miners,
    "github.workflow.miners.type": _miner_types,
    "github.workflow.filename": _string("workflow", "path"),
}


def _on_document(fn: DocFn) -> FieldFn:
    """A document function as a field: absent when the payload is not JSON; a JSON non-object reads as {}."""
    def field(event: PluginEvent, _arg: str | None) -> str | None:
        doc = event.doc
        if doc is None:
            return None
        return fn(doc if isinstance(doc, dict) else {})
    return field


class GitHubExtractor(FieldExtractor):
    """Fields of the `github` source."""

    source = SOURCE
    plugin = "github"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields = {name: _on_document(fn) for name, fn in _FIELDS.items()}

    def summary(self, event: PluginEvent) -> str:
        """`evt.plugininfo` as upstream renders it: `github <type> user:<login> repo:<url> action:<action>`."""
        doc = event.doc
        if not isinstance(doc, dict):
            return super().summary(event)
        parts = [f"github {_text(doc.get('webhook_type'))}"]
        for label, value in (("user", _at(doc, "sender", "login")), ("repo", _at(doc, "repository", "html_url")),
                             ("action", doc.get("action"))):
            if isinstance(value, str):
                parts.append(f"{label}:{value}")
        return " ".join(parts)
