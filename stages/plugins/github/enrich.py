"""What the sensor adds to a delivery before rules see it, as upstream's plugin does.

- `push` (not a branch creation or deletion): the diff from GitHub's compare API, each file's added lines
  scanned for secrets, stored as `files: [{name, matches: [{line, type, desc, platform}]}]`.
- `workflow_run`: the workflow file from the contents API, scanned for mining keywords, stored as
  `workflow_miner_detections: {name, matches: [{line, type}]}`.

The new key is set only once everything it needs has been fetched and scanned: a failed call leaves the
delivery as GitHub sent it (the caller logs and counts the ApiError), and the secret/miner fields stay absent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

import aiohttp

from stages.plugins.github.api import ApiError, GitHubApi
from stages.plugins.github.scan import scan_patch, scan_workflow

NULL_COMMIT = "0" * 40  # the before/after id of a push that creates or deletes a branch or tag


async def enrich(api: GitHubApi, session: aiohttp.ClientSession, event_type: str, doc: dict[str, Any]) -> None:
    """Add the scan results the event type calls for to `doc` (in place); ApiError when a call fails."""
    if event_type == "push":
        await _scan_push(api, session, doc)
    elif event_type == "workflow_run":
        await _scan_workflow_run(api, session, doc)


def _text_at(doc: Any, *keys: str) -> str | None:
    for key in keys:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc if isinstance(doc, str) and doc else None


async def _scan_push(api: GitHubApi, session: aiohttp.ClientSession, doc: dict[str, Any]) -> None:
    full_name = _text_at(doc, "repository", "full_name")
    before, after = _text_at(doc, "before"), _text_at(doc, "after")
    if full_name is None or before is None or after is None or NULL_COMMIT in (before, after):
        return  # nothing to compare: a ref created or deleted, or not a push GitHub would send
    # The payload's `compare` link names the same two commits, abbreviated; the full ids need no parsing.
    answer = await api.compare(session, full_name, before, after)
    files = answer.get("files")
    if not isinstance(files, list):
        raise ApiError(f"compare {full_name}: the answer has no file list")
    # A big diff takes a while to scan: in a worker thread, so the receiver keeps answering GitHub.
    doc["files"] = await asyncio.to_thread(_scan_files, files)


def _scan_files(files: list[Any]) -> list[dict[str, Any]]:
    return [_scan_file(entry) for entry in files if isinstance(entry, dict)]


def _scan_file(entry: dict[str, Any]) -> dict[str, Any]:
    patch = entry.get("patch")  # absent for binary files and very large diffs
    return {"name": entry.get("filename") if isinstance(entry.get("filename"), str) else "",
            "matches": scan_patch(patch) if isinstance(patch, str) else []}


async def _scan_workflow_run(api: GitHubApi, session: aiohttp.ClientSession, doc: dict[str, Any]) -> None:
    full_name = _text_at(doc, "repository", "full_name")
    path = _text_at(doc, "workflow", "path")
    if full_name is None or path is None:
        return
    # The file at the commit the run executes; upstream read the default branch, which misses a workflow
    # changed on another branch or in a pull request.
    answer = await api.contents(session, full_name, path, _text_at(doc, "workflow_run", "head_sha"))
    text = _decoded_content(answer, f"{full_name}/{path}")
    doc["workflow_miner_detections"] = {"name": path, "matches": scan_workflow(text)}


def _decoded_content(answer: dict[str, Any], where: str) -> str:
    content = answer.get("content")
    if answer.get("encoding") != "base64" or not isinstance(content, str):
        raise ApiError(f"contents {where}: no base64 content (a folder, or a file over the API's size limit)")
    try:
        return base64.b64decode(content).decode("utf-8", errors="replace")  # the API wraps base64 lines
    except (binascii.Error, ValueError) as err:
        raise ApiError(f"contents {where}: content is not base64") from err
