"""The ports services depend on; `pygocd.db` and `pygocd.bus` implement them.

Ports give the direction of dependencies, not a seam for mocking: service tests use the real
database adapter on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from pygocd.domain.agents import Agent
from pygocd.domain.config import ConfigRevision
from pygocd.domain.materials import MaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.runs import (
    JobIdentifier,
    JobInstance,
    PipelineInstance,
    PipelineState,
    StageInstance,
    StageRun,
)
from pygocd.domain.states import AgentRuntimeStatus, JobResult, JobState, StageState


class Clock(Protocol):
    def now(self) -> datetime: ...


class ConfigRevisionRepository(Protocol):
    async def latest(self) -> ConfigRevision | None: ...

    async def get(self, md5: str) -> ConfigRevision | None: ...

    async def list(self, limit: int = 50, offset: int = 0) -> list[ConfigRevision]: ...

    async def add(self, revision: ConfigRevision) -> int:
        """Store a revision, return its id; `Conflict` if another was saved on the same parent."""
        ...


class PipelineInstanceRepository(Protocol):
    async def next_counter(self, pipeline: str) -> int:
        """Increment and return the pipeline's counter (GoCD's `pipelinelabelcounts`)."""
        ...

    async def add(self, instance: PipelineInstance) -> PipelineInstance:
        """Insert an instance with its stages and jobs; returns it with ids filled in."""
        ...

    async def next_counters(self, names: Iterable[str]) -> dict[str, int]:
        """`next_counter` of several pipelines in one statement, by lower-cased name."""
        ...

    async def add_many(self, instances: Sequence[PipelineInstance]) -> list[PipelineInstance]:
        """`add` of several instances, a fixed number of statements however many."""
        ...

    async def find(
        self, pipeline: str, counter: int, *, with_materials: bool = True
    ) -> PipelineInstance | None:
        """Without materials, the build cause carries no material revisions: for readers that
        need only the stages and jobs."""
        ...

    async def last_revision_ids(self, pipeline: str) -> dict[str, int]:
        """Fingerprint → newest modification id of the pipeline's latest instance."""
        ...

    async def last_revision_ids_of(self, names: Iterable[str]) -> dict[str, dict[str, int]]:
        """`last_revision_ids` of several pipelines, by lower-cased name."""
        ...

    async def list_counters(self, pipeline: str) -> list[int]: ...

    async def state(self, pipeline: str) -> PipelineState: ...

    async def add_stage(self, pipeline_id: int, stage: StageInstance) -> StageInstance: ...

    async def find_by_id(self, pipeline_id: int) -> PipelineInstance | None: ...

    async def find_by_stage_id(
        self, stage_id: int, *, with_materials: bool = True
    ) -> PipelineInstance | None: ...

    async def latest(
        self, pipeline: str, limit: int = 1, *, with_materials: bool = True
    ) -> list[PipelineInstance]: ...

    async def history(
        self, pipeline: str, page_size: int, after: int | None = None, before: int | None = None
    ) -> tuple[list[PipelineInstance], bool, bool]: ...

    async def active_stages(self, pipeline: str) -> list[tuple[int, int, str]]: ...

    async def active_stages_of(self, names: Iterable[str]) -> dict[str, list[tuple[int, int, str]]]:
        """`active_stages` of several pipelines, by lower-cased name."""
        ...

    async def update_stage(
        self, stage_id: int, state: StageState, at: datetime, *, cancelled_by: str | None = None
    ) -> None: ...

    async def mark_older_runs(self, pipeline_id: int, stage_name: str) -> None: ...

    async def set_comment(self, pipeline_id: int, comment: str) -> None: ...

    async def set_paused(
        self, pipeline: str, paused: bool, by: str | None, cause: str | None, at: datetime | None
    ) -> None: ...

    async def set_lock(self, pipeline: str, locked_by_pipeline_id: int | None) -> None: ...


