"""Artifacts and console logs, GoCD's `/go/files/<p>/<c>/<s>/<sc>/<job>/<path>`.

A file is served as is (304 with an empty body when `?sha1=` is the base64 SHA-1 of the
stored file, which GoCD's fetch sends for a copy it already has); `<folder>.json` (and
`<job>.json`) lists a folder as GoCD's JSON tree; `<folder>.zip` zips it (202 while the zip
is being built, as GoCD); a folder without an extension is a 404, as in GoCD. The console at
`cruise-output/console.log` can be tailed: `?offset=N` (bytes) serves from byte N and
`X-Console-Size` tells where the next read starts; GoCD's `?startLineNumber=N` also works.
No versioned `Accept` header is needed, as in GoCD.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)

from pygocd.services.artifact_zips import ArtifactZips
from pygocd.services.artifacts import CONSOLE_LOG, ArtifactService, ForbiddenPath, safe_path
from pygocd.services.ports import ArtifactNode
from pygocd.services.registry import Services
from pygocd.web.api.requests import MAX_INT

router = APIRouter(tags=["artifacts"])

CONSOLE_MISSING = (
    "Console log for this job is unavailable as it may have been purged by Go or deleted "
    "externally."
)


def unavailable(path: str) -> PlainTextResponse:
    return PlainTextResponse(
        f"Artifact '{path}' is unavailable as it may have been purged by Go or deleted externally.",
        status_code=404,
    )


async def _counter(services: Services, pipeline: str, value: str) -> int | None:
    if value.isascii() and value.isdigit():
        return int(value) if int(value) <= MAX_INT else None
    if value != "latest":
        return None
    async with services.uow(read_only=True) as uow:
        latest = await uow.pipeline_instances.latest(pipeline, 1)
    return latest[0].counter if latest else None


async def _stage_counter(
    services: Services, pipeline: str, counter: int, stage: str, value: str
) -> int | None:
    if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_INT:
        return int(value)
    if value != "latest":
        return None
    async with services.uow(read_only=True) as uow:
        instance = await uow.pipeline_instances.find(pipeline, counter)
    run = instance.latest_stage(stage) if instance else None
    return run.counter if run else None


def _tree_json(nodes: Sequence[ArtifactNode], url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for node in nodes:
        entry: dict[str, Any] = {
            "name": node.name,
            "url": f"{url}/{node.path}",
            "type": "folder" if node.is_folder else "file",
        }
        if node.is_folder:
            entry["files"] = _tree_json(node.children, url)
        out.append(entry)
    return out


@router.get("/files/{pipeline}/{counter}/{stage}/{stage_counter}/{rest:path}")
async def files(
    request: Request, pipeline: str, counter: str, stage: str, stage_counter: str, rest: str
) -> Response:
    services: Services = request.app.state.services
    artifacts: ArtifactService | None = services.artifacts
    job, _, path = rest.partition("/")
    if artifacts is None or not job:
        return unavailable(rest)
    number = await _counter(services, pipeline, counter)
    stage_number = (
        await _stage_counter(services, pipeline, number, stage, stage_counter)
        if number is not None
        else None
    )
    suffix = ""
    if not path and job.endswith((".json", ".zip")):
        job, _, suffix = job.rpartition(".")
    if number is None or stage_number is None:
        return PlainTextResponse(
            f"Job {pipeline}/{counter}/{stage}/{stage_counter}/{job} not found.", 404
        )
    try:
        clean = safe_path(path, allow_empty=True)
    except ForbiddenPath as error:
        return PlainTextResponse(error.message, status_code=403)
    for name in (pipeline, stage, job):
        if name in (".", "..") or "\\" in name:
            return PlainTextResponse(f"Url {name} contains forbidden characters.", 403)
    locator = f"{pipeline}/{number}/{stage}/{stage_number}/{job}"
    store = artifacts.store
    if not suffix and clean.endswith((".json", ".zip")):
        kind = await store.kind(locator, clean)
        if kind != "file":
            clean, _, suffix = clean.rpartition(".")
    kind = await store.kind(locator, clean)
    base = f"{str(request.base_url).rstrip('/')}/go/files/{locator}"
    if suffix == "json":
        if kind != "folder":
            return unavailable(path)
        return JSONResponse(_tree_json(await store.tree(locator, clean), base))
    if suffix == "zip":
        if kind != "folder":
            return unavailable(path)
        return await _zip(request, artifacts, locator, clean)
    if clean == CONSOLE_LOG:
        if kind != "file":
            return PlainTextResponse(CONSOLE_MISSING, status_code=404)
        return await _console(request, artifacts, locator)
    if kind != "file":
        return unavailable(path)
    if await artifacts.not_modified(locator, clean, request.query_params.get("sha1")):
        return Response(status_code=304)
    return StreamingResponse(
        store.read(locator, clean),
        media_type=_media_type(clean),
        headers=_length(await store.size(locator, clean)),
    )


def _length(size: int | None) -> dict[str, str]:
    return {"content-length": str(size)} if size is not None else {}


def _media_type(path: str) -> str:
    if path.endswith((".log", ".txt")):
        return "text/plain; charset=utf-8"
    if path.endswith(".html"):
        return "text/html; charset=utf-8"
    if path.endswith(".json"):
        return "application/json"
    if path.endswith(".xml"):
        return "application/xml"
    return "application/octet-stream"


async def _console(request: Request, artifacts: ArtifactService, locator: str) -> Response:
    size = await artifacts.console_size(locator)
    start_line = request.query_params.get("startLineNumber")
    if start_line is not None and start_line.isascii() and start_line.isdigit():
        return StreamingResponse(
            _from_line(artifacts.store.read(locator, CONSOLE_LOG), int(start_line)),
            media_type="text/plain; charset=utf-8",
            headers={"X-Console-Size": str(size)},
        )
    offset_text = request.query_params.get("offset", "0")
    offset = int(offset_text) if offset_text.isascii() and offset_text.isdigit() else 0
    offset = min(offset, size)
    return StreamingResponse(
        _limited(artifacts.store.read(locator, CONSOLE_LOG, offset), size - offset),
        media_type="text/plain; charset=utf-8",
        headers={"X-Console-Size": str(size), "content-length": str(size - offset)},
    )


async def _limited(chunks: AsyncIterator[bytes], count: int) -> AsyncIterator[bytes]:
    """At most `count` bytes: the console may grow while it is being read."""
    async for chunk in chunks:
        if count <= 0:
            break
        yield chunk[:count]
        count -= len(chunk)


async def _from_line(chunks: AsyncIterator[bytes], line: int) -> AsyncIterator[bytes]:
    skipped = 0
    async for chunk in chunks:
        if skipped >= line:
            yield chunk
            continue
        start = 0
        while skipped < line:
            found = chunk.find(b"\n", start)
            if found < 0:
                break
            skipped += 1
            start = found + 1
        if skipped >= line and start < len(chunk):
            yield chunk[start:]


def _zips(request: Request, artifacts: ArtifactService) -> ArtifactZips:
    """One zip builder per app, its cache under the data directory."""
    found: ArtifactZips | None = getattr(request.app.state, "artifact_zips", None)
    if found is None:
        cache = request.app.state.settings.data_dir / "cache" / "artifacts"
        found = request.app.state.artifact_zips = ArtifactZips(artifacts.store, cache)
    return found


async def _zip(request: Request, artifacts: ArtifactService, locator: str, folder: str) -> Response:
    """GoCD's `ZipArtifactFolderViewFactory`: 202 with an empty body while the zip is being
    built (poll again), then the zip."""
    target = await _zips(request, artifacts).ready(locator, folder)
    if target is None:
        return Response(status_code=202)
    return FileResponse(
        target,
        media_type="application/zip",
        filename=f"{(folder or locator).rsplit('/', 1)[-1]}.zip",
    )
