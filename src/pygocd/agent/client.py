"""The agent's side of the protocol over a small HTTP transport, retries with back-off.

Calls that carry a job's outcome (status reports, console, artifacts) are retried until the
server answers, however long it is away, so a result is never lost to a server restart. A 401
or 403 means the server no longer knows this agent: `Unregistered` tells the agent to
register again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from pygocd.agent.http import (
    HttpxTransport,
    Response,
    StreamsTransport,
    Transport,
    TransportError,
    Upload,
)
from pygocd.protocol import (
    PING_PATH,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    REGISTER_PATH,
    UUID_HEADER,
    WORK_PATH,
    files_path,
    job_path,
)
from pygocd.protocol import messages as wire

log = logging.getLogger("pygocd.agent")

M = TypeVar("M", bound=wire.Message)

RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


class Unregistered(Exception):
    """The server rejected our credentials (401/403): register again."""


class Rejected(Exception):
    """The server refused a request for good (4xx other than auth)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"{status}: {text}")
        self.status = status
        self.text = text


class NotModified(Exception):
    """The server's copy has the SHA-1 we sent (304): the local file is current."""


class ServerClient:
    def __init__(
        self,
        server_url: str,
        *,
        transport: Any = None,
        max_backoff: float = 10.0,
    ) -> None:
        """`transport`: an httpx transport for tests (e.g. `httpx.ASGITransport`); by default
        the agent's own HTTP client."""
        self.server_url = server_url.rstrip("/")
        base = self.server_url.removesuffix("/go")
        self._http: Transport = (
            HttpxTransport(base, transport) if transport is not None else StreamsTransport(base)
        )
        self.uuid: str | None = None
        self.token: str | None = None
        self.max_backoff = max_backoff
        self.sleep: Callable[[float], Any] = asyncio.sleep

    async def close(self) -> None:
        await self._http.aclose()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), **(extra or {})}
        if self.uuid and self.token:
            headers |= {UUID_HEADER: self.uuid, "Authorization": f"Bearer {self.token}"}
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        upload: Upload | None = None,
        time_limit: float = 60.0,
    ) -> Response:
        response = await self._http.request(
            method,
            path,
            headers=self._headers(headers),
            params=params,
            content=content,
            upload=upload,
            time_limit=time_limit,
        )
        if response.status_code in (401, 403) and path != REGISTER_PATH:
            raise Unregistered(response.text)
        return response

    async def _retrying(self, method: str, path: str, **kwargs: Any) -> Response:
        """Send until the server answers with something other than a transient failure."""
        delay = 0.2
        while True:
            try:
                response = await self._send(method, path, **kwargs)
                if response.status_code not in RETRY_STATUSES:
                    return response
                reason = f"HTTP {response.status_code}"
            except TransportError as error:
                reason = str(error)
            log.warning("server unavailable (%s); retrying %s in %.1fs", reason, path, delay)
            await self.sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    @staticmethod
    def _parse(response: Response, model: type[M]) -> M:
        if response.status_code >= 400:
            raise Rejected(response.status_code, response.text)
        return model.model_validate_json(response.content)

    # -- calls ------------------------------------------------------------------------------

    async def register(self, request: wire.RegisterRequest) -> wire.Registered:
        response = await self._send(
            "POST", REGISTER_PATH, content=request.model_dump_json().encode(), headers=_JSON
        )
        return self._parse(response, wire.Registered)

    async def work(self, request: wire.WorkRequest) -> wire.Work | wire.NoWork:
        response = await self._send(
            "POST",
            WORK_PATH,
            content=request.model_dump_json().encode(),
            headers=_JSON,
            time_limit=request.wait_seconds + 30,
        )
        if response.status_code >= 400:
            raise Rejected(response.status_code, response.text)
        return wire.parse_work_reply(response.content)

    async def ping(self, request: wire.Ping) -> wire.PingReply:
        response = await self._send(
            "POST",
            PING_PATH,
            content=request.model_dump_json().encode(),
            headers=_JSON,
            time_limit=request.wait_seconds + 30,
        )
        return self._parse(response, wire.PingReply)

    async def report(self, job_id: int, report: wire.JobReport) -> wire.JobReportReply:
        response = await self._retrying(
            "POST",
            job_path(job_id, "status"),
            content=report.model_dump_json().encode(),
            headers=_JSON,
        )
        if response.status_code == 409:
            return wire.JobReportReply(applied=False)
        return self._parse(response, wire.JobReportReply)

    async def append_console(self, job_id: int, offset: int, data: bytes) -> wire.ConsoleAppended:
        response = await self._retrying(
            "PUT",
            job_path(job_id, "console"),
            params={"offset": str(offset)},
            content=data,
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        if response.status_code == 409:
            return wire.ConsoleAppended.model_validate_json(response.content)
        return self._parse(response, wire.ConsoleAppended)

    async def upload(self, job_id: int, path: str, file: Path, md5: str) -> wire.ArtifactUploaded:
        response = await self._retrying(
            "POST",
            job_path(job_id, "artifacts"),
            upload=Upload({"path": path, "md5": md5}, "file", file),
            time_limit=3600,
        )
        return self._parse(response, wire.ArtifactUploaded)

    async def listing(self, locator: str, path: str) -> wire.ArtifactListing:
        response = await self._retrying("GET", files_path(locator, path), params={"list": "1"})
        return self._parse(response, wire.ArtifactListing)

    async def download(
        self, locator: str, path: str, *, sha1: str | None = None
    ) -> AsyncIterator[bytes]:
        """The file's bytes; with `sha1` (base64 of the local copy's SHA-1, as GoCD's fetch
        sends it) `NotModified` when the server's copy is the same."""
        async with self._http.stream(
            files_path(locator, path),
            headers=self._headers(),
            params={"sha1": sha1} if sha1 else None,
            time_limit=3600,
        ) as (response, body):
            if response.status_code == 304:
                raise NotModified(path)
            if response.status_code >= 400:
                text = b"".join([chunk async for chunk in body]).decode("utf-8", "replace")
                raise Rejected(response.status_code, text)
            async for chunk in body:
                yield chunk


_JSON = {"Content-Type": "application/json"}