class JobRepository(Protocol):
    async def get(
        self, job_id: int, *, with_transitions: bool = True
    ) -> tuple[JobInstance, JobIdentifier] | None:
        """The job and where it runs; without transitions, its state history is left empty
        (state changes need only the current state)."""
        ...

    async def change_state(
        self,
        job: JobInstance,
        new_state: JobState,
        at: datetime,
        *,
        result: JobResult | None = None,
        agent_uuid: str | None = None,
        expected_state: JobState | None = None,
    ) -> bool:
        """Conditional move (+ transition row); False when the job was no longer as expected."""
        ...

    async def set_result(self, job_id: int, result: JobResult) -> None: ...

    async def mark_ignored(self, job_id: int) -> None: ...

    async def add(self, stage_id: int, job: JobInstance) -> JobInstance: ...

    async def scheduled(self, limit: int = 500) -> list[tuple[JobInstance, JobIdentifier]]: ...

    async def in_states(
        self, states: Iterable[JobState], limit: int = 1000
    ) -> list[tuple[JobInstance, JobIdentifier]]:
        """Non-ignored jobs in `states`, oldest first, without their transitions."""
        ...

    async def active_on_agent(self, agent_uuid: str) -> list[int]: ...


class MaterialRepository(Protocol):
    async def ensure(self, material: MaterialConfig) -> int:
        """The id of the material's row (one per fingerprint), created on first sight."""
        ...

    async def add_modifications(
        self, material_id: int, found: list[Modification]
    ) -> list[Modification]:
        """Store modifications given oldest first; returns them with ids."""
        ...

    async def latest_modifications(
        self, fingerprint: str, limit: int = 1
    ) -> list[Modification]: ...

    async def latest_modifications_of(
        self, fingerprints: Iterable[str], limit: int
    ) -> dict[str, list[Modification]]:
        """The newest `limit` modifications of each material, newest first, by fingerprint."""
        ...

    async def modifications_page(
        self, fingerprint: str, offset: int, limit: int, *, with_files: bool = False
    ) -> list[Modification]:
        """A page of a material's modifications, newest first."""
        ...

    async def count_modifications(self, fingerprint: str) -> int: ...

    async def find_modification(self, fingerprint: str, revision: str) -> Modification | None:
        """The material's (newest) modification with this revision, without its files."""
        ...

    async def modifications_by_ids(self, ids: list[int]) -> list[Modification]:
        """Modifications with their files, in the order of `ids` (e.g. a `MATERIAL_UPDATED`
        event's `modification_ids`)."""
        ...


class DashboardRepository(Protocol):
    """Batch reads for the dashboard: a fixed number of queries however many pipelines."""

    async def change_marker(self) -> tuple[int, int]:
        """A value that differs from an earlier reading iff some pipeline's change counter
        moved since (any write to its instances, stages, jobs, pause or lock state)."""
        ...

    async def change_versions(self) -> dict[str, int]:
        """Each pipeline's change counter by lower-cased name; missing means never changed."""
        ...

    async def states(self, names: Collection[str] | None = None) -> dict[str, PipelineState]:
        """Pause/lock/counter state by lower-cased pipeline name (all when `names` is None);
        pipelines that never had a state row are missing."""
        ...

    async def instances_to_show(
        self, names: Collection[str] | None = None
    ) -> dict[str, list[PipelineInstance]]:
        """By lower-cased pipeline name, newest first: every instance with an active
        latest-run stage plus the newest instance. Stages are the latest runs only, in
        order, with their non-ignored jobs (no transitions); no material revisions."""
        ...


