"""Creating pipeline instances: counter, label, build cause, first stage and its jobs, in one
transaction, then an event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pygocd.domain.config import CruiseConfig
from pygocd.domain.job_plans import new_stage_instance
from pygocd.domain.labels import LabelContext, render_label
from pygocd.domain.materials import material_name
from pygocd.domain.pipelines import PipelineConfig
from pygocd.domain.runs import BuildCause, PipelineInstance
from pygocd.domain.variables import merge_variables
from pygocd.services.events import PIPELINE_CHANGED
from pygocd.services.ports import Clock, EventBus, UnitOfWork


def _label_context(pipeline: PipelineConfig, counter: int, cause: BuildCause) -> LabelContext:
    by_fingerprint = {m.fingerprint: m for m in pipeline.materials}
    revisions: dict[str, str] = {}
    for revision in cause.material_revisions:
        material = by_fingerprint.get(revision.fingerprint)
        name = material_name(material) if material is not None else revision.material_name
        if name:
            latest = revision.latest
            revisions[name] = latest.pipeline_label or latest.revision
    environment = {
        v.name: v.value or ""
        for v in merge_variables(pipeline.environment_variables, cause.trigger_variables)
        if not v.secure
    }
    return LabelContext(counter=counter, material_revisions=revisions, environment=environment)


async def agent_context(
    uow: UnitOfWork, pipeline: PipelineConfig, environment: EnvironmentContext
) -> dict[str, Any]:
    """What run-on-all-agents jobs are planned against: the registered agents (read only when
    the stage has such a job) and the pipeline's environment, as `new_stage_instance` takes."""
    needs_agents = any(j.run_on_all_agents for s in pipeline.stages for j in s.jobs)
    return {
        "agents": await uow.agents.all() if needs_agents else (),
        "pipeline_environment": environment.name,
        "known_environments": environment.known,
    }


@dataclass(frozen=True)
class EnvironmentContext:
    """The pipeline's environment (None: in none) and every environment config knows."""

    name: str | None = None
    known: set[str] = field(default_factory=set)


def environment_context(config: CruiseConfig, pipeline: str) -> EnvironmentContext:
    environment = config.environment_of(pipeline)
    return EnvironmentContext(
        name=environment.name if environment else None,
        known={e.name.lower() for e in config.environments},
    )


async def create_instance(
    uow: UnitOfWork,
    pipeline: PipelineConfig,
    cause: BuildCause,
    clock: Clock,
    *,
    config_version: str | None = None,
    environment: EnvironmentContext | None = None,
) -> PipelineInstance:
    """Insert the next instance of `pipeline` with its first stage; the caller commits."""
    counter = await uow.pipeline_instances.next_counter(pipeline.name)
    planned = await plan_instance(
        uow,
        pipeline,
        cause,
        counter,
        clock,
        config_version=config_version,
        environment=environment,
    )
    return await uow.pipeline_instances.add(planned)


async def plan_instance(
    uow: UnitOfWork,
    pipeline: PipelineConfig,
    cause: BuildCause,
    counter: int,
    clock: Clock,
    *,
    config_version: str | None = None,
    environment: EnvironmentContext | None = None,
) -> PipelineInstance:
    """Instance `counter` of `pipeline` with its first stage and jobs, not saved yet."""
    environment = environment or EnvironmentContext()
    now = clock.now()
    label = render_label(pipeline.label_template, _label_context(pipeline, counter, cause))
    first_stage = new_stage_instance(
        pipeline.first_stage,
        order=1,
        counter=1,
        approved_by=cause.approver,
        now=now,
        config_version=config_version,
        **await agent_context(uow, pipeline, environment),
    )
    return PipelineInstance(
        name=pipeline.name,
        counter=counter,
        label=label,
        build_cause=cause,
        natural_order=float(counter),
        stages=(first_stage,),
        created_at=now,
    )


async def publish_instance_created(bus: EventBus, instance: PipelineInstance) -> None:
    await bus.publish(PIPELINE_CHANGED, {"pipeline": instance.name, "counter": instance.counter})
