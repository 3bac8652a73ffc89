"""The job's console: GoCD's tagged, time-stamped lines, secrets masked, streamed in chunks.

Each line is written as `<tag>|HH:mm:ss.SSS <text>` (GoCD's `TaggedStreamConsumer`). Lines go
to the server in chunks at a byte offset, so a resent chunk is never stored twice. A writer
that outruns the network waits (the buffer is bounded), so a job printing 100 MB keeps the
agent's memory flat too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

MASK = "********"

NOTICE = "##"
PREP = "pr"
PREP_ERROR = "pe"
TASK_START = "!!"
OUT = "&1"
ERR = "&2"
TASK_PASS = "?0"  # noqa: S105 - a console tag, not a password
TASK_FAIL = "?1"
TASK_CANCELLED = "^C"
CANCEL_TASK_START = "!x"
CANCEL_TASK_PASS = "x0"  # noqa: S105 - a console tag, not a password
CANCEL_TASK_FAIL = "x1"
JOB_PASS = "j0"  # noqa: S105 - a console tag, not a password
JOB_FAIL = "j1"
PUBLISH = "ar"
PUBLISH_ERROR = "ae"
COMPLETED = "ex"

CHUNK_BYTES = 256 * 1024
BUFFER_LIMIT = 4 * 1024 * 1024
FLUSH_INTERVAL = 0.1

Sender = Callable[[int, bytes], Awaitable[tuple[int, bool]]]
"""Send bytes at an offset; returns (the console's size on the server, job cancelled)."""


def mask(text: str, secrets: Iterable[str]) -> str:
    """Every secret replaced by `********`, longer secrets first (one may contain another)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class Console:
    def __init__(
        self,
        send: Sender,
        secrets: Iterable[str] = (),
        *,
        on_cancelled: Callable[[], None] | None = None,
    ) -> None:
        self._send = send
        # Longer secrets first, so one that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._on_cancelled = on_cancelled
        self._pending = bytearray()
        self._offset = 0
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        # One send at a time: two sends at the same offset would make the server skip bytes.
        self._sending = asyncio.Lock()
        self.last_output = time.monotonic()

    def start(self) -> None:
        self._task = asyncio.create_task(self._flusher(), name="console-flusher")

    def line(self, tag: str, text: str) -> None:
        """Queue one or more lines with a tag (multi-line text is re-tagged per line)."""
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        masked = mask(text, self._secrets)
        for part in masked.split("\n") if masked else [""]:
            self._pending += f"{tag}|{stamp} {part}\n".encode("utf-8", "replace")
        self.last_output = time.monotonic()
        if len(self._pending) >= CHUNK_BYTES:
            self._wakeup.set()
        if len(self._pending) >= BUFFER_LIMIT:
            self._room.clear()

    async def write(self, tag: str, text: str) -> None:
        """`line`, then wait while the buffer is full."""
        self.line(tag, text)
        await self._room.wait()

    async def flush(self) -> None:
        while self._pending:
            await self._send_some()

    async def close(self) -> None:
        self._closed = True
        self._wakeup.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _flusher(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), FLUSH_INTERVAL)
            self._wakeup.clear()
            while self._pending:
                await self._send_some()

    async def _send_some(self) -> None:
        async with self._sending:
            if self._pending:
                await self._send_locked()

    async def _send_locked(self) -> None:
        chunk = bytes(self._pending[:CHUNK_BYTES])
        size, cancelled = await self._send(self._offset, chunk)
        if size < self._offset:
            self._offset = size  # the server has less than we sent (it lost some): resync
        else:
            sent = min(len(chunk), size - self._offset)
            del self._pending[:sent]
            self._offset += sent
        if len(self._pending) < BUFFER_LIMIT:
            self._room.set()
        if cancelled and self._on_cancelled is not None:
            self._on_cancelled()
