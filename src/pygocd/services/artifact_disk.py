"""The `ArtifactStore` on local disk: `<root>/pipelines/<p>/<c>/<s>/<sc>/<job>/<path>`.

It is an adapter, but it needs nothing but the standard library, so it lives beside the
service instead of in a layer of its own (the layer contract admits no new top-level package
for it); an S3-compatible store would implement the same port. File work runs in a thread so
the event loop never waits on the disk. Paths reaching here are already checked by
`pygocd.services.artifacts.safe_path`; the store checks again that they stay inside the job.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pygocd.domain.errors import Conflict, NotFound

CHUNK = 64 * 1024
APPEND_BATCH = 1024 * 1024


@dataclass(frozen=True)
class DiskNode:
    name: str
    path: str
    is_folder: bool
    children: Sequence[DiskNode] = field(default_factory=tuple)


class DiskArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def job_dir(self, locator: str) -> Path:
        return self.root / "pipelines" / locator

    def _file(self, locator: str, path: str) -> Path:
        base = self.job_dir(locator).resolve()
        target = (base / path).resolve() if path else base
        if target != base and base not in target.parents:
            raise NotFound(f"Artifact '{path}' is unavailable.")
        return target

    async def size(self, locator: str, path: str) -> int | None:
        target = self._file(locator, path)

        def size() -> int | None:
            return target.stat().st_size if target.is_file() else None

        return await asyncio.to_thread(size)

    async def kind(self, locator: str, path: str) -> str | None:
        target = self._file(locator, path)

        def kind() -> str | None:
            if target.is_file():
                return "file"
            if target.is_dir():
                return "folder"
            return None

        return await asyncio.to_thread(kind)

    async def append(self, locator: str, path: str, chunks: AsyncIterator[bytes]) -> int:
        """Append what arrives and return the file's new size. Bytes are gathered and written
        a batch at a time: each trip to a thread costs more than writing a console chunk."""
        target = self._file(locator, path)
        batch = bytearray()
        size: int | None = None
        try:
            async for chunk in chunks:
                batch += chunk
                if len(batch) >= APPEND_BATCH:
                    size = await asyncio.to_thread(_append, target, bytes(batch))
                    batch.clear()
        finally:
            if batch or size is None:  # what arrived is kept even when the sender broke off
                size = await asyncio.to_thread(_append, target, bytes(batch))
        return size

    async def create(self, locator: str, path: str, chunks: AsyncIterator[bytes]) -> str:
        target = self._file(locator, path)
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.{id(chunks)}.part")
        digest = hashlib.md5(usedforsecurity=False)
        handle = await asyncio.to_thread(open, partial, "wb")
        try:
            async for chunk in chunks:
                digest.update(chunk)
                await asyncio.to_thread(handle.write, chunk)
        except BaseException:
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(partial.unlink, True)
            raise
        await asyncio.to_thread(handle.close)

        def publish() -> bool:
            if target.exists():
                partial.unlink(missing_ok=True)
                return False
            partial.rename(target)
            return True

        if not await asyncio.to_thread(publish):
            raise Conflict(f"File {path} already exists.")
        return digest.hexdigest()

    async def read(self, locator: str, path: str, offset: int = 0) -> AsyncIterator[bytes]:
        target = self._file(locator, path)
        try:
            handle = await asyncio.to_thread(open, target, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"Artifact '{path}' is unavailable.") from None
        try:
            if offset:
                await asyncio.to_thread(handle.seek, offset)
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def files(self, locator: str, path: str) -> list[tuple[str, int]]:
        base = self.job_dir(locator).resolve()
        target = self._file(locator, path)

        def walk() -> list[tuple[str, int]]:
            if target.is_file():
                return [(target.relative_to(base).as_posix(), target.stat().st_size)]
            found = []
            for folder, _dirs, names in os.walk(target):
                for name in names:
                    if name.endswith(".part") and name.startswith("."):
                        continue
                    file = Path(folder) / name
                    found.append((file.relative_to(base).as_posix(), file.stat().st_size))
            return sorted(found)

        return await asyncio.to_thread(walk)

    async def tree(self, locator: str, path: str) -> list[DiskNode]:
        base = self.job_dir(locator).resolve()
        target = self._file(locator, path)

        def nodes(folder: Path) -> list[DiskNode]:
            out = []
            for entry in sorted(folder.iterdir(), key=lambda p: p.name):
                if entry.name.startswith(".") and entry.name.endswith(".part"):
                    continue
                relative = entry.relative_to(base).as_posix()
                if entry.is_dir():
                    out.append(DiskNode(entry.name, relative, True, tuple(nodes(entry))))
                else:
                    out.append(DiskNode(entry.name, relative, False))
            return out

        def build() -> list[DiskNode]:
            return nodes(target) if target.is_dir() else []

        return await asyncio.to_thread(build)


def _append(target: Path, data: bytes) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("ab") as handle:
        handle.write(data)
        return handle.tell()
