"""The two GitHub REST calls the source makes: a push's diff (compare) and a workflow's file (contents).

Authenticated with the configured token; bounded in time and size, so one slow or huge answer delays only the
delivery waiting for it. Every failure (network, HTTP status, size, bad JSON) is one `ApiError`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import aiohttp

API_TIMEOUT_SECONDS = 20.0
MAX_RESPONSE_BYTES = 32 << 20  # a compare answer lists up to 300 files with their patches
_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "saker-github-source"}


class ApiError(Exception):
    """A REST call that gave no usable answer."""


class GitHubApi:
    """REST calls on one aiohttp session (open it with `session()` inside the event loop that uses it)."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self._headers = {**_HEADERS, "Authorization": f"Bearer {token}"}
        self.calls = 0

    def session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(headers=self._headers,
                                     timeout=aiohttp.ClientTimeout(total=API_TIMEOUT_SECONDS))

    async def compare(self, session: aiohttp.ClientSession, full_name: str, base: str, head: str) -> dict[str, Any]:
        """GET /repos/{owner}/{repo}/compare/{base}...{head}: the commits and changed files between two refs."""
        return await self._get(session, f"/repos/{_path(full_name)}/compare/{_path(base)}...{_path(head)}")

    async def contents(self, session: aiohttp.ClientSession, full_name: str, path: str,
                       ref: str | None) -> dict[str, Any]:
        """GET /repos/{owner}/{repo}/contents/{path}[?ref=...]: one file, its text base64-encoded."""
        params = {"ref": ref} if ref else None
        return await self._get(session, f"/repos/{_path(full_name)}/contents/{_path(path)}", params)

    async def _get(self, session: aiohttp.ClientSession, path: str,
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        self.calls += 1
        url = self.api_url + path
        try:
            async with session.get(url, params=params) as response:
                if response.status != 200:
                    raise ApiError(f"GET {path}: HTTP {response.status}")
                body = await _read_bounded(response)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ApiError(f"GET {path}: {type(err).__name__}: {err}") from err
        try:
            answer = await asyncio.to_thread(json.loads, body)  # a compare answer can be megabytes
        except ValueError as err:
            raise ApiError(f"GET {path}: answer is not JSON") from err
        if not isinstance(answer, dict):
            raise ApiError(f"GET {path}: answer is not a JSON object")
        return answer


def _path(text: str) -> str:
    """Percent-encode a URL path part, keeping the slashes of `owner/repo` and of file paths."""
    return quote(text, safe="/")


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise ApiError(f"answer bigger than {MAX_RESPONSE_BYTES} bytes")
    return bytes(body)
