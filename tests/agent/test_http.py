"""The agent's own HTTP client against a real uvicorn server on a local port: keep-alive,
Content-Length and chunked bodies, multipart uploads, streamed downloads, and failures."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from pygocd.agent.http import StreamsTransport, TransportError, Upload


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "body": body.decode(),
            "agent": request.headers.get("x-agent"),
        }
    )


async def chunked(_request: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for i in range(5):
            yield f"part{i};".encode()

    return StreamingResponse(parts(), media_type="text/plain")


async def upload(request: Request) -> Response:
    async with request.form() as form:
        file = form["file"]
        assert isinstance(file, UploadFile)
        data = await file.read()
        return JSONResponse(
            {"path": form["path"], "md5": hashlib.md5(data).hexdigest(), "name": file.filename}
        )


async def slow(_request: Request) -> Response:
    await asyncio.sleep(0.5)
    return PlainTextResponse("late")


async def empty(_request: Request) -> Response:
    return Response(status_code=204)


APP = Starlette(
    routes=[
        Route("/echo", echo, methods=["GET", "POST", "PUT"]),
        Route("/chunked", chunked),
        Route("/upload", upload, methods=["POST"]),
        Route("/slow", slow),
        Route("/empty", empty),
    ]
)


@pytest.fixture
async def base() -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(APP, log_level="error", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()


async def test_requests_reuse_one_connection(base: str) -> None:
    http = StreamsTransport(base)
    try:
        first = await http.request("GET", "/echo", headers={"X-Agent": "a"}, params={"q": "1 2"})
        assert first.status_code == 200
        assert first.json() == {
            "method": "GET",
            "path": "/echo",
            "query": {"q": "1 2"},
            "body": "",
            "agent": "a",
        }
        posted = await http.request("POST", "/echo", headers={}, content=b"hello")
        assert posted.json()["body"] == "hello"
        assert len(http._idle) == 1  # the same socket went back to the pool
        empty = await http.request("GET", "/empty", headers={})
        assert (empty.status_code, empty.content) == (204, b"")
    finally:
        await http.aclose()


async def test_chunked_bodies_are_read_whole_or_streamed(base: str) -> None:
    http = StreamsTransport(base)
    try:
        whole = await http.request("GET", "/chunked", headers={})
        assert whole.text == "part0;part1;part2;part3;part4;"
        async with http.stream("/chunked", headers={}) as (response, body):
            assert response.status_code == 200
            parts = [chunk async for chunk in body]
        assert b"".join(parts) == whole.content
        again = await http.request("GET", "/echo", headers={})
        assert again.status_code == 200
    finally:
        await http.aclose()


async def test_a_file_uploads_as_multipart(base: str, tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    file = tmp_path / "app.bin"
    file.write_bytes(data)
    http = StreamsTransport(base)
    try:
        response = await http.request(
            "POST", "/upload", headers={}, upload=Upload({"path": "bin/app.bin"}, "file", file)
        )
        assert response.json() == {
            "path": "bin/app.bin",
            "md5": hashlib.md5(data).hexdigest(),
            "name": "app.bin",
        }
    finally:
        await http.aclose()


async def test_failures_are_transport_errors(base: str) -> None:
    http = StreamsTransport(base)
    try:
        with pytest.raises(TransportError):
            await http.request("GET", "/slow", headers={}, time_limit=0.1)
    finally:
        await http.aclose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    nowhere = StreamsTransport(f"http://127.0.0.1:{closed_port}")
    with pytest.raises(TransportError):
        await nowhere.request("GET", "/", headers={})
    with pytest.raises(ValueError, match="http"):
        StreamsTransport("ftp://example.com")
