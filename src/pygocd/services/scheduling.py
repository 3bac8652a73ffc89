"""Triggering pipelines: manual (API/UI), automatic (material and upstream changes), timer.

Each trigger builds GoCD's build cause (material revisions with `changed` flags), runs GoCD's
schedule checks and creates the instance with its first stage in one transaction; events go
out after the commit, so agents and pages react at once instead of on GoCD's 10 s timers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pygocd.domain.errors import Conflict, Invalid, NotFound
from pygocd.domain.fanin import BACKTRACK_LIMIT, Candidate, resolve
from pygocd.domain.material_filters import is_ignored
from pygocd.domain.materials import (
    DependencyMaterialConfig,
    MaterialConfig,
    MaterialFilter,
    material_name,
)
from pygocd.domain.modifications import MaterialRevision, Modification
from pygocd.domain.pipelines import PipelineConfig
from pygocd.domain.runs import (
    ANONYMOUS,
    APPROVED_BY_CHANGES,
    APPROVED_BY_TIMER,
    BuildCause,
    BuildCauseType,
    PipelineInstance,
    PipelineState,
)
from pygocd.domain.scheduling import (
    auto_trigger_blocked,
    is_first_stage_manual,
    manual_trigger_refusal,
)
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.config import ConfigService
from pygocd.services.events import JOB_CHANGED, PIPELINE_CHANGED, STAGE_CHANGED
from pygocd.services.instances import create_instance, environment_context, plan_instance
from pygocd.services.materials import UNSUPPORTED_KINDS
from pygocd.services.ports import Clock, EventBus, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("pygocd.scheduling")

MaterialUpdater = Callable[[MaterialConfig], Awaitable[object]]
RECENT_MODIFICATIONS = 50
BATCH_SIZE = 100  # automatic triggers per unit of work: bounds how long one holds the writer


@dataclass(frozen=True)
class TriggerOptions:
    """GoCD's schedule body: pinned revisions by fingerprint, variable overrides."""

    update_materials_before_scheduling: bool = True
    revisions: dict[str, str] = field(default_factory=dict)
    variables: tuple[EnvironmentVariable, ...] = ()


async def publish_new_instance(bus: EventBus, instance: PipelineInstance) -> None:
    await bus.publish(PIPELINE_CHANGED, {"pipeline": instance.name, "counter": instance.counter})
    for stage in instance.stages:
        await bus.publish(
            STAGE_CHANGED,
            {
                "pipeline": instance.name,
                "counter": instance.counter,
                "stage": stage.name,
                "stage_counter": stage.counter,
                "state": stage.state.value,
            },
        )
        for job in stage.jobs:
            await bus.publish(
                JOB_CHANGED,
                {
                    "job_id": job.id,
                    "pipeline": instance.name,
                    "counter": instance.counter,
                    "stage": stage.name,
                    "stage_counter": stage.counter,
                    "job": job.name,
                    "state": job.state.value,
                    "result": job.result.value,
                },
            )


