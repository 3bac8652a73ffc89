"""A small HTTP/1.1 client on asyncio streams, for the agent's few calls to its server.

The agent must idle small (DESIGN §1: under 40 MB); a general HTTP library costs several MB
for features it never uses. This one does what the protocol needs: keep-alive connections,
`Content-Length` and chunked bodies, streamed uploads and downloads, TLS for `https://`, and
a time limit per request. Tests can swap in any `Transport`, e.g. httpx on the app in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

CHUNK = 64 * 1024
MAX_HEADER_BYTES = 64 * 1024


class TransportError(Exception):
    """The server could not be reached or the connection broke: worth retrying."""


@dataclass
class Response:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True)
class Upload:
    """A multipart/form-data body: text fields and one file, streamed from disk."""

    fields: dict[str, str]
    file_field: str
    file: Path


class Transport(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        upload: Upload | None = None,
        time_limit: float = 60.0,
    ) -> Response: ...

    def stream(
        self,
        path: str,
        *,
        headers: dict[str, str],
        params: dict[str, str] | None = None,
        time_limit: float = 60.0,
    ) -> contextlib.AbstractAsyncContextManager[tuple[Response, AsyncIterator[bytes]]]: ...

    async def aclose(self) -> None: ...


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class StreamsTransport:
    """`Transport` over `asyncio.open_connection`, with a pool of idle keep-alive sockets."""

    def __init__(self, base_url: str, *, verify: bool = True) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.https = parts.scheme == "https"
        self.port = parts.port or (443 if self.https else 80)
        self.authority = parts.netloc.rpartition("@")[2]
        self._ssl: ssl.SSLContext | None = None
        if self.https:
            self._ssl = ssl.create_default_context()
            if not verify:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.reader.at_eof() and not connection.writer.is_closing():
                return connection
            connection.close()
        try:
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=self._ssl, limit=MAX_HEADER_BYTES
            )
        except (OSError, ssl.SSLError) as error:
            raise TransportError(f"cannot connect to {self.authority}: {error}") from error
        return _Connection(reader, writer)

    def _release(self, connection: _Connection, reusable: bool) -> None:
        if reusable and len(self._idle) < 4:
            self._idle.append(connection)
        else:
            connection.close()

    def _head(
        self, method: str, path: str, headers: dict[str, str], params: dict[str, str] | None
    ) -> str:
        target = path + (f"?{urlencode(params)}" if params else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.authority}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return "\r\n".join(lines) + "\r\n\r\n"

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        upload: Upload | None = None,
        time_limit: float = 60.0,
    ) -> Response:
        async with self._exchange(method, path, headers, params, content, upload, time_limit) as (
            response,
            body,
        ):
            response.content = b"".join([chunk async for chunk in body])
        return response

    @contextlib.asynccontextmanager
    async def stream(
        self,
        path: str,
        *,
        headers: dict[str, str],
        params: dict[str, str] | None = None,
        time_limit: float = 60.0,
    ) -> AsyncIterator[tuple[Response, AsyncIterator[bytes]]]:
        async with self._exchange("GET", path, headers, params, None, None, time_limit) as found:
            yield found

    @contextlib.asynccontextmanager
    async def _exchange(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        params: dict[str, str] | None,
        content: bytes | None,
        upload: Upload | None,
        time_limit: float,
    ) -> AsyncIterator[tuple[Response, AsyncIterator[bytes]]]:
        connection = await self._connect()
        reusable = False
        try:
            async with asyncio.timeout(time_limit):
                await self._send(connection, method, path, headers, params, content, upload)
                response, length, chunked, keep_alive = await self._read_head(connection)
                body = _body(connection.reader, length, chunked, method == "HEAD")
                yield response, body
                async for _rest in body:  # drain what the caller left, to reuse the socket
                    pass
                reusable = keep_alive and (length is not None or chunked)
        except TimeoutError as error:
            raise TransportError(f"no answer from {self.authority} in {time_limit:.0f}s") from error
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError) as error:
            raise TransportError(f"connection to {self.authority} failed: {error}") from error
        finally:
            self._release(connection, reusable)

    async def _send(
        self,
        connection: _Connection,
        method: str,
        path: str,
        headers: dict[str, str],
        params: dict[str, str] | None,
        content: bytes | None,
        upload: Upload | None,
    ) -> None:
        writer = connection.writer
        headers = dict(headers)
        if upload is not None:
            boundary = "pygocd-" + "".join(f"{b:02x}" for b in os.urandom(12))
            prefix, suffix = _multipart_frame(upload, boundary)
            size = len(prefix) + upload.file.stat().st_size + len(suffix)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            headers["Content-Length"] = str(size)
            writer.write(self._head(method, path, headers, params).encode("latin-1") + prefix)
            with upload.file.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    writer.write(chunk)
                    await writer.drain()
            writer.write(suffix)
        else:
            body = content or b""
            if body or method in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            writer.write(self._head(method, path, headers, params).encode("latin-1") + body)
        await writer.drain()

    async def _read_head(self, connection: _Connection) -> tuple[Response, int | None, bool, bool]:
        raw = await connection.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest.split(" ", 1)[0])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = int(headers["content-length"]) if "content-length" in headers else None
        if status in (204, 304) or 100 <= status < 200:
            length = 0
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        return Response(status, headers), length, chunked, keep_alive

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()


async def _body(
    reader: asyncio.StreamReader, length: int | None, chunked: bool, head: bool
) -> AsyncIterator[bytes]:
    if head or length == 0:
        return
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers are sent to agents
                return
            remaining = size
            while remaining:
                chunk = await reader.read(min(CHUNK, remaining))
                if not chunk:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(chunk)
                yield chunk
            await reader.readexactly(2)
        return
    if length is None:  # until the server closes
        while chunk := await reader.read(CHUNK):
            yield chunk
        return
    remaining = length
    while remaining:
        chunk = await reader.read(min(CHUNK, remaining))
        if not chunk:
            raise asyncio.IncompleteReadError(b"", remaining)
        remaining -= len(chunk)
        yield chunk


def _multipart_frame(upload: Upload, boundary: str) -> tuple[bytes, bytes]:
    parts = []
    for name, value in upload.fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    filename = upload.file.name.replace('"', "_")
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{upload.file_field}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    return "".join(parts).encode("utf-8"), f"\r\n--{boundary}--\r\n".encode()


class HttpxTransport:
    """`Transport` over an httpx transport: tests run the agent against the app in-process
    (`httpx.ASGITransport`). httpx is imported only here, never by a running agent."""

    def __init__(self, base_url: str, transport: Any) -> None:
        import httpx

        self._httpx = httpx
        self._client = httpx.AsyncClient(base_url=base_url, transport=transport)

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        upload: Upload | None = None,
        time_limit: float = 60.0,
    ) -> Response:
        try:
            if upload is not None:
                with upload.file.open("rb") as handle:
                    found = await self._client.request(
                        method,
                        path,
                        headers=headers,
                        params=params,
                        data=upload.fields,
                        files={upload.file_field: (upload.file.name, handle)},
                        timeout=time_limit,
                    )
            else:
                found = await self._client.request(
                    method,
                    path,
                    headers=headers,
                    params=params,
                    content=content,
                    timeout=time_limit,
                )
        except self._httpx.TransportError as error:
            raise TransportError(str(error)) from error
        return Response(found.status_code, dict(found.headers), found.content)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        path: str,
        *,
        headers: dict[str, str],
        params: dict[str, str] | None = None,
        time_limit: float = 60.0,
    ) -> AsyncIterator[tuple[Response, AsyncIterator[bytes]]]:
        try:
            async with self._client.stream(
                "GET", path, headers=headers, params=params, timeout=time_limit
            ) as found:
                yield Response(found.status_code, dict(found.headers)), found.aiter_bytes(CHUNK)
        except self._httpx.TransportError as error:
            raise TransportError(str(error)) from error

    async def aclose(self) -> None:
        await self._client.aclose()
