"""The reaction loop handles a burst of events together (ADR 0005): the batch must create the
same instances, queue the same blocked triggers and publish the same events as handling the
events one at a time does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pygocd.bus.memory import BusEvent
from pygocd.domain.materials import GitMaterialConfig, MaterialFilter
from pygocd.domain.pipelines import PipelineConfig
from pygocd.services.events import JOB_CHANGED, MATERIAL_UPDATED, PIPELINE_CHANGED, STAGE_CHANGED
from pygocd.services.reactions import handle, handle_all, react
from pygocd.services.registry import Services
from pygocd.services.scheduling import SchedulingService
from tests.builders import commit, save, stage
from tests.builders import instance as load

pytestmark = pytest.mark.db


def world(prefix: str) -> tuple[list[GitMaterialConfig], list[PipelineConfig]]:
    """Pipelines that trigger, that wait (paused), that a filter or a manual first stage
    keep from running, with shared and several materials; names and URLs start with `prefix`."""
    code = GitMaterialConfig(url=f"https://example.com/{prefix}code.git", name="code")
    docs = GitMaterialConfig(
        url=f"https://example.com/{prefix}docs.git",
        name="docs",
        filter=MaterialFilter(ignore=("*.md",)),
    )
    tools = GitMaterialConfig(url=f"https://example.com/{prefix}tools.git", name="tools")
    pipelines = [
        PipelineConfig(name=f"{prefix}build", materials=(code,), stages=(stage("compile"),)),
        PipelineConfig(
            name=f"{prefix}both",
            materials=(code, tools),
            stages=(stage("compile", "one", "two"),),
            label_template="${COUNT}-${code}-${tools}",
        ),
        PipelineConfig(name=f"{prefix}paused", materials=(tools,), stages=(stage("s"),)),
        PipelineConfig(name=f"{prefix}docs", materials=(docs,), stages=(stage("s"),)),
        PipelineConfig(name=f"{prefix}gated", materials=(code,), stages=(stage("s", manual=True),)),
    ]
    return [code, docs, tools], pipelines


def normalized(prefix: str, topic: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    shown = {k: v for k, v in payload.items() if k != "job_id"}
    shown["pipeline"] = str(shown["pipeline"]).removeprefix(prefix)
    return topic, shown


async def triggered(
    services: Services, prefix: str, together: bool
) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[object, ...]], set[str]]:
    """Commit to every material of `prefix`'s world, react to the material updates (together
    or one by one) and return the events, the instances and the queued triggers."""
    materials, pipelines = world(prefix)
    scheduling = services.scheduling
    assert scheduling is not None
    assert services.stages is not None
    for material in materials:
        await commit(services, material, f"{material.name}-r1", files=("a.md",))
    await services.stages.pause(f"{prefix}paused", username="bob", cause="wait")
    updates = [
        BusEvent(MATERIAL_UPDATED, {"fingerprint": m.fingerprint, "modification_ids": [1]})
        for m in materials
    ]
    async with services.bus.subscribe(PIPELINE_CHANGED, STAGE_CHANGED, JOB_CHANGED) as events:
        if together:
            await handle_all(updates, scheduling)
        else:
            for update in updates:
                await handle(update, scheduling)
        seen = []
        while not events.queue.empty():  # type: ignore[attr-defined]
            event = events.queue.get_nowait()  # type: ignore[attr-defined]
            seen.append(normalized(prefix, event.topic, event.payload))
    instances = []
    for pipeline in pipelines:
        async with services.uow(read_only=True) as uow:
            counters = await uow.pipeline_instances.list_counters(pipeline.name)
        for counter in counters:
            found = await load(services, pipeline.name, counter)
            cause = found.build_cause
            instances.append(
                (
                    pipeline.name.removeprefix(prefix),
                    found.counter,
                    found.label,
                    cause.type,
                    cause.message,
                    cause.approver,
                    [(r.material_name, r.revision, r.changed) for r in cause.material_revisions],
                    [(s.name, [j.name for j in s.jobs]) for s in found.stages],
                )
            )
    blocked = {name.removeprefix(prefix) for name in scheduling.blocked if name.startswith(prefix)}
    return seen, instances, blocked


async def test_a_batch_triggers_exactly_what_one_by_one_triggers(services: Services) -> None:
    await save(services, *world("a")[1], *world("b")[1])

    one_by_one = await triggered(services, "a", together=False)
    together = await triggered(services, "b", together=True)

    events, instances, blocked = together
    assert [i[0] for i in instances] == ["build", "both"]
    assert instances[1][2] == "1-code-r1-tools-r1"
    assert blocked == {"paused"}
    assert len(events) == 2 + 2 + 3  # two pipelines, their first stages, three jobs
    assert together == one_by_one


async def test_a_finished_stage_in_a_batch_lets_the_queued_trigger_through(
    services: Services,
) -> None:
    scheduling: SchedulingService | None = services.scheduling
    assert scheduling is not None
    assert services.stages is not None
    materials, pipelines = world("")
    await save(services, *pipelines)
    for material in materials:
        await commit(services, material, f"{material.name}-r1", files=("a.c",))
    await services.stages.pause("paused", username="bob", cause="wait")
    tools = materials[2]
    await handle(
        BusEvent(MATERIAL_UPDATED, {"fingerprint": tools.fingerprint, "modification_ids": [1]}),
        scheduling,
    )
    assert "paused" in scheduling.blocked
    await services.stages.unpause("paused", username="bob")

    await handle_all(
        [
            BusEvent(MATERIAL_UPDATED, {"fingerprint": tools.fingerprint, "modification_ids": []}),
            BusEvent(PIPELINE_CHANGED, {"pipeline": "paused"}),
        ],
        scheduling,
    )

    assert (await load(services, "paused", 1)).counter == 1
    assert "paused" not in scheduling.blocked


async def test_the_loop_triggers_a_burst_of_material_updates(services: Services) -> None:
    scheduling = services.scheduling
    assert scheduling is not None
    materials, pipelines = world("")
    await save(services, *pipelines)
    for material in materials:
        await commit(services, material, f"{material.name}-r1", files=("a.c",))
    loop = asyncio.create_task(react(services.bus, scheduling))
    await asyncio.sleep(0)
    try:
        async with services.bus.subscribe(PIPELINE_CHANGED) as created:
            for material in materials:
                await services.bus.publish(
                    MATERIAL_UPDATED, {"fingerprint": material.fingerprint, "modification_ids": [1]}
                )
            names = set()
            while len(names) < 4:
                event = await asyncio.wait_for(created.__anext__(), 10)
                names.add(event.payload["pipeline"])
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert names == {"build", "both", "paused", "docs"}
