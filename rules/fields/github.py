"""Fields of the `github` source (the github plugin's): one GitHub webhook delivery per event.

All github.* fields are strings, as upstream's. Most are always present (empty text when the payload lacks the
key); the secret and miner fields exist only when the sensor scanned the push diff or the workflow file.
"""

from __future__ import annotations

from rules.fields.base import FieldClass, FieldInfo, FieldType
from rules.fields.plugin import plugin_classes
from rules.fields.table import row

SOURCE = "github"

T = FieldType


def _row(name: str, description: str, flags: str = "") -> FieldInfo:
    return row(name, T.CHARBUF, description, flags, source=SOURCE)


_GITHUB_FIELDS = (
    _row("github.type", "Webhook event type, from the X-GitHub-Event header (push, repository, member...)."),
    _row("github.action", "What happened within the event type, e.g. created, deleted, publicized."),
    _row("github.user", "Login of the account that caused the event (the sender)."),
    _row("github.repo", "Web URL of the repository the event concerns; old name of github.repo.url.", "dep"),
    _row("github.repo.url", "Web URL of the repository the event concerns."),
    _row("github.repo.name", "Repository as owner/name (its web URL without https://github.com/)."),
    _row("github.repo.description", "The repository's description text."),
    _row("github.org", "Login of the organization the repository belongs to, if any."),
    _row("github.owner", "Login of the repository's owner."),
    _row("github.repo.public", "'false' when the repository is private, else 'true'."),
    _row("github.collaborator.name", "Login of the member added to or removed from a repository."),
    _row("github.collaborator.role", "New permission of a collaborator whose role changed."),
    _row("github.webhook.id", "Numeric id of the webhook that delivered a ping or meta event ('0' if none)."),
    _row("github.webhook.type", "Kind of the webhook that delivered a ping or meta event, e.g. Repository."),
    _row("github.commit.added", "Files added by the pushed commits, comma-separated."),
    _row("github.commit.modified", "Files modified by the pushed commits, comma-separated."),
    _row("github.commit.removed", "Files removed by the pushed commits, comma-separated."),
    _row("github.diff.has_secrets",
         "For a scanned push: 'true' if an added line holds a secret, else 'false'; empty when not scanned."),
    _row("github.diff.committed_secrets.desc", "For a scanned push: the kind of each secret found, comma-separated."),
    _row("github.diff.committed_secrets.files", "For a scanned push: the file of each secret found, comma-separated."),
    _row("github.diff.committed_secrets.lines",
         "For a scanned push: the line (in the new file) of each secret found, comma-separated."),
    _row("github.diff.committed_secrets.links",
         "For a scanned push: a web link to each secret found, comma-separated."),
    _row("github.workflow.has_miners",
         "For a scanned workflow run: 'true' if its workflow file names crypto-mining tools, else 'false'."),
    _row("github.workflow.miners.type", "For a scanned workflow run: the mining keywords found, comma-separated."),
    _row("github.workflow.filename", "For a workflow run: path of the workflow file in the repository."),
)

CLASSES: tuple[FieldClass, ...] = (
    *plugin_classes(SOURCE),
    FieldClass("github", SOURCE, "GitHub webhook deliveries, with the sensor's secret and miner scans.",
               _GITHUB_FIELDS),
)
