"""The value stream map of a pipeline instance, as GoCD's `ValueStreamMapService` builds it.

Upstream comes from history: the instance's build cause, recursively — a dependency revision
(`p/12/stage/1`) gives the upstream pipeline node with the instance that was used, an SCM
revision a material node with the modifications that were used. Downstream comes from the
current config (pipelines with a dependency material on a pipeline of the map, transitively),
filled with the instances that consumed the instances already on the map; a downstream
pipeline that never consumed one shows one unrun instance (counter 0).

Levels follow GoCD's `LevelAssignment` (upstream nodes one level left of their nearest
dependent, downstream nodes one right of their farthest parent), then `DummyNodeCreation`
puts a `DUMMY` node on every level an edge skips. Order inside a level (`depth`) is GoCD's
idea — fewer crossing edges — done here with one barycenter sweep, not GoCD's full
`CrossingMinimization`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from pygocd.domain.config import CruiseConfig
from pygocd.domain.materials import (
    DependencyMaterialConfig,
    GitMaterialConfig,
    HgMaterialConfig,
    MaterialConfig,
    P4MaterialConfig,
    SvnMaterialConfig,
    TfsMaterialConfig,
    mask_credentials,
)
from pygocd.domain.modifications import MaterialRevision, Modification
from pygocd.domain.pipelines import PipelineConfig
from pygocd.domain.runs import PipelineInstance, StageInstance
from pygocd.domain.states import StageState
from pygocd.services.config import ConfigService
from pygocd.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

PIPELINE = "PIPELINE"
MATERIAL = "MATERIAL"
DUMMY = "DUMMY"

_TYPE_NAMES: dict[type, str] = {
    GitMaterialConfig: "GIT",
    SvnMaterialConfig: "SUBVERSION",
    HgMaterialConfig: "MERCURIAL",
    P4MaterialConfig: "PERFORCE",
    TfsMaterialConfig: "TFS",
}


@dataclass
class StageStatus:
    name: str
    counter: int
    status: str
    duration: int | None


@dataclass
class InstanceRevision:
    counter: int
    label: str
    stages: list[StageStatus]


@dataclass
class Node:
    id: str
    name: str
    node_type: str
    parents: list[Node] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    level: int = 0
    depth: int = 0
    # pipelines
    instances: list[InstanceRevision] = field(default_factory=list)
    view_type: str | None = None
    can_edit: bool = False
    template_name: str | None = None
    # materials
    material_type: str = ""
    material_names: list[str] = field(default_factory=list)
    material_revisions: list[tuple[Modification, ...]] = field(default_factory=list)

    def add_parent(self, parent: Node) -> None:
        if parent not in self.parents:
            self.parents.append(parent)
        if self not in parent.children:
            parent.children.append(self)

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other.id == self.id


@dataclass
class ValueStreamMap:
    """`current_pipeline` is the pipeline whose map this is; a material's map (GoCD's
    `/materials/value_stream_map/:fingerprint/:revision`) has `current_material` instead."""

    current_pipeline: str
    levels: list[list[Node]]
    current_material: str | None = None


class VsmNotFound(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _dependency(modification: Modification) -> tuple[str, int] | None:
    """`p/12/stage/1` of a dependency modification → ("p", 12)."""
    if modification.pipeline_label is None:
        return None
    parts = modification.revision.split("/")
    if len(parts) != 4 or not (parts[1].isascii() and parts[1].isdigit()):
        return None
    return parts[0], int(parts[1])


def _stage_statuses(config: CruiseConfig, instance: PipelineInstance) -> list[StageStatus]:
    """The newest run of each stage, then the configured stages not run yet (Unknown)."""
    out: list[StageStatus] = []
    seen: set[str] = set()
    for stage in sorted(instance.stages, key=lambda s: (s.order, s.counter)):
        if stage.name.lower() in seen:
            continue
        latest = instance.latest_stage(stage.name)
        assert latest is not None
        seen.add(stage.name.lower())
        out.append(_status(latest))
    pipeline = config.runnable(instance.name)
    for configured in pipeline.stages if pipeline is not None else ():
        if configured.name.lower() not in seen:
            out.append(StageStatus(configured.name, 0, StageState.UNKNOWN.value, None))
    return out


def _status(stage: StageInstance) -> StageStatus:
    duration = None
    if stage.state.is_completed and stage.created_at and stage.last_transitioned_at:
        duration = max(0, int((stage.last_transitioned_at - stage.created_at).total_seconds()))
    return StageStatus(stage.name, stage.counter, stage.state.value, duration)


def _unrun(config: CruiseConfig, name: str) -> InstanceRevision:
    pipeline = config.runnable(name)
    stages = [
        StageStatus(s.name, 0, StageState.UNKNOWN.value, None)
        for s in (pipeline.stages if pipeline is not None else ())
    ]
    return InstanceRevision(0, "", stages)


def _material_display(material: MaterialConfig) -> str:
    url = getattr(material, "url", None)
    if isinstance(url, str):
        return mask_credentials(url)
    port = getattr(material, "port", None)
    if isinstance(port, str):
        return port
    return material.type_name


class ValueStreamMapService:
    def __init__(self, uow: UnitOfWorkFactory, config: ConfigService, clock: Clock) -> None:
        self._uow = uow
        self._config = config
        self.clock = clock

    async def build(self, pipeline: str, counter: int) -> ValueStreamMap:
        config = self._config.current
        async with self._uow(read_only=True) as uow:
            instance = await uow.pipeline_instances.find(pipeline, counter)
            if instance is None:
                raise VsmNotFound(f"Pipeline '{pipeline}' with counter '{counter}' not found.")
            nodes: dict[str, Node] = {}
            root = self._pipeline_node(config, nodes, instance.name)
            self._add_instance(config, root, instance)
            await self._upstream(uow, config, nodes, root, instance, set())
            await self._downstream(uow, config, nodes, root)
        self._assign_levels(root)
        levels = self._dummies_and_levels(list(nodes.values()))
        return ValueStreamMap(instance.name, levels)

    async def build_for_material(self, fingerprint: str, revision: str) -> ValueStreamMap:
        """The map of one material revision: the material, the pipelines using it with the
        instances that took the revision in, and everything downstream of them."""
        config = self._config.current
        users = config.pipelines_using(fingerprint)
        if not users:
            raise VsmNotFound(f"Material with fingerprint '{fingerprint}' not found.")
        async with self._uow(read_only=True) as uow:
            modification = await uow.materials.find_modification(fingerprint, revision)
            if modification is None or modification.id is None:
                raise VsmNotFound(
                    f"Modification '{revision}' for material with fingerprint "
                    f"'{fingerprint}' not found."
                )
            nodes: dict[str, Node] = {}
            root = self._material_node(
                config, nodes, MaterialRevision(fingerprint, (modification,))
            )
            for pipeline in users:
                node = self._pipeline_node(config, nodes, pipeline.name)
                node.add_parent(root)
                for counter in await uow.history.built_with(
                    pipeline.name, fingerprint, modification.id
                ):
                    found = await uow.pipeline_instances.find(pipeline.name, counter)
                    if found is not None:
                        self._add_instance(config, node, found)
            await self._downstream(uow, config, nodes, root, start=list(root.children))
        self._assign_levels(root)
        levels = self._dummies_and_levels(list(nodes.values()))
        return ValueStreamMap(root.name, levels, current_material=fingerprint)

    # -- graph ----------------------------------------------------------------------------

    def _pipeline_node(self, config: CruiseConfig, nodes: dict[str, Node], name: str) -> Node:
        key = name.lower()
        found = nodes.get(key)
        if found is not None:
            return found
        pipeline = config.runnable(name)
        node = Node(
            id=pipeline.name if pipeline else name,
            name=pipeline.name if pipeline else name,
            node_type=PIPELINE,
        )
        if pipeline is None:
            node.view_type = "DELETED"
        else:
            node.can_edit = not pipeline.is_from_config_repo
            node.template_name = pipeline.template
        nodes[key] = node
        return node

    def _add_instance(self, config: CruiseConfig, node: Node, instance: PipelineInstance) -> None:
        if any(i.counter == instance.counter for i in node.instances):
            return
        node.instances.append(
            InstanceRevision(instance.counter, instance.label, _stage_statuses(config, instance))
        )

    def _material_node(
        self, config: CruiseConfig, nodes: dict[str, Node], revision: MaterialRevision
    ) -> Node:
        found = nodes.get(revision.fingerprint)
        if found is None:
            materials = [
                m
                for p in config.pipelines_using(revision.fingerprint)
                for m in p.materials
                if m.fingerprint == revision.fingerprint
            ]
            material = materials[0] if materials else None
            found = Node(
                id=revision.fingerprint,
                name=_material_display(material) if material else revision.fingerprint,
                node_type=MATERIAL,
                material_type=_TYPE_NAMES.get(type(material), material.type_name.upper())
                if material
                else "UNKNOWN",
            )
            for m in materials:
                name = getattr(m, "name", None)
                if isinstance(name, str) and name and name not in found.material_names:
                    found.material_names.append(name)
            nodes[revision.fingerprint] = found
        if revision.modifications not in found.material_revisions:
            found.material_revisions.append(revision.modifications)
        return found

    async def _upstream(
        self,
        uow: UnitOfWork,
        config: CruiseConfig,
        nodes: dict[str, Node],
        node: Node,
        instance: PipelineInstance,
        visited: set[tuple[str, int]],
    ) -> None:
        key = (instance.name.lower(), instance.counter)
        if key in visited:
            return
        visited.add(key)
        for revision in instance.build_cause.material_revisions:
            upstream = _dependency(revision.latest) if revision.modifications else None
            if upstream is None:
                if revision.modifications:
                    node.add_parent(self._material_node(config, nodes, revision))
                continue
            name, counter = upstream
            parent = self._pipeline_node(config, nodes, name)
            node.add_parent(parent)
            found = await uow.pipeline_instances.find(name, counter)
            if found is None:
                continue
            self._add_instance(config, parent, found)
            await self._upstream(uow, config, nodes, parent, found, visited)

    async def _downstream(
        self,
        uow: UnitOfWork,
        config: CruiseConfig,
        nodes: dict[str, Node],
        root: Node,
        start: list[Node] | None = None,
    ) -> None:
        """Pipelines downstream of `root` (or of the `start` nodes: a material's map, which
        has no upstream part) with the instances that consumed those on the map."""
        pending = [root] if start is None else list(start)
        expanded: set[str] = set()
        upstream_ids = (
            {n.id.lower() for n in nodes.values() if n is not root} if start is None else set()
        )
        while pending:
            node = pending.pop(0)
            if node.id.lower() in expanded:
                continue
            expanded.add(node.id.lower())
            for child_config in _dependents(config, node.name):
                if child_config.name.lower() in upstream_ids:
                    continue  # a cycle through the upstream part: GoCD does not draw those
                child = self._pipeline_node(config, nodes, child_config.name)
                child.add_parent(node)
                for revision in list(node.instances):
                    if revision.counter == 0:
                        continue
                    for counter in await uow.history.consumers(
                        child.name, node.name, revision.counter
                    ):
                        consumed = await uow.pipeline_instances.find(child.name, counter)
                        if consumed is not None:
                            self._add_instance(config, child, consumed)
                pending.append(child)
        for node in nodes.values():
            if (
                node.node_type == PIPELINE
                and not node.instances
                and node is not root
                and node.view_type is None
            ):
                node.instances.append(_unrun(config, node.name))

    # -- layout ---------------------------------------------------------------------------

    def _assign_levels(self, root: Node) -> None:
        root.level = 0
        for parents in (True, False):
            order: list[Node] = []
            self._topological(root, parents, set(), order)
            order.reverse()
            for node in order:
                related = node.parents if parents else node.children
                step = -1 if parents else 1
                for other in related:
                    wanted = node.level + step
                    if (parents and wanted < other.level) or (not parents and wanted > other.level):
                        other.level = wanted

    def _topological(self, node: Node, parents: bool, seen: set[str], out: list[Node]) -> None:
        if node.id in seen:
            return
        seen.add(node.id)
        for other in node.parents if parents else node.children:
            self._topological(other, parents, seen, out)
        out.append(node)

    def _dummies_and_levels(self, nodes: list[Node]) -> list[list[Node]]:
        everything = list(nodes)
        visited: set[str] = set()

        def visit(node: Node) -> None:
            if node.id in visited:
                return
            visited.add(node.id)
            for index, child in enumerate(list(node.children)):
                if abs(child.level - node.level) > 1:
                    dummy_id = str(uuid.uuid4())
                    dummy = Node(
                        id=dummy_id,
                        name=f"dummy-{dummy_id}",
                        node_type=DUMMY,
                        level=node.level + 1,
                    )
                    everything.append(dummy)
                    dummy.parents.append(node)
                    dummy.children.append(child)
                    node.children[index] = dummy
                    child.parents[child.parents.index(node)] = dummy
                    visit(dummy)
                else:
                    visit(child)

        for node in [n for n in nodes if not n.parents]:
            visit(node)
        lowest = min(n.level for n in everything)
        levels: list[list[Node]] = [
            [] for _ in range(max(n.level for n in everything) - lowest + 1)
        ]
        for node in everything:
            levels[node.level - lowest].append(node)
        for index, level in enumerate(levels):
            if index > 0:
                position = {n.id: n.depth for n in levels[index - 1]}
                level.sort(
                    key=lambda n: (
                        sum(position.get(p.id, 0) for p in n.parents) / len(n.parents)
                        if n.parents
                        else 0
                    )
                )
            for depth, node in enumerate(level, start=1):
                node.depth = depth
        return levels


def _dependents(config: CruiseConfig, name: str) -> list[PipelineConfig]:
    wanted = name.lower()
    return [
        pipeline
        for pipeline in config.runnable_pipelines()
        if any(
            isinstance(m, DependencyMaterialConfig) and m.pipeline.lower() == wanted
            for m in pipeline.materials
        )
    ]


def time_ago(moment: datetime, now: datetime) -> str:
    """GoCD's `TimeConverter` wording: "less than a minute ago", "about 2 hours ago", …"""
    seconds = max(0.0, (now - moment).total_seconds())
    minutes = round(seconds / 60)
    if seconds < 30:
        return "less than a minute ago"
    if minutes <= 1:
        return "1 minute ago"
    if minutes < 45:
        return f"{minutes} minutes ago"
    if minutes < 90:
        return "about 1 hour ago"
    if minutes < 1440:
        return f"about {round(minutes / 60)} hours ago"
    if minutes < 2880:
        return "1 day ago"
    if minutes < 43200:
        return f"{round(minutes / 1440)} days ago"
    if minutes < 86400:
        return "about 1 month ago"
    if minutes < 525600:
        return f"{round(minutes / 43200)} months ago"
    years = minutes // 525600
    return "about 1 year ago" if years <= 1 else f"over {years} years ago"
