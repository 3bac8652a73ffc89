"""Running one command: its own process group, output streamed line by line, and a cancel
that takes down the whole process tree (GoCD's `BuilderForKillAllChildTask`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable

LineSink = Callable[[str, str], Awaitable[None]]
"""(tag, text) for each line of output; `&1` stdout, `&2` stderr."""

KILL_GRACE_SECONDS = 5.0
STREAM_LIMIT = 1024 * 1024


async def run_command(
    argv: list[str],
    *,
    cwd: str,
    env: dict[str, str],
    sink: LineSink,
    cancelled: asyncio.Event,
    grace: float = KILL_GRACE_SECONDS,
) -> int | None:
    """The exit code, or None when cancelled (the process group is killed first: SIGTERM,
    then SIGKILL after `grace` seconds)."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=STREAM_LIMIT,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    readers = asyncio.gather(_pump(process.stdout, "&1", sink), _pump(process.stderr, "&2", sink))
    waiter = asyncio.ensure_future(process.wait())
    cancel = asyncio.ensure_future(cancelled.wait())
    try:
        await asyncio.wait({waiter, cancel}, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            await kill_group(process, grace)
            await waiter
            with contextlib.suppress(Exception):
                await asyncio.wait_for(readers, 5)
            return None
        await readers
        return waiter.result()
    finally:
        cancel.cancel()
        if not waiter.done():
            await kill_group(process)
            await waiter
        if not readers.done():
            readers.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await readers


async def kill_group(
    process: asyncio.subprocess.Process, grace: float = KILL_GRACE_SECONDS
) -> None:
    """SIGTERM to the whole process group and SIGKILL after a grace period; SIGKILL at once
    without one. Children that ignored SIGTERM get SIGKILL even when the leader is gone."""
    if grace > 0:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(process.wait()), grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def _pump(stream: asyncio.StreamReader, tag: str, sink: LineSink) -> None:
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # a line longer than the limit: take what is there
            raw = await stream.read(STREAM_LIMIT)
        if not raw:
            return
        await sink(tag, raw.decode("utf-8", "replace").rstrip("\r\n"))
