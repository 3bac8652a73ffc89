"""The agent's life: register once (uuid and token kept in the work dir), then long-poll for
work and run each job; on losing the server, retry with back-off."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import platform
import shutil
import socket
import uuid as uuids
from dataclasses import dataclass, field
from pathlib import Path

from pygocd import __version__
from pygocd.agent.client import Rejected, ServerClient, Unregistered
from pygocd.agent.http import TransportError
from pygocd.protocol import messages as wire

log = logging.getLogger("pygocd.agent")

WORK_WAIT_SECONDS = 30.0
IDLE_BEFORE_TIDYING_SECONDS = 1.0
"""How long a work request waits unanswered before the agent hands memory back to the OS:
tidying takes tens of milliseconds, so it must not sit between one job and the next."""


@dataclass
class AgentOptions:
    server_url: str
    work_dir: Path = Path("agent-work")
    auto_register_key: str | None = None
    resources: list[str] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    hostname: str | None = None
    max_backoff: float = 10.0


class Identity:
    """`config/guid.txt` and `config/token` in the work dir, as GoCD's agent keeps them."""

    def __init__(self, work_dir: Path) -> None:
        self.folder = work_dir / "config"

    def load(self) -> tuple[str, str] | None:
        try:
            uuid = (self.folder / "guid.txt").read_text().strip()
            token = (self.folder / "token").read_text().strip()
        except FileNotFoundError:
            return None
        return (uuid, token) if uuid and token else None

    def save(self, uuid: str, token: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "guid.txt").write_text(uuid + "\n")
        token_file = self.folder / "token"
        token_file.touch(mode=0o600)
        token_file.write_text(token + "\n")

    def forget(self) -> None:
        for name in ("guid.txt", "token"):
            (self.folder / name).unlink(missing_ok=True)


class Agent:
    def __init__(self, options: AgentOptions, *, transport: object = None) -> None:
        self.options = options
        self.work_dir = options.work_dir.resolve()
        self.client = ServerClient(
            options.server_url, transport=transport, max_backoff=options.max_backoff
        )
        self.identity = Identity(self.work_dir)
        self.jobs_run = 0
        self.untidy = False
        """A job ran since memory was last handed back to the OS."""
        self.stopping = asyncio.Event()

    def free_space(self) -> int | None:
        try:
            return shutil.disk_usage(self.work_dir).free
        except OSError:
            return None

    async def register(self) -> None:
        found = self.identity.load()
        if found is not None:
            self.client.uuid, self.client.token = found
            release_memory()
            return
        delay = 0.5
        while not self.stopping.is_set():
            uuid = str(uuids.uuid4())
            request = wire.RegisterRequest(
                uuid=uuid,
                hostname=self.options.hostname or socket.gethostname(),
                location=str(self.work_dir),
                operating_system=platform.system(),
                agent_version=__version__,
                free_space=self.free_space(),
                auto_register_key=self.options.auto_register_key,
                resources=self.options.resources,
                environments=self.options.environments,
            )
            try:
                registered = await self.client.register(request)
            except (TransportError, Rejected) as error:
                log.warning("cannot register with %s: %s", self.options.server_url, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.options.max_backoff)
                continue
            self.identity.save(registered.uuid, registered.token)
            self.client.uuid, self.client.token = registered.uuid, registered.token
            log.info("registered as %s (%s)", registered.uuid, registered.config_state)
            release_memory()
            return

    async def run(self, *, max_jobs: int | None = None) -> None:
        """Serve until stopped (or until `max_jobs` jobs have run, for tests)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            await self.register()
            delay = 0.5
            while not self.stopping.is_set():
                if max_jobs is not None and self.jobs_run >= max_jobs:
                    return
                try:
                    reply = await self._ask_for_work()
                except Unregistered:
                    log.warning("the server does not know this agent any more; registering")
                    self.identity.forget()
                    await self.register()
                    continue
                except (TransportError, Rejected) as error:
                    log.warning("cannot reach %s: %s", self.options.server_url, error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.options.max_backoff)
                    continue
                delay = 0.5
                if isinstance(reply, wire.Work):
                    await self.run_job(reply)
                    self.untidy = True
        finally:
            await self.client.close()

    async def _ask_for_work(self) -> wire.Work | wire.NoWork:
        """Long-poll for work; after a job, tidy memory once the agent has waited a while."""
        asking = asyncio.ensure_future(
            self.client.work(
                wire.WorkRequest(
                    runtime_status="Idle",
                    free_space=self.free_space(),
                    wait_seconds=WORK_WAIT_SECONDS,
                )
            )
        )
        try:
            if self.untidy:
                done, _ = await asyncio.wait({asking}, timeout=IDLE_BEFORE_TIDYING_SECONDS)
                if not done:
                    release_memory()
                    self.untidy = False
            return await asking
        finally:
            asking.cancel()  # only matters when this agent is being stopped meanwhile

    async def run_job(self, work: wire.Work) -> str:
        from pygocd.agent.job import JobRunner  # loaded with the first job: idle stays small

        log.info("running %s", work.job.locator)
        runner = JobRunner(self.client, self.work_dir, work)
        try:
            result = await runner.run()
        except Unregistered:
            log.warning("the server refused our report on %s", work.job.locator)
            result = "Unknown"
        self.jobs_run += 1
        log.info("%s finished: %s", work.job.locator, result)
        return result


def default_hostname() -> str:
    return os.environ.get("HOSTNAME") or socket.gethostname()


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS, so an idle agent stays small
    after start-up and after each job (glibc only; elsewhere a no-op)."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
