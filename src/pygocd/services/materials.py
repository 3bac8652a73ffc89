"""Material updates (GoCD's "material database update", MDU): poll git materials into the
modifications history and tell the scheduler through `MATERIAL_UPDATED`.

The first update of a material records only its latest revision; later updates record every
new commit since the last recorded one, oldest first. A poll first asks `git ls-remote` for
the branch head and stops there, without a fetch, when that is the last recorded revision; an
update someone asked for (webhook, notify, manual trigger) expects news and fetches at once.
Updates of one material never overlap: a request that arrives while one runs (a webhook
during a poll) makes it run once more, and all callers get the modifications of both runs.
A failure is kept per material (message with credentials masked) and puts the material in
GoCD's back-off (5 min, ×1.5, at most 60 min) for the polling loop; webhooks, the notify API
and manual triggers update it at once anyway.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from pygocd.domain.config import CruiseConfig
from pygocd.domain.materials import (
    GitMaterialConfig,
    MaterialConfig,
    mask_credentials,
    url_without_credentials,
)
from pygocd.domain.modifications import Modification
from pygocd.services import git_materials
from pygocd.services.events import MATERIAL_UPDATED
from pygocd.services.git import GitError, mask_text
from pygocd.services.ports import Clock, EventBus, UnitOfWorkFactory

log = logging.getLogger("pygocd.materials")

DEFAULT_POLL_INTERVAL = 60.0
MAX_CONCURRENT_UPDATES = 10  # GoCD's material.check.threads
CLOSE_GRACE_SECONDS = 10.0


class HealthReporter(Protocol):
    """Where update failures are shown to admins (`ServerHealth`)."""

    def error(self, scope: str, message: str, detail: str) -> None: ...

    def clear(self, scope: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """GoCD's `ExponentialBackOff`: the first retry after `first` seconds, each next one
    `multiplier` times later, never more than `cap` seconds."""

    first: float = 300.0
    multiplier: float = 1.5
    cap: float = 3600.0

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return float(min(self.first * self.multiplier ** (failures - 1), self.cap))


@dataclass(frozen=True, slots=True)
class MaterialUpdateResult:
    """What one update found: the new modifications (oldest first, with ids) or an error."""

    fingerprint: str
    modifications: tuple[Modification, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def modification_ids(self) -> list[int]:
        return [m.id for m in self.modifications if m.id is not None]


@dataclass(frozen=True, slots=True)
class MaterialStatus:
    """The update state of one material, for the materials page and API."""

    fingerprint: str
    in_progress: bool = False
    last_updated_at: datetime | None = None  # last successful update
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0  # consecutive
    next_poll_at: datetime | None = None


@dataclass
class _Run:
    task: asyncio.Task[MaterialUpdateResult]
    again: bool = False
    poll: bool = False  # only polls asked for this run: ask the remote before fetching
    found: list[Modification] = field(default_factory=list)


def git_materials_of(config: CruiseConfig) -> list[GitMaterialConfig]:
    """The distinct git materials (by fingerprint) of every pipeline; a material used by
    several pipelines polls if any of them says `auto_update`."""
    by_fingerprint: dict[str, GitMaterialConfig] = {}
    for pipeline in config.runnable_pipelines():
        for material in pipeline.materials:
            if not isinstance(material, GitMaterialConfig):
                if getattr(material, "is_scm", False):
                    log.debug("material %s of %s is not polled yet", material.kind, pipeline.name)
                continue
            known = by_fingerprint.get(material.fingerprint)
            if known is None:
                by_fingerprint[material.fingerprint] = material
            elif material.auto_update and not known.auto_update:
                by_fingerprint[material.fingerprint] = replace(known, auto_update=True)
    return list(by_fingerprint.values())


UNSUPPORTED_KINDS = {
    "svn": "Subversion",
    "hg": "Mercurial",
    "p4": "Perforce",
    "tfs": "Tfs",
    "package": "Package",
    "plugin": "SCM plugin",
}
"""Material kinds this server can neither poll nor check out (no hg/svn/p4/tfs client nor
plugins here): each gets a health message instead of silence."""


def unsupported_materials_of(config: CruiseConfig) -> dict[str, tuple[MaterialConfig, list[str]]]:
    """fingerprint → (material, names of the pipelines using it) for every material whose
    kind is in `UNSUPPORTED_KINDS`."""
    found: dict[str, tuple[MaterialConfig, list[str]]] = {}
    for pipeline in config.runnable_pipelines():
        for material in pipeline.materials:
            if material.kind in UNSUPPORTED_KINDS:
                found.setdefault(material.fingerprint, (material, []))[1].append(pipeline.name)
    return found


def unsupported_message(material: MaterialConfig, pipelines: list[str]) -> tuple[str, str]:
    """The health message's title and detail for a material this server cannot use."""
    kind = UNSUPPORTED_KINDS[material.kind]
    where = getattr(material, "url", None) or getattr(material, "port", None) or material.name
    title = f"{kind} material is not supported: {mask_credentials(str(where or ''))}"
    detail = (
        f"pygocd polls and checks out git materials only; this {kind} material is never "
        f"updated, so pipeline(s) {', '.join(sorted(pipelines))} cannot be scheduled until "
        "it is replaced by a git material."
    )
    return title, detail