class SchedulingService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        bus: EventBus,
        config: ConfigService,
        update_material: MaterialUpdater | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._bus = bus
        self._config = config
        self._update_material = update_material
        self._triggering: set[str] = set()
        # Automatic causes GoCD keeps queued while the pipeline is paused, locked or busy;
        # retried when one of those clears (see `retry_blocked`).
        self.blocked: set[str] = set()

    def pipeline_or_404(self, name: str) -> PipelineConfig:
        pipeline = self._config.current.runnable(name)
        if pipeline is None:
            raise NotFound(f"Pipeline '{name}' not found.")
        return pipeline

    # -- manual ---------------------------------------------------------------------------

    async def trigger_manual(
        self, name: str, *, username: str | None = None, options: TriggerOptions | None = None
    ) -> PipelineInstance:
        options = options or TriggerOptions()
        pipeline = self.pipeline_or_404(name)
        self._check_options(pipeline, options)
        key = pipeline.name.lower()
        if key in self._triggering:
            raise Conflict(
                f"Failed to trigger pipeline: {pipeline.name} {{ Pipeline already triggered }}"
            )
        self._triggering.add(key)
        try:
            if options.update_materials_before_scheduling and self._update_material:
                for material in pipeline.materials:
                    if not isinstance(material, DependencyMaterialConfig):
                        await self._update_material(material)
            approver = username or ANONYMOUS
            async with self._uow() as uow:
                known = await _read_known(uow, [pipeline])
                refusal = manual_trigger_refusal(pipeline, *known.state_of(pipeline))
                if refusal:
                    raise Conflict(refusal)
                revisions = _revisions(known, pipeline, options.revisions)
                cause = BuildCause(
                    BuildCauseType.MANUAL_FORCED,
                    f"Forced by {approver}",
                    approver,
                    material_revisions=tuple(revisions),
                    trigger_variables=options.variables,
                )
                instance = await self._create(uow, pipeline, cause)
                await uow.commit()
        finally:
            self._triggering.discard(key)
        await publish_new_instance(self._bus, instance)
        return instance

    def _check_options(self, pipeline: PipelineConfig, options: TriggerOptions) -> None:
        known = {m.fingerprint for m in pipeline.materials}
        unknown = [fp for fp in options.revisions if fp not in known]
        if unknown:
            raise Invalid(
                "Request to schedule pipeline rejected { Pipeline "
                f"'{pipeline.name}' does not contain the following material(s): {unknown}. }}"
            )
        for fingerprint, revision in options.revisions.items():
            if not revision.strip():
                raise Invalid(
                    f"Request to schedule pipeline rejected {{ Material [{fingerprint}] has "
                    "empty revision }"
                )
        defined = self._variables_in_scope(pipeline)
        for variable in options.variables:
            if variable.name.lower() not in defined:
                raise Invalid(
                    f"Request to schedule pipeline rejected {{ Variable '{variable.name}' has "
                    f"not been configured for pipeline '{pipeline.name}' }}"
                )

    def _variables_in_scope(self, pipeline: PipelineConfig) -> set[str]:
        names = {v.name.lower() for v in pipeline.environment_variables}
        for stage in pipeline.stages:
            names |= {v.name.lower() for v in stage.environment_variables}
            for job in stage.jobs:
                names |= {v.name.lower() for v in job.environment_variables}
        environment = self._config.current.environment_of(pipeline.name)
        if environment is not None:
            names |= {v.name.lower() for v in environment.environment_variables}
        return names

    # -- automatic ------------------------------------------------------------------------

    async def on_material_updated(self, fingerprint: str) -> list[PipelineInstance]:
        """A material has new modifications: auto-trigger every pipeline that uses it."""
        return await self.on_materials_updated([fingerprint])

    async def on_materials_updated(
        self, fingerprints: Iterable[str], also: Iterable[str] = ()
    ) -> list[PipelineInstance]:
        """Materials have new modifications: auto-trigger every pipeline that uses one of
        them (and the pipelines named in `also`), in as few units of work as possible."""
        names = [
            pipeline.name
            for fingerprint in dict.fromkeys(fingerprints)
            for pipeline in self._config.current.pipelines_using(fingerprint)
        ]
        return await self.trigger_automatic_many([*names, *also])

    async def trigger_automatic(self, name: str) -> PipelineInstance | None:
        created = await self.trigger_automatic_many([name])
        return created[0] if created else None

    async def trigger_automatic_many(self, names: Iterable[str]) -> list[PipelineInstance]:
        """GoCD's automatic trigger for each named pipeline (once each), `BATCH_SIZE` pipelines
        per unit of work: one set of reads for all of them, one commit, then the events. A
        batch that fails is retried one pipeline at a time, so one bad pipeline cannot keep
        the others from running."""
        pipelines: dict[str, PipelineConfig] = {}
        for name in names:
            pipeline = self._config.current.runnable(name)
            if pipeline is not None and pipeline.stages and not is_first_stage_manual(pipeline):
                pipelines.setdefault(pipeline.name.lower(), pipeline)
        todo = list(pipelines.values())
        created: list[PipelineInstance] = []
        for start in range(0, len(todo), BATCH_SIZE):
            batch = todo[start : start + BATCH_SIZE]
            try:
                created += await self._trigger_batch(batch)
            except Exception:
                if len(batch) == 1:
                    raise
                log.exception("triggering %d pipelines together failed; one by one", len(batch))
                for pipeline in batch:
                    try:
                        created += await self._trigger_batch([pipeline])
                    except Exception:
                        log.exception("triggering %s failed", pipeline.name)
        return created

    async def _trigger_batch(self, pipelines: list[PipelineConfig]) -> list[PipelineInstance]:
        async with self._uow() as uow:
            known = await _read_known(uow, pipelines)
            causes = []
            for pipeline in pipelines:
                cause = await self._automatic_cause(uow, known, pipeline)
                if cause is not None:
                    causes.append((pipeline, cause))
            if not causes:
                return []
            counters = await uow.pipeline_instances.next_counters(p.name for p, _ in causes)
            planned = [
                await plan_instance(
                    uow,
                    pipeline,
                    cause,
                    counters[pipeline.name.lower()],
                    self._clock,
                    config_version=self._config.current.md5 or None,
                    environment=environment_context(self._config.current, pipeline.name),
                )
                for pipeline, cause in causes
            ]
            created = await uow.pipeline_instances.add_many(planned)
            for (pipeline, _), instance in zip(causes, created, strict=True):
                if pipeline.lock_behavior.is_lockable:
                    await uow.pipeline_instances.set_lock(pipeline.name, instance.id)
            await uow.commit()
        for instance in created:
            await publish_new_instance(self._bus, instance)
        return created

    async def _automatic_cause(
        self, uow: UnitOfWork, known: _Known, pipeline: PipelineConfig
    ) -> BuildCause | None:
        """The build cause of an automatic trigger, or None when there is nothing to run
        (no change, a change the filters ignore) or the pipeline is blocked (queued then)."""
        key = pipeline.name.lower()
        if key in self._triggering:
            # A manual trigger is updating this pipeline's materials right now and will build
            # with what the update finds: GoCD's forced cause outranks an automatic one.
            return None
        try:
            chosen = await self._fan_in(uow, pipeline)
            revisions = _revisions(known, pipeline, {}, chosen)
        except Invalid as error:
            log.info("not triggering %s: %s", pipeline.name, error)
            return None  # a material without revisions yet, or no consistent fan-in
        changed = [
            r
            for r in revisions
            if r.changed
            and not self._ignored_for_scheduling(pipeline, r.fingerprint)
            and not await self._filtered_out(uow, pipeline, r)
        ]
        if not changed:
            self.blocked.discard(key)
            return None
        if auto_trigger_blocked(pipeline, *known.state_of(pipeline)):
            self.blocked.add(key)
            return None
        self.blocked.discard(key)
        return BuildCause(
            BuildCauseType.MODIFICATION,
            _modification_message(changed[0]),
            APPROVED_BY_CHANGES,
            material_revisions=tuple(revisions),
        )

    async def retry_blocked(self, name: str) -> PipelineInstance | None:
        """Re-run a queued automatic trigger once its pipeline may have become free."""
        if name.lower() not in self.blocked:
            return None
        return await self.trigger_automatic(name)

    async def trigger_timer(self, name: str, *, only_on_changes: bool) -> PipelineInstance | None:
        pipeline = self.pipeline_or_404(name)
        async with self._uow() as uow:
            known = await _read_known(uow, [pipeline])
            if manual_trigger_refusal(pipeline, *known.state_of(pipeline)):
                return None
            revisions = _revisions(known, pipeline, {})
            if only_on_changes and not any(r.changed for r in revisions):
                log.info("Skipping scheduling of timer-triggered pipeline %s", pipeline.name)
                return None
            cause = BuildCause(
                BuildCauseType.MANUAL_FORCED,
                f"Forced by {APPROVED_BY_TIMER}",
                APPROVED_BY_TIMER,
                material_revisions=tuple(revisions),
            )
            instance = await self._create(uow, pipeline, cause)
            await uow.commit()
        await publish_new_instance(self._bus, instance)
        return instance

    # -- shared ---------------------------------------------------------------------------

    async def _filtered_out(
        self, uow: UnitOfWork, pipeline: PipelineConfig, revision: MaterialRevision
    ) -> bool:
        """True when every new modification only touches paths the material's filter ignores."""
        material = next(
            (m for m in pipeline.materials if m.fingerprint == revision.fingerprint), None
        )
        material_filter = getattr(material, "filter", None)
        if not isinstance(material_filter, MaterialFilter) or not material_filter.patterns:
            return False
        ids = [m.id for m in revision.modifications if m.id is not None]
        with_files = await uow.materials.modifications_by_ids(ids)
        files = [f.file_name for m in with_files for f in m.files]
        return is_ignored(files, material_filter)

    def _ignored_for_scheduling(self, pipeline: PipelineConfig, fingerprint: str) -> bool:
        return any(
            isinstance(m, DependencyMaterialConfig)
            and m.ignore_for_scheduling
            and m.fingerprint == fingerprint
            for m in pipeline.materials
        )

    async def _create(
        self, uow: UnitOfWork, pipeline: PipelineConfig, cause: BuildCause
    ) -> PipelineInstance:
        instance = await create_instance(
            uow,
            pipeline,
            cause,
            self._clock,
            config_version=self._config.current.md5 or None,
            environment=environment_context(self._config.current, pipeline.name),
        )
        if pipeline.lock_behavior.is_lockable:
            await uow.pipeline_instances.set_lock(pipeline.name, instance.id)
        return instance

    async def _fan_in(self, uow: UnitOfWork, pipeline: PipelineConfig) -> dict[str, int] | None:
        """Consistent modification ids when upstream pipelines share roots (GoCD's fan-in);
        None when the pipeline has no dependency material."""
        dependencies = [m for m in pipeline.materials if isinstance(m, DependencyMaterialConfig)]
        if not dependencies:
            return None
        memo: dict[str, dict[str, int]] = {}
        candidates: dict[str, list[Candidate]] = {}
        for dependency in dependencies:
            runs = await uow.materials.latest_modifications(dependency.fingerprint, BACKTRACK_LIMIT)
            candidates[dependency.fingerprint] = [
                Candidate(m.id or 0, await self._roots(uow, m.revision, memo)) for m in runs
            ]
        direct = {
            m.fingerprint: [
                mod.id or 0
                for mod in await uow.materials.latest_modifications(m.fingerprint, BACKTRACK_LIMIT)
            ]
            for m in pipeline.materials
            if not isinstance(m, DependencyMaterialConfig)
        }
        chosen = resolve(candidates, direct)
        if chosen is None:
            raise Invalid(f"no compatible revisions were identified for {pipeline.name}")
        return chosen

    async def _roots(
        self, uow: UnitOfWork, locator: str, memo: dict[str, dict[str, int]]
    ) -> dict[str, int]:
        """Source material → modification id an upstream run was built from, transitively."""
        if locator in memo:
            return memo[locator]
        memo[locator] = {}
        name, _, rest = locator.partition("/")
        counter_text = rest.partition("/")[0]
        instance = (
            await uow.pipeline_instances.find(name, int(counter_text))
            if counter_text.isascii() and counter_text.isdigit()
            else None
        )
        roots: dict[str, int] = {}
        for revision in instance.build_cause.material_revisions if instance else ():
            latest = revision.latest
            if latest.pipeline_label is not None:
                roots.update(await self._roots(uow, latest.revision, memo))
            else:
                roots[revision.fingerprint] = latest.id or 0
        memo[locator] = roots
        return roots


