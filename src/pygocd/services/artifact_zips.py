"""Folder zips of job artifacts, built in the background as GoCD's `ZipArtifactCache` does.

The first request for `<folder>.zip` starts building the zip under the data directory
(`<cache>/<job and folder key>/<content key>.zip`, written to a `.tmp` file and renamed) and is
answered 202; once the zip is there it is served. The content key is a digest of the folder's
file list (paths and sizes), so a folder that gains files after its zip was built gets a new
zip instead of a stale one (GoCD keeps the stale one until its cache is purged).

As GoCD's `ZipUtil.zip`, a sub-folder's entries start with the folder's name (`bin/app.txt`);
the job's root folder (`<job>/.zip`) zips its contents as they are.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import zipfile
from pathlib import Path

from pygocd.services.ports import ArtifactStore

log = logging.getLogger("pygocd.artifacts")


class ArtifactZips:
    def __init__(self, store: ArtifactStore, cache_dir: Path) -> None:
        self._store = store
        self._cache_dir = cache_dir
        self._building: dict[Path, asyncio.Task[None]] = {}

    async def ready(self, locator: str, folder: str) -> Path | None:
        """The zip of `folder` when it is built; else None, and building has started."""
        entries = await self._store.files(locator, folder)
        target = self._target(locator, folder, entries)
        if await asyncio.to_thread(target.is_file):
            return target
        if target not in self._building:
            task = asyncio.create_task(self._build(locator, folder, entries, target))
            self._building[target] = task
            task.add_done_callback(lambda _t: self._building.pop(target, None))
        return None

    def _target(self, locator: str, folder: str, entries: list[tuple[str, int]]) -> Path:
        where = hashlib.sha256(f"{locator}\0{folder}".encode()).hexdigest()[:32]
        what = hashlib.sha256(repr(entries).encode()).hexdigest()[:32]
        return self._cache_dir / where / f"{what}.zip"

    async def _build(
        self, locator: str, folder: str, entries: list[tuple[str, int]], target: Path
    ) -> None:
        partial = target.with_suffix(".zip.tmp")
        try:
            await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
            root = f"{folder.rsplit('/', 1)[-1]}/" if folder else ""
            prefix = f"{folder}/" if folder else ""
            archive = await asyncio.to_thread(zipfile.ZipFile, partial, "w", zipfile.ZIP_DEFLATED)
            try:
                for path, _size in entries:
                    name = root + path.removeprefix(prefix)
                    out = await asyncio.to_thread(archive.open, name, "w")
                    try:
                        async for chunk in self._store.read(locator, path):
                            await asyncio.to_thread(out.write, chunk)
                    finally:
                        await asyncio.to_thread(out.close)
            finally:
                await asyncio.to_thread(archive.close)
            await asyncio.to_thread(self._publish, partial, target)
        except Exception:
            log.exception("building %s of %s failed", folder or ".", locator)
            await asyncio.to_thread(partial.unlink, True)

    @staticmethod
    def _publish(partial: Path, target: Path) -> None:
        partial.replace(target)
        for stale in target.parent.glob("*.zip"):
            if stale != target:
                stale.unlink(missing_ok=True)
