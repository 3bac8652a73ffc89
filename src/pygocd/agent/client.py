"""The agent's side of the protocol: one `httpx.AsyncClient`, retries with back-off.

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

import httpx

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


class ServerClient:
    def __init__(
        self,
        server_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_backoff: float = 10.0,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        base = self.server_url.removesuffix("/go")
        self._http = httpx.AsyncClient(
            base_url=base,
            transport=transport,
            # Plain HTTP needs no CA bundle; loading one costs an idle agent megabytes.
            verify=base.startswith("https://"),
            timeout=httpx.Timeout(60.0, connect=10.0),
            headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
        )
        self.uuid: str | None = None
        self.token: str | None = None
        self.max_backoff = max_backoff
        self.sleep: Callable[[float], Any] = asyncio.sleep

    async def close(self) -> None:
        await self._http.aclose()

    def _auth(self) -> dict[str, str]:
        if not self.uuid or not self.token:
            return {}
        return {UUID_HEADER: self.uuid, "Authorization": f"Bearer {self.token}"}

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._auth(), **kwargs.pop("headers", {})}
        response = await self._http.request(method, path, headers=headers, **kwargs)
        if response.status_code in (401, 403) and path != REGISTER_PATH:
            await response.aread()
            raise Unregistered(response.text)
        return response

    async def _retrying(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send until the server answers with something other than a transient failure."""
        delay = 0.2
        while True:
            try:
                response = await self._send(method, path, **kwargs)
                if response.status_code not in RETRY_STATUSES:
                    return response
                reason = f"HTTP {response.status_code}"
            except httpx.TransportError as error:
                reason = repr(error)
            log.warning("server unavailable (%s); retrying %s in %.1fs", reason, path, delay)
            await self.sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    @staticmethod
    def _parse(response: httpx.Response, model: type[M]) -> M:
        if response.status_code >= 400:
            raise Rejected(response.status_code, response.text)
        return model.model_validate_json(response.content)

    # -- calls ------------------------------------------------------------------------------

    async def register(self, request: wire.RegisterRequest) -> wire.Registered:
        response = await self._send(
            "POST", REGISTER_PATH, content=request.model_dump_json(), headers=_JSON
        )
        return self._parse(response, wire.Registered)

    async def work(self, request: wire.WorkRequest) -> wire.Work | wire.NoWork:
        timeout = httpx.Timeout(request.wait_seconds + 30, connect=10.0)
        response = await self._send(
            "POST", WORK_PATH, content=request.model_dump_json(), headers=_JSON, timeout=timeout
        )
        if response.status_code >= 400:
            raise Rejected(response.status_code, response.text)
        return wire.parse_work_reply(response.content)

    async def ping(self, request: wire.Ping) -> wire.PingReply:
        timeout = httpx.Timeout(request.wait_seconds + 30, connect=10.0)
        response = await self._send(
            "POST", PING_PATH, content=request.model_dump_json(), headers=_JSON, timeout=timeout
        )
        return self._parse(response, wire.PingReply)

    async def report(self, job_id: int, report: wire.JobReport) -> wire.JobReportReply:
        response = await self._retrying(
            "POST", job_path(job_id, "status"), content=report.model_dump_json(), headers=_JSON
        )
        if response.status_code == 409:
            return wire.JobReportReply(applied=False)
        return self._parse(response, wire.JobReportReply)

    async def append_console(self, job_id: int, offset: int, data: bytes) -> wire.ConsoleAppended:
        response = await self._retrying(
            "PUT",
            job_path(job_id, "console"),
            params={"offset": offset},
            content=data,
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        if response.status_code == 409:
            return wire.ConsoleAppended.model_validate_json(response.content)
        return self._parse(response, wire.ConsoleAppended)

    async def upload(self, job_id: int, path: str, file: Path, md5: str) -> wire.ArtifactUploaded:
        def send() -> Any:
            return file.open("rb")

        delay = 0.2
        while True:
            with send() as handle:
                try:
                    response = await self._send(
                        "POST",
                        job_path(job_id, "artifacts"),
                        data={"path": path, "md5": md5},
                        files={"file": (file.name, handle, "application/octet-stream")},
                    )
                except httpx.TransportError as error:
                    response = None
                    log.warning("artifact upload failed (%r); retrying", error)
            if response is not None and response.status_code not in RETRY_STATUSES:
                return self._parse(response, wire.ArtifactUploaded)
            await self.sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    async def listing(self, locator: str, path: str) -> wire.ArtifactListing:
        response = await self._retrying("GET", files_path(locator, path), params={"list": "1"})
        return self._parse(response, wire.ArtifactListing)

    async def download(self, locator: str, path: str) -> AsyncIterator[bytes]:
        async with self._http.stream(
            "GET", files_path(locator, path), headers=self._auth()
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                raise Rejected(response.status_code, response.text)
            async for chunk in response.aiter_bytes(64 * 1024):
                yield chunk


_JSON = {"Content-Type": "application/json"}
