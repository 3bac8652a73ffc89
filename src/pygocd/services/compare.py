"""What changed between two instances of a pipeline (GoCD's `ChangesetService`, behind the
compare page and compare API v2): per material of the pipeline, the modifications after the
older instance's revision up to the newer one's — commits for SCM materials, upstream stage
runs for dependency materials. The counters may come in either order."""

from __future__ import annotations

from dataclasses import dataclass

from pygocd.domain.errors import NotFound
from pygocd.domain.materials import MaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.runs import PipelineInstance
from pygocd.services.config import ConfigService
from pygocd.services.ports import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class MaterialChanges:
    material: MaterialConfig
    modifications: tuple[Modification, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    pipeline: str
    older: PipelineInstance
    newer: PipelineInstance
    changes: tuple[MaterialChanges, ...]


class CompareService:
    def __init__(self, uow: UnitOfWorkFactory, config: ConfigService) -> None:
        self._uow = uow
        self._config = config

    async def compare(self, pipeline: str, first: int, second: int) -> Comparison:
        found = self._config.current.runnable(pipeline)
        if found is None:
            raise NotFound(f"Pipeline with name '{pipeline}' was not found!")
        low, high = sorted((first, second))
        materials = {m.fingerprint: m for m in found.materials}
        changes: list[MaterialChanges] = []
        async with self._uow(read_only=True) as uow:
            older = await uow.pipeline_instances.find(found.name, low)
            newer = await uow.pipeline_instances.find(found.name, high)
            if older is None or newer is None:
                missing = low if older is None else high
                raise NotFound(f"Pipeline '{found.name}' with counter '{missing}' not found!")
            seen = {r.fingerprint: r.latest.id or 0 for r in older.build_cause.material_revisions}
            for revision in newer.build_cause.material_revisions:
                material = materials.get(revision.fingerprint)
                if material is None:
                    continue
                top = revision.latest.id or 0
                floor = seen.get(revision.fingerprint, 0)
                if top <= floor:
                    continue
                between = await uow.history.modifications_between(revision.fingerprint, floor, top)
                changes.append(MaterialChanges(material, tuple(between)))
        return Comparison(found.name, older, newer, tuple(changes))