def describe(material: GitMaterialConfig) -> str:
    """GoCD's material description in messages: URL (credentials masked) and branch."""
    return f"URL: {mask_credentials(material.url)}, Branch: {material.effective_branch}"


class MaterialUpdateService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        bus: EventBus,
        clock: Clock,
        config: Callable[[], CruiseConfig],
        cache_dir: Path,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        backoff: Backoff | None = None,
        jitter: Callable[[], float] | None = None,
        max_concurrent: int = MAX_CONCURRENT_UPDATES,
        health: HealthReporter | None = None,
    ) -> None:
        self._health = health
        self._unsupported: set[str] = set()
        self._uow = uow
        self._bus = bus
        self._clock = clock
        self._config = config
        self._cache_dir = cache_dir
        self.poll_interval = poll_interval
        self._backoff = backoff or Backoff()
        self._jitter = jitter or (lambda: random.uniform(0.9, 1.1))  # noqa: S311
        self._slots = asyncio.Semaphore(max_concurrent)
        self._runs: dict[str, _Run] = {}
        self._status: dict[str, MaterialStatus] = {}

    # -- what there is ---------------------------------------------------------------------

    def materials(self) -> list[GitMaterialConfig]:
        """The git materials of the effective config, one per fingerprint."""
        return git_materials_of(self._config())

    def find(self, fingerprint: str) -> MaterialConfig | None:
        """Any material of the effective config with this fingerprint."""
        for pipeline in self._config().runnable_pipelines():
            for material in pipeline.materials:
                if material.fingerprint == fingerprint:
                    return material
        return None

    def cache_path(self, fingerprint: str) -> Path:
        return self._cache_dir / f"{fingerprint}.git"

    def status(self, fingerprint: str) -> MaterialStatus:
        status = self._status.get(fingerprint, MaterialStatus(fingerprint))
        return replace(status, in_progress=fingerprint in self._runs)

    def statuses(self) -> list[MaterialStatus]:
        return [self.status(m.fingerprint) for m in self.materials()]

    def matching(self, urls: Iterable[str], branch: str | None = None) -> list[GitMaterialConfig]:
        """Git materials whose URL without credentials is one of `urls` (compared without
        credentials too) and, when `branch` is given, whose branch is that branch."""
        wanted = {url_without_credentials(url) for url in urls}
        return [
            material
            for material in self.materials()
            if url_without_credentials(material.url) in wanted
            and (branch is None or material.effective_branch == branch)
        ]

    # -- updating --------------------------------------------------------------------------

    def start_update(
        self, material: GitMaterialConfig, *, poll: bool = False
    ) -> asyncio.Task[MaterialUpdateResult]:
        """Begin updating `material` now (or once more after the running update) and return
        the task; the caller need not await it. A `poll` (the timer's, not a request)
        first asks the remote whether the branch moved at all."""
        run = self._runs.get(material.fingerprint)
        if run is not None:
            run.again = True
            run.poll = run.poll and poll
            return run.task
        task = asyncio.create_task(
            self._run(material), name=f"material-update-{material.fingerprint[:12]}"
        )
        self._runs[material.fingerprint] = _Run(task, poll=poll)
        return task

    async def update(
        self, material: GitMaterialConfig, *, poll: bool = False
    ) -> MaterialUpdateResult:
        """Update `material` now and return what was found (e.g. before a manual trigger)."""
        return await asyncio.shield(self.start_update(material, poll=poll))

    def due(self) -> list[GitMaterialConfig]:
        """Auto-update materials whose poll interval (or back-off after failures) has passed."""
        now = self._clock.now()
        due: list[GitMaterialConfig] = []
        for material in self.materials():
            if not material.auto_update or material.fingerprint in self._runs:
                continue
            status = self._status.get(material.fingerprint)
            if status is None or status.next_poll_at is None or status.next_poll_at <= now:
                due.append(material)
        return due

    def report_unsupported(self) -> list[str]:
        """An error health message per material of a kind this server cannot update (and
        none any more for those gone from config); their fingerprints."""
        found = unsupported_materials_of(self._config())
        if self._health is not None:
            for fingerprint in self._unsupported - found.keys():
                self._health.clear(_unsupported_scope(fingerprint))
            for fingerprint, (material, pipelines) in found.items():
                self._health.error(
                    _unsupported_scope(fingerprint), *unsupported_message(material, pipelines)
                )
        self._unsupported = set(found)
        return sorted(found)

    async def update_all_due(self) -> list[MaterialUpdateResult]:
        """Update every due material (at most `max_concurrent` at a time); never raises for
        one material's failure."""
        self.report_unsupported()
        tasks = [self.start_update(material, poll=True) for material in self.due()]
        return list(await asyncio.gather(*tasks)) if tasks else []

    async def close(self, grace: float = CLOSE_GRACE_SECONDS) -> None:
        """Let running updates finish for up to `grace` seconds, then cancel the rest
        (server shutdown)."""
        tasks = [run.task for run in self._runs.values()]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, material: GitMaterialConfig) -> MaterialUpdateResult:
        fingerprint = material.fingerprint
        run = self._runs[fingerprint]
        try:
            while True:
                run.again = False
                result = await self._update_once(material, poll=run.poll)
                run.found.extend(result.modifications)
                if not result.ok or not run.again:
                    return replace(result, modifications=tuple(run.found))
        finally:
            del self._runs[fingerprint]

    async def _update_once(
        self, material: GitMaterialConfig, *, poll: bool
    ) -> MaterialUpdateResult:
        fingerprint = material.fingerprint
        try:
            async with self._slots:
                saved = await self._fetch_and_record(material, poll=poll)
        except (GitError, OSError) as error:
            return self._failed(material, str(error))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a poll must never take the loop down
            log.exception("material update of %s failed", describe(material))
            return self._failed(material, f"{type(error).__name__}: {error}")
        now = self._clock.now()
        self._status[fingerprint] = MaterialStatus(
            fingerprint,
            last_updated_at=now,
            next_poll_at=now + timedelta(seconds=self.poll_interval * self._jitter()),
        )
        if self._health is not None:
            self._health.clear(_health_scope(fingerprint))
        await self._bus.publish(
            MATERIAL_UPDATED,
            {"fingerprint": fingerprint, "modification_ids": [m.id for m in saved]},
        )
        return MaterialUpdateResult(fingerprint, tuple(saved))

    async def _fetch_and_record(
        self, material: GitMaterialConfig, *, poll: bool
    ) -> list[Modification]:
        cache = self.cache_path(material.fingerprint)
        if poll:
            known = await self._last_recorded(material)
            # One `git ls-remote` answers most polls: nothing new, nothing to fetch.
            if (
                known is not None
                and (cache / "HEAD").exists()
                and await git_materials.remote_head(material) == known
            ):
                return []
            await git_materials.fetch(material, cache)
        else:  # someone expects news: fetch at once, reading the database meanwhile
            known, _ = await asyncio.gather(
                self._last_recorded(material), git_materials.fetch(material, cache)
            )
        found = await git_materials.new_modifications(
            cache, git_materials.branch_ref(material), known
        )
        if not found:
            return []
        async with self._uow() as uow:
            material_id = await uow.materials.ensure(material)
            saved = await uow.materials.add_modifications(material_id, found)
            await uow.commit()
        return saved

    async def _last_recorded(self, material: GitMaterialConfig) -> str | None:
        async with self._uow(read_only=True) as uow:
            latest = await uow.materials.latest_modifications(material.fingerprint)
        return latest[0].revision if latest else None

    def _failed(self, material: GitMaterialConfig, reason: str) -> MaterialUpdateResult:
        fingerprint = material.fingerprint
        message = mask_text(reason, git_materials.secret_urls(material))
        old = self._status.get(fingerprint, MaterialStatus(fingerprint))
        failures = old.failures + 1
        now = self._clock.now()
        self._status[fingerprint] = replace(
            old,
            last_error=message,
            last_error_at=now,
            failures=failures,
            next_poll_at=now + timedelta(seconds=self._backoff.delay(failures)),
        )
        title = f"Modification check failed for material: {describe(material)}"
        log.warning("%s: %s", title, message)
        if self._health is not None:
            self._health.error(_health_scope(fingerprint), title, message)
        return MaterialUpdateResult(fingerprint, error=message)


def _health_scope(fingerprint: str) -> str:
    return f"material-update:{fingerprint}"


def _unsupported_scope(fingerprint: str) -> str:
    return f"material-unsupported:{fingerprint}"
