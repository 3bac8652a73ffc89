"""Config revisions: append-only, one row per save, optimistic locking by parent md5."""

from __future__ import annotations

import json

from sqlalchemy import RowMapping, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pygocd.db.columns import as_utc
from pygocd.db.tables import config_revisions
from pygocd.domain.config import ConfigRevision
from pygocd.domain.errors import Conflict


def _to_domain(row: RowMapping) -> ConfigRevision:
    return ConfigRevision(
        md5=row["md5"],
        parent_md5=row["parent_md5"],
        document=json.loads(row["document"]),
        author=row["author"],
        message=row["message"],
        created_at=as_utc(row["created_at"]),
        id=row["id"],
        parent_id=row["parent_id"],
    )


class SqlConfigRevisionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def latest(self) -> ConfigRevision | None:
        query = select(config_revisions).order_by(config_revisions.c.id.desc()).limit(1)
        row = (await self._connection.execute(query)).mappings().first()
        return _to_domain(row) if row else None

    async def get(self, md5: str) -> ConfigRevision | None:
        query = select(config_revisions).where(config_revisions.c.md5 == md5)
        row = (await self._connection.execute(query)).mappings().first()
        return _to_domain(row) if row else None

    async def list(self, limit: int = 50, offset: int = 0) -> list[ConfigRevision]:
        query = (
            select(config_revisions)
            .order_by(config_revisions.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_to_domain(row) for row in (await self._connection.execute(query)).mappings()]

    async def add(self, revision: ConfigRevision) -> int:
        statement = insert(config_revisions).values(
            md5=revision.md5,
            parent_id=revision.parent_id,
            parent_md5=revision.parent_md5,
            document=json.dumps(revision.document, sort_keys=True),
            author=revision.author,
            message=revision.message,
            created_at=revision.created_at,
        )
        try:
            new_id = (
                await self._connection.execute(statement.returning(config_revisions.c.id))
            ).scalar_one()
        except IntegrityError as error:
            raise Conflict(
                "Someone has modified the configuration. Please update your copy of the config "
                "with the changes and try again."
            ) from error
        return int(new_id)
