"""Comments on pipeline instances (GoCD's `PipelineHistoryService.updateComment`): one text per
instance, replaced on each save, then a `PIPELINE_CHANGED` event so open activity pages and
dashboards show it at once."""

from __future__ import annotations

from pygocd.domain.errors import NotFound
from pygocd.services.config import ConfigService
from pygocd.services.events import PIPELINE_CHANGED
from pygocd.services.ports import EventBus, UnitOfWorkFactory


class CommentService:
    def __init__(self, uow: UnitOfWorkFactory, bus: EventBus, config: ConfigService) -> None:
        self._uow = uow
        self._bus = bus
        self._config = config

    async def update_comment(self, pipeline: str, counter: int, comment: str) -> None:
        found = self._config.current.runnable(pipeline)
        if found is None:
            raise NotFound(f"Pipeline with name '{pipeline}' was not found!")
        async with self._uow() as uow:
            instance = await uow.pipeline_instances.find(found.name, counter)
            if instance is None or instance.id is None:
                raise NotFound(f"Pipeline '{found.name}' with counter '{counter}' not found!")
            await uow.pipeline_instances.set_comment(instance.id, comment)
            await uow.commit()
        await self._bus.publish(PIPELINE_CHANGED, {"pipeline": found.name, "counter": counter})