@dataclass(frozen=True)
class _Known:
    """What triggering reads about some pipelines, read for all of them at once: pause and
    lock state, active stages, the revisions each last ran with, recent modifications."""

    states: dict[str, PipelineState]
    active: dict[str, list[tuple[int, int, str]]]
    last_seen: dict[str, dict[str, int]]
    recent: dict[str, list[Modification]]

    def state_of(
        self, pipeline: PipelineConfig
    ) -> tuple[PipelineState, list[tuple[int, int, str]]]:
        key = pipeline.name.lower()
        state = self.states.get(key) or PipelineState(name=pipeline.name)
        return state, self.active.get(key, [])


async def _read_known(uow: UnitOfWork, pipelines: Sequence[PipelineConfig]) -> _Known:
    names = [p.name for p in pipelines]
    return _Known(
        states=await uow.dashboard.states(names),
        active=await uow.pipeline_instances.active_stages_of(names),
        last_seen=await uow.pipeline_instances.last_revision_ids_of(names),
        recent=await uow.materials.latest_modifications_of(
            (m.fingerprint for p in pipelines for m in p.materials), RECENT_MODIFICATIONS
        ),
    )


def _revisions(
    known: _Known,
    pipeline: PipelineConfig,
    pinned: dict[str, str],
    chosen: dict[str, int] | None = None,
) -> Sequence[MaterialRevision]:
    """Latest (or pinned) revision of every material, `changed` against the last run."""
    last_seen = known.last_seen.get(pipeline.name.lower(), {})
    result = []
    for material in pipeline.materials:
        fingerprint = material.fingerprint
        recent = known.recent.get(fingerprint, [])
        if fingerprint in pinned:
            recent = _from_pinned(recent, pinned[fingerprint], fingerprint)
        elif chosen and fingerprint in chosen:
            recent = [m for m in recent if (m.id or 0) <= chosen[fingerprint]]
        if not recent:
            raise Invalid(
                f"Error while scheduling pipeline: {pipeline.name} {{ Material "
                f"{material_name(material) or fingerprint[:12]} {_why_no_revisions(material)} }}"
            )
        seen = last_seen.get(fingerprint, 0)
        new = [m for m in recent if (m.id or 0) > seen]
        result.append(
            MaterialRevision(
                fingerprint=fingerprint,
                modifications=tuple(new) if new else (recent[0],),
                changed=bool(new),
                material_name=material_name(material),
                folder=getattr(material, "destination", None),
            )
        )
    return result


def _from_pinned(recent: list[Modification], revision: str, fingerprint: str) -> list[Modification]:
    for index, modification in enumerate(recent):
        if modification.revision == revision:
            return recent[index:]
    raise Invalid(
        f"Request to schedule pipeline rejected {{ Unable to find revision [{revision}] for "
        f"material [{fingerprint}] }}"
    )


def _modification_message(revision: MaterialRevision) -> str:
    latest = revision.latest
    if latest.pipeline_label is not None:
        return f"triggered by {latest.revision}"
    return f"modified by {latest.user_name or 'unknown'}"


def _why_no_revisions(material: MaterialConfig) -> str:
    kind = UNSUPPORTED_KINDS.get(material.kind)
    if kind is None:
        return "has no revisions yet"
    return f"is a {kind} material, which this server cannot poll; replace it with a git material"
