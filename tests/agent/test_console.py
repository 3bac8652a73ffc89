"""The agent's console stream and the server's offset appends: nothing lost, nothing doubled,
secrets masked, GoCD's tags and times."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

from pygocd.agent.console import Console, mask
from pygocd.services.artifact_disk import DiskArtifactStore
from pygocd.services.artifacts import CONSOLE_LOG, ArtifactService

LOCATOR = "p/1/s/1/j"


async def one(data: bytes) -> AsyncIterator[bytes]:
    await asyncio.sleep(0)
    yield data


def server(tmp_path: Path) -> ArtifactService:
    return ArtifactService(DiskArtifactStore(tmp_path))


async def stored(service: ArtifactService) -> str:
    return b"".join([c async for c in service.store.read(LOCATOR, CONSOLE_LOG)]).decode()


async def test_concurrent_sends_at_one_offset_store_the_bytes_once(tmp_path: Path) -> None:
    service = server(tmp_path)
    sizes = await asyncio.gather(
        service.append_console(LOCATOR, 0, one(b"aaaa")),
        service.append_console(LOCATOR, 0, one(b"aaaabbbb")),
        service.append_console(LOCATOR, 0, one(b"aaaa")),
    )
    assert await stored(service) == "aaaabbbb"
    assert max(sizes) == 8


async def test_a_console_streams_every_line_in_order_while_flushing(tmp_path: Path) -> None:
    service = server(tmp_path)

    async def send(offset: int, data: bytes) -> tuple[int, bool]:
        await asyncio.sleep(0.001)
        return await service.append_console(LOCATOR, offset, one(data)), False

    console = Console(send, ["hunter2"])
    console.start()
    for i in range(300):
        await console.write("&1", f"line {i} hunter2")
        if i % 50 == 0:
            await console.flush()  # races the background flusher, as job reports do
    await console.close()
    lines = (await stored(service)).splitlines()
    assert len(lines) == 300
    assert [re.sub(r"^&1\|\d\d:\d\d:\d\d\.\d{3} ", "", line) for line in lines] == [
        f"line {i} ********" for i in range(300)
    ]


def test_masking_prefers_the_longest_secret() -> None:
    assert mask("a secret-long b", ["secret", "secret-long"]) == "a ******** b"
    assert mask("nothing", ["", "x"]) == "nothing"
