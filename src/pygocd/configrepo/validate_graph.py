"""Rules across pipelines: dependency materials, dependency cycles and fetch tasks.

Every pipeline is seen as a `PipelineView`: itself with parameters substituted, and the stages
it really runs (its own, or its template's as substituted with its parameters).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from pygocd.configrepo.validate_report import (
    Reporter,
    Scope,
    job_path,
    material_path,
    report,
    stage_path,
    task_path,
)
from pygocd.domain.materials import DependencyMaterialConfig
from pygocd.domain.pipelines import JobConfig, PipelineConfig, StageConfig
from pygocd.domain.tasks import FetchArtifactTask, FetchExternalArtifactTask, Task

_INSTANCE_SUFFIX = re.compile(r"-(runOnAll|runInstance)-\d+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PipelineView:
    pipeline: PipelineConfig
    stages: tuple[StageConfig, ...]
    scope: Scope  # the pipeline itself
    stage_scope: Scope  # where its stages were written: the pipeline, or its template
    template_found: bool = False

    @property
    def name(self) -> str:
        return self.pipeline.name

    def find_stage(self, name: str) -> tuple[int, StageConfig] | None:
        wanted = name.lower()
        return next(((i, s) for i, s in enumerate(self.stages) if s.name.lower() == wanted), None)

    def dependencies(self) -> Iterator[tuple[int, DependencyMaterialConfig]]:
        for index, material in enumerate(self.pipeline.materials):
            if isinstance(material, DependencyMaterialConfig):
                yield index, material

    def dependency_on(self, upstream: str) -> DependencyMaterialConfig | None:
        wanted = upstream.lower()
        return next((m for _, m in self.dependencies() if m.pipeline.lower() == wanted), None)


Views = Mapping[str, PipelineView]  # lower-cased pipeline name → view


# --- dependency materials ------------------------------------------------------------------


def check_dependencies(reporter: Reporter, views: Sequence[PipelineView], index: Views) -> None:
    for view in views:
        for position, material in view.dependencies():
            if not material.pipeline.strip():
                continue  # reported with the material's own rules
            key = material_path(view.scope.path, material, position)
            upstream = index.get(material.pipeline.lower())
            if upstream is None:
                report(
                    reporter,
                    view.scope,
                    key,
                    f"Pipeline with name '{material.pipeline}' does not exist, it is defined "
                    f"as a dependency for pipeline '{view.name}'.",
                )
                continue
            if material.stage.strip() and upstream.find_stage(material.stage) is None:
                report(
                    reporter,
                    view.scope,
                    key,
                    f"Stage with name '{material.stage}' does not exist on pipeline "
                    f"'{upstream.name}', it is being referred to from pipeline '{view.name}'.",
                )


def check_cycles(reporter: Reporter, views: Sequence[PipelineView], index: Views) -> None:
    """Report each dependency cycle once, in flow order (upstream first): `a -> b -> c -> a`."""
    edges: dict[str, list[str]] = {}
    for view in views:
        ups = [m.pipeline.lower() for _, m in view.dependencies() if m.pipeline.lower() in index]
        edges[view.name.lower()] = ups

    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(edges, white)
    reported: set[frozenset[str]] = set()
    for root, ups in edges.items():
        if colour[root] != white:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(ups))]
        on_path: list[str] = [root]
        colour[root] = grey
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = black
                stack.pop()
                on_path.pop()
                continue
            if colour.get(child, black) == white:
                colour[child] = grey
                stack.append((child, iter(edges.get(child, []))))
                on_path.append(child)
            elif colour.get(child) == grey:
                cycle = on_path[on_path.index(child) :]  # each depends on the next
                members = frozenset(cycle)
                if members not in reported:
                    reported.add(members)
                    _report_cycle(reporter, cycle, index)


def _report_cycle(reporter: Reporter, depends_chain: list[str], index: Views) -> None:
    flow = list(reversed(depends_chain))  # upstream → downstream
    start = min(range(len(flow)), key=lambda i: flow[i])
    flow = flow[start:] + flow[:start]
    first = index[flow[0]]
    last = flow[-1]
    names = [index[n].name for n in flow] + [first.name]
    key = first.scope.path
    for position, material in first.dependencies():
        if material.pipeline.lower() == last:
            key = material_path(first.scope.path, material, position)
            break
    report(reporter, first.scope, key, f"Circular dependency: {' -> '.join(names)}")


# --- fetch tasks ---------------------------------------------------------------------------


def check_fetch_tasks(reporter: Reporter, views: Sequence[PipelineView], index: Views) -> None:
    for view in views:
        for stage_index, stage in enumerate(view.stages):
            spath = stage_path(view.stage_scope.path, stage_index)
            for job in stage.jobs:
                jpath = job_path(spath, job.name)
                for task_index, task in enumerate(job.tasks):
                    for key, fetch in _fetch_tasks(task_path(jpath, task_index), task):
                        _check_fetch(reporter, index, view, stage_index, job, key, fetch)


def _fetch_tasks(
    key: str, task: Task
) -> Iterator[tuple[str, FetchArtifactTask | FetchExternalArtifactTask]]:
    if isinstance(task, FetchArtifactTask | FetchExternalArtifactTask):
        yield key, task
    if task.on_cancel is not None:
        yield from _fetch_tasks(f"{key}.on_cancel", task.on_cancel)


def _job_exists(stage: StageConfig, job: str) -> bool:
    wanted = job.lower()
    base = _INSTANCE_SUFFIX.sub("", job).lower()
    return any(j.name.lower() in (wanted, base) for j in stage.jobs)


def _at_or_before(view: PipelineView, stage: str, limit: str) -> bool:
    found = view.find_stage(stage)
    bound = view.find_stage(limit)
    return found is not None and bound is not None and found[0] <= bound[0]


def _check_fetch(
    reporter: Reporter,
    index: Views,
    view: PipelineView,
    stage_index: int,
    job: JobConfig,
    key: str,
    task: FetchArtifactTask | FetchExternalArtifactTask,
) -> None:
    scope = view.stage_scope

    def fail(message: str) -> None:
        report(reporter, scope, key, message)

    stage = view.stages[stage_index]
    me = f'"{view.name} :: {stage.name} :: {job.name}"'
    if not task.stage.strip():
        fail("Stage is a required field.")
    if not task.job.strip():
        fail("Job is a required field.")
    if not task.stage.strip() or not task.job.strip():
        return

    path = (task.pipeline or "").strip() or view.name
    parts = path.split("/")
    ancestor = parts[0]
    source = index.get(ancestor.lower())
    if source is None:
        fail(f'{me} tries to fetch artifact from pipeline "{ancestor}" which does not exist.')
        return
    found = source.find_stage(task.stage)
    if found is None:
        fail(
            f'{me} tries to fetch artifact from stage "{ancestor} :: {task.stage}" '
            "which does not exist."
        )
        return
    if not _job_exists(found[1], task.job):
        fail(
            f'{me} tries to fetch artifact from job "{ancestor} :: {task.stage} :: {task.job}" '
            "which does not exist."
        )
        return

    not_before_dependency = (
        f'{me} tries to fetch artifact from stage "{ancestor} :: {task.stage}" which does not '
        f'complete before "{view.name}" pipeline\'s dependencies.'
    )
    if len(parts) > 1:
        current = view
        dependency_stage = ""
        for parent in reversed(parts):
            if parent.lower() not in index:
                fail(
                    f"Pipeline named '{parent}' which is declared ancestor of '{view.name}' "
                    f"through path '{path}' does not exist."
                )
                return
            material = current.dependency_on(parent)
            if material is None:
                fail(
                    f"Pipeline named '{parent}' exists, but is not an ancestor of "
                    f"'{view.name}' as declared in '{path}'."
                )
                return
            dependency_stage = material.stage
            current = index[parent.lower()]
        if not _at_or_before(current, task.stage, dependency_stage):
            fail(not_before_dependency)
    elif ancestor.lower() == view.name.lower():
        if found[0] >= stage_index:
            fail(
                f'{me} tries to fetch artifact from its stage "{task.stage}" which does not '
                f'complete before the current stage "{stage.name}".'
            )
    else:
        material = view.dependency_on(ancestor)
        if material is None:
            fail(
                f'Pipeline "{view.name}" tries to fetch artifact from pipeline "{ancestor}" '
                "which is not an upstream pipeline"
            )
        elif not _at_or_before(source, task.stage, material.stage):
            fail(not_before_dependency)