class RunHistoryRepository(Protocol):
    """Read-only history queries: stage and job history pages and CCTray's batch reads."""

    async def stage_history(
        self,
        pipeline: str,
        stage: str,
        page_size: int,
        after: int | None = None,
        before: int | None = None,
    ) -> tuple[list[StageRun], bool, bool]:
        """A page of a stage's runs newest first (cursor = stage id); older/newer exist."""
        ...

    async def job_history(
        self,
        pipeline: str,
        stage: str,
        job: str,
        page_size: int,
        after: int | None = None,
        before: int | None = None,
    ) -> tuple[list[tuple[JobInstance, JobIdentifier]], bool, bool]: ...

    async def current_stage_runs(self, names: Collection[str] | None = None) -> list[StageRun]: ...

    async def last_completed_stage_runs(
        self, names: Collection[str] | None = None
    ) -> list[StageRun]: ...

    async def last_completed_jobs(
        self, names: Collection[str] | None = None
    ) -> list[tuple[JobInstance, JobIdentifier]]: ...

    async def breakers(self, pipeline_ids: Collection[int]) -> dict[int, list[str]]: ...

    async def modifications_between(
        self, fingerprint: str, after_id: int, upto_id: int
    ) -> list[Modification]: ...

    async def consumers(self, downstream: str, upstream: str, upstream_counter: int) -> list[int]:
        """Counters of `downstream`'s instances built from a dependency revision of the
        upstream instance `upstream/upstream_counter`, oldest first."""
        ...

    async def built_with(self, pipeline: str, fingerprint: str, modification_id: int) -> list[int]:
        """Counters of `pipeline`'s instances whose build took in that modification of the
        material (it lies in their from..to range), oldest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls back."""

    @property
    def config_revisions(self) -> ConfigRevisionRepository: ...

    @property
    def pipeline_instances(self) -> PipelineInstanceRepository: ...

    @property
    def materials(self) -> MaterialRepository: ...

    @property
    def jobs(self) -> JobRepository: ...

    @property
    def history(self) -> RunHistoryRepository: ...

    @property
    def dashboard(self) -> DashboardRepository: ...

    @property
    def agents(self) -> AgentRepository: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> AbstractAsyncContextManager[UnitOfWork]: ...


class EventBus(Protocol):
    async def publish(self, topic: str, payload: dict[str, object]) -> None: ...

    def subscribe(
        self, *topics: str, limit: int | None = ...
    ) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """Events on `topics` from now on; a full queue (`limit`) drops its oldest event,
        `limit=None` never drops (for consumers that must see every event)."""
        ...


class Event(Protocol):
    @property
    def topic(self) -> str: ...

    @property
    def payload(self) -> dict[str, object]: ...


class AgentRepository(Protocol):
    async def add(self, agent: Agent, token_hash: str) -> Agent: ...

    async def get(self, uuid: str) -> Agent | None: ...

    async def token_hash(self, uuid: str) -> str | None: ...

    async def all(self) -> list[Agent]: ...

    async def update(self, agent: Agent) -> None: ...

    async def heartbeat(
        self,
        uuid: str,
        runtime_status: AgentRuntimeStatus,
        at: datetime,
        *,
        free_space: int | None = None,
        ip_address: str | None = None,
    ) -> None: ...

    async def silent_since(self, before: datetime) -> list[Agent]:
        """Agents not heard from since `before` that are not already LostContact."""
        ...

    async def set_runtime_status(
        self, uuid: str, status: AgentRuntimeStatus, *, only_if_heard_before: datetime | None
    ) -> bool: ...

    async def remove(self, uuid: str) -> None: ...

    async def remove_silent_pending(self, uuid: str, heard_before: datetime) -> bool:
        """Delete a Pending agent not heard from since `heard_before`; whether it was."""
        ...

    async def job_history(
        self, uuid: str, offset: int, limit: int
    ) -> tuple[list[tuple[JobInstance, JobIdentifier]], int]: ...


class ArtifactStore(Protocol):
    """Console logs and artifacts of jobs, by job locator `p/c/s/sc/job` and a relative path
    that the caller has already checked (`pygocd.services.artifacts.safe_path`)."""

    async def size(self, locator: str, path: str) -> int | None:
        """Bytes in the file, None when there is no such file."""
        ...

    async def append(self, locator: str, path: str, chunks: AsyncIterator[bytes]) -> int:
        """Append to (or create) a file; returns its new size."""
        ...

    async def create(self, locator: str, path: str, chunks: AsyncIterator[bytes]) -> str:
        """Write a new file (never overwriting: `Conflict`); returns the MD5 of its bytes."""
        ...

    def read(self, locator: str, path: str, offset: int = 0) -> AsyncIterator[bytes]:
        """The file's bytes from `offset`, in chunks; `NotFound` when absent."""
        ...

    async def kind(self, locator: str, path: str) -> str | None:
        """ "file", "folder" or None."""
        ...

    async def files(self, locator: str, path: str) -> list[tuple[str, int]]:
        """Every file under a folder (or the one file), as (path relative to the job, size)."""
        ...

    async def tree(self, locator: str, path: str) -> Sequence[ArtifactNode]:
        """The folder's direct children, folders with their own children."""
        ...


class ArtifactNode(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def is_folder(self) -> bool: ...

    @property
    def children(self) -> Sequence[ArtifactNode]: ...
