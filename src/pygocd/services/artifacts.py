"""Console logs and artifacts of jobs, in GoCD's layout, behind the `ArtifactStore` port.

A job's files live under its locator `pipeline/counter/stage/counter/job`; the console is
`cruise-output/console.log` and the MD5 of every uploaded artifact is appended to
`cruise-output/md5.checksum` as `path=md5` lines (GoCD's format). Paths are checked here once:
no absolute paths, no `..`, nothing that escapes the job's folder. Data moves in chunks, so a
100 MB console never sits in server memory.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from pygocd.domain.errors import Conflict, Invalid
from pygocd.domain.runs import JobIdentifier
from pygocd.services.ports import ArtifactStore

CRUISE_OUTPUT = "cruise-output"
CONSOLE_LOG = f"{CRUISE_OUTPUT}/console.log"
MD5_CHECKSUM = f"{CRUISE_OUTPUT}/md5.checksum"


class ForbiddenPath(Invalid):
    """A path with `..`, an absolute path or another escape from the job's folder."""


class OffsetMismatch(Conflict):
    """A console chunk for an offset past the end: the agent must resend from `size`."""

    def __init__(self, size: int) -> None:
        super().__init__(f"Console is {size} bytes long; resend from there.")
        self.size = size


def safe_path(path: str, *, allow_empty: bool = False) -> str:
    """A normalised relative path (`a/b`), or `ForbiddenPath`."""
    if "\\" in path or "\x00" in path or path.startswith("/"):
        raise ForbiddenPath(f"Url {path} contains forbidden characters.")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ForbiddenPath(f"Url {path} contains forbidden characters.")
    if not parts and not allow_empty:
        raise ForbiddenPath("An artifact path must not be empty.")
    return "/".join(parts)


def safe_locator(pipeline: str, counter: int, stage: str, stage_counter: int, job: str) -> str:
    for name in (pipeline, stage, job):
        if not name or "/" in name or name in (".", ".."):
            raise ForbiddenPath(f"Url {name} contains forbidden characters.")
    return f"{pipeline}/{counter}/{stage}/{stage_counter}/{job}"


def job_locator(identifier: JobIdentifier) -> str:
    return safe_locator(
        identifier.pipeline_name,
        identifier.pipeline_counter,
        identifier.stage_name,
        identifier.stage_counter,
        identifier.job_name,
    )


async def _skip(chunks: AsyncIterator[bytes], count: int) -> AsyncIterator[bytes]:
    """The stream without its first `count` bytes (already stored by an earlier attempt)."""
    async for chunk in chunks:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:]
        count = 0


class ArtifactService:
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store
        self._console_locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def console_size(self, locator: str) -> int:
        return await self.store.size(locator, CONSOLE_LOG) or 0

    async def append_console(self, locator: str, offset: int, chunks: AsyncIterator[bytes]) -> int:
        """Append a chunk the agent sent for byte `offset`; a resent chunk is not duplicated
        (bytes before the current end are skipped). Returns the console's new size."""
        lock, users = self._console_locks.get(locator, (asyncio.Lock(), 0))
        self._console_locks[locator] = (lock, users + 1)
        try:
            async with lock:  # the size check and the append are one step
                size = await self.console_size(locator)
                if offset > size:
                    raise OffsetMismatch(size)
                return await self.store.append(locator, CONSOLE_LOG, _skip(chunks, size - offset))
        finally:
            lock, users = self._console_locks[locator]
            if users == 1:
                del self._console_locks[locator]
            else:
                self._console_locks[locator] = (lock, users - 1)

    async def note(self, locator: str, text: str) -> None:
        """A server-side line in the job's console (GoCD's `##` notice tag)."""
        stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
        await self.store.append(locator, CONSOLE_LOG, _one(f"##|{stamp} {text}\n".encode()))

    async def upload(
        self, locator: str, path: str, chunks: AsyncIterator[bytes], md5: str | None
    ) -> tuple[str, int]:
        """Store one artifact file; the MD5 must match when given. Returns (path, size)."""
        clean = safe_path(path)
        if clean == CRUISE_OUTPUT or clean.startswith(f"{CRUISE_OUTPUT}/"):
            raise ForbiddenPath(f"'{CRUISE_OUTPUT}' is a system folder.")
        digest = await self.store.create(locator, clean, chunks)
        if md5 is not None and md5.lower() != digest:
            raise Invalid(f"Checksum of {clean} does not match: got {digest}, expected {md5}.")
        await self.store.append(locator, MD5_CHECKSUM, _one(f"{clean}={digest}\n".encode()))
        return clean, await self.store.size(locator, clean) or 0

    async def sha1(self, locator: str, path: str) -> str:
        """GoCD's `FileHandler.sha1Digest` of a stored file: base64 of the raw SHA-1."""
        digest = hashlib.sha1(usedforsecurity=False)
        async for chunk in self.store.read(locator, path):
            digest.update(chunk)
        return base64.b64encode(digest.digest()).decode("ascii")

    async def not_modified(self, locator: str, path: str, sha1: str | None) -> bool:
        """True when a client's `?sha1=` names the stored file's content (GoCD's 304)."""
        return bool(sha1) and sha1 == await self.sha1(locator, path)

    async def checksums(self, locator: str) -> dict[str, str]:
        """`path → md5` from the job's `md5.checksum`."""
        if await self.store.size(locator, MD5_CHECKSUM) is None:
            return {}
        data = b"".join([chunk async for chunk in self.store.read(locator, MD5_CHECKSUM)])
        found: dict[str, str] = {}
        for line in data.decode("utf-8", "replace").splitlines():
            name, sep, digest = line.rpartition("=")
            if sep and name:
                found[name] = digest.strip()
        return found


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data
