"""Material instances (one row per fingerprint), their modifications, and the revisions an
instance was built from (GoCD's `pipelinematerialrevisions`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from sqlalchemy import RowMapping, bindparam, func, insert, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from pygocd.db.columns import as_utc
from pygocd.db.tables import materials, modifications, modified_files, pipeline_material_revisions
from pygocd.db.upsert import insert_ignoring_conflicts
from pygocd.domain.materials import (
    DependencyMaterialConfig,
    MaterialConfig,
    url_without_credentials,
)
from pygocd.domain.modifications import MaterialRevision, Modification, ModifiedAction, ModifiedFile


async def ensure_material(connection: AsyncConnection, material: MaterialConfig) -> int:
    """The id of the material row for this fingerprint, created on first sight."""
    values: dict[str, object] = {"type": material.type_name, "fingerprint": material.fingerprint}
    if isinstance(material, DependencyMaterialConfig):
        values |= {"pipeline_name": material.pipeline, "stage_name": material.stage}
    else:
        url = getattr(material, "url", None) or getattr(material, "port", None)
        if url:
            values["url"] = url_without_credentials(url)
        branch = getattr(material, "branch", None)
        if branch:
            values["branch"] = branch
    await connection.execute(
        insert_ignoring_conflicts(connection, materials, ["fingerprint"], **values)
    )
    query = select(materials.c.id).where(materials.c.fingerprint == material.fingerprint)
    return int((await connection.execute(query)).scalar_one())


async def add_modifications(
    connection: AsyncConnection, material_id: int, found: list[Modification]
) -> list[Modification]:
    """Store modifications (oldest first) and their files; returns them with ids."""
    saved: list[Modification] = []
    for modification in found:
        modification_id = (
            await connection.execute(
                insert(modifications)
                .values(
                    material_id=material_id,
                    revision=modification.revision,
                    user_name=modification.user_name,
                    email_address=modification.email_address,
                    comment=modification.comment,
                    modified_time=modification.modified_time,
                    pipeline_label=modification.pipeline_label,
                )
                .returning(modifications.c.id)
            )
        ).scalar_one()
        if modification.files:
            await connection.execute(
                insert(modified_files),
                [
                    {
                        "modification_id": modification_id,
                        "file_name": f.file_name,
                        "action": f.action.value,
                        "folder_name": f.folder_name,
                        "revision": f.revision,
                    }
                    for f in modification.files
                ],
            )
        saved.append(replace(modification, id=modification_id))
    return saved


async def save_material_revisions(
    connection: AsyncConnection,
    instances: Sequence[tuple[int, tuple[MaterialRevision, ...]]],
) -> None:
    """One row per material of each (pipeline id, revisions), all in one statement; the
    modifications are saved already, so the material is found from its newest modification
    (no look-up per material)."""
    rows = []
    for pipeline_id, revision in (
        (pipeline_id, revision) for pipeline_id, revisions in instances for revision in revisions
    ):
        newest, oldest = revision.modifications[0].id, revision.modifications[-1].id
        if newest is None or oldest is None:
            raise ValueError(
                f"material revision {revision.fingerprint[:12]} refers to unsaved modifications"
            )
        rows.append(
            {
                "pipeline_id": pipeline_id,
                "from_modification_id": oldest,
                "to_modification_id": newest,
                "newest_modification": newest,
                "changed": revision.changed,
                "name": revision.material_name,
                "folder": revision.folder,
            }
        )
    if not rows:
        return
    material_of = (
        select(modifications.c.material_id)
        .where(modifications.c.id == bindparam("newest_modification"))
        .scalar_subquery()
    )
    await connection.execute(
        insert(pipeline_material_revisions).values(material_id=material_of), rows
    )


async def load_material_revisions(
    connection: AsyncConnection, pipeline_id: int
) -> tuple[MaterialRevision, ...]:
    rows = (
        (
            await connection.execute(
                select(pipeline_material_revisions, materials.c.fingerprint)
                .join(materials, materials.c.id == pipeline_material_revisions.c.material_id)
                .where(pipeline_material_revisions.c.pipeline_id == pipeline_id)
                .order_by(pipeline_material_revisions.c.id)
            )
        )
        .mappings()
        .all()
    )
    result: list[MaterialRevision] = []
    for row in rows:
        mods = (
            (
                await connection.execute(
                    select(modifications)
                    .where(
                        modifications.c.material_id == row["material_id"],
                        modifications.c.id >= row["from_modification_id"],
                        modifications.c.id <= row["to_modification_id"],
                    )
                    .order_by(modifications.c.id.desc())
                )
            )
            .mappings()
            .all()
        )
        files_by_mod = await _files_of(connection, [m["id"] for m in mods])
        result.append(
            MaterialRevision(
                fingerprint=row["fingerprint"],
                modifications=tuple(modification_from_row(m, files_by_mod) for m in mods),
                changed=row["changed"],
                material_name=row["name"],
                folder=row["folder"],
            )
        )
    return tuple(result)


# SQLite allows 500 terms in one compound SELECT.
MATERIALS_PER_QUERY = 200


class SqlMaterialRepository:
    """Material rows and their modifications, bound to one unit of work's connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def ensure(self, material: MaterialConfig) -> int:
        return await ensure_material(self._connection, material)

    async def add_modifications(
        self, material_id: int, found: list[Modification]
    ) -> list[Modification]:
        return await add_modifications(self._connection, material_id, found)

    async def latest_modifications(self, fingerprint: str, limit: int = 1) -> list[Modification]:
        """The newest modifications of a material, newest first (without their files)."""
        return await self.modifications_page(fingerprint, offset=0, limit=limit)

    async def latest_modifications_of(
        self, fingerprints: Iterable[str], limit: int
    ) -> dict[str, list[Modification]]:
        """The newest `limit` modifications of each material, newest first, in one query per
        `MATERIALS_PER_QUERY` materials (each part walks the material's own index)."""
        wanted = list(dict.fromkeys(fingerprints))
        found: dict[str, list[Modification]] = {fingerprint: [] for fingerprint in wanted}
        for start in range(0, len(wanted), MATERIALS_PER_QUERY):
            parts = [
                select(modifications, materials.c.fingerprint)
                .join(materials, materials.c.id == modifications.c.material_id)
                .where(materials.c.fingerprint == fingerprint)
                .order_by(modifications.c.id.desc())
                .limit(limit)
                for fingerprint in wanted[start : start + MATERIALS_PER_QUERY]
            ]
            # One material (the usual single trigger) needs no union, and building the
            # union's subqueries costs more than the query itself.
            query = (
                union_all(*(p.subquery().select() for p in parts)) if len(parts) > 1 else parts[0]
            )
            for row in (await self._connection.execute(query)).mappings():
                found[row["fingerprint"]].append(modification_from_row(row, {}))
        for newest_first in found.values():
            newest_first.sort(key=lambda m: m.id or 0, reverse=True)
        return found

    async def modifications_page(
        self, fingerprint: str, offset: int, limit: int, *, with_files: bool = False
    ) -> list[Modification]:
        """A page of a material's modifications, newest first (GoCD's offset pagination)."""
        query = (
            select(modifications)
            .join(materials, materials.c.id == modifications.c.material_id)
            .where(materials.c.fingerprint == fingerprint)
            .order_by(modifications.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        rows = (await self._connection.execute(query)).mappings().all()
        files = await _files_of(self._connection, [m["id"] for m in rows]) if with_files else {}
        return [modification_from_row(m, files) for m in rows]

    async def count_modifications(self, fingerprint: str) -> int:
        query = (
            select(func.count())
            .select_from(modifications)
            .join(materials, materials.c.id == modifications.c.material_id)
            .where(materials.c.fingerprint == fingerprint)
        )
        return int((await self._connection.execute(query)).scalar_one())

    async def find_modification(self, fingerprint: str, revision: str) -> Modification | None:
        query = (
            select(modifications)
            .join(materials, materials.c.id == modifications.c.material_id)
            .where(materials.c.fingerprint == fingerprint, modifications.c.revision == revision)
            .order_by(modifications.c.id.desc())
            .limit(1)
        )
        row = (await self._connection.execute(query)).mappings().first()
        return modification_from_row(row, {}) if row is not None else None

    async def modifications_by_ids(self, ids: list[int]) -> list[Modification]:
        """Modifications (with files) by id, in the order of `ids`; unknown ids are left out."""
        if not ids:
            return []
        rows = (
            (
                await self._connection.execute(
                    select(modifications).where(modifications.c.id.in_(ids))
                )
            )
            .mappings()
            .all()
        )
        files = await _files_of(self._connection, ids)
        by_id = {m["id"]: modification_from_row(m, files) for m in rows}
        return [by_id[i] for i in ids if i in by_id]


async def _files_of(connection: AsyncConnection, ids: list[int]) -> dict[int, list[ModifiedFile]]:
    """The modified files of these modifications, by modification id."""
    files: dict[int, list[ModifiedFile]] = defaultdict(list)
    if not ids:
        return files
    rows = await connection.execute(
        select(modified_files)
        .where(modified_files.c.modification_id.in_(ids))
        .order_by(modified_files.c.id)
    )
    for f in rows.mappings():
        files[f["modification_id"]].append(
            ModifiedFile(
                file_name=f["file_name"],
                action=ModifiedAction(f["action"]),
                folder_name=f["folder_name"],
                revision=f["revision"],
            )
        )
    return files


def modification_from_row(row: RowMapping, files: Mapping[int, list[ModifiedFile]]) -> Modification:
    return Modification(
        revision=row["revision"],
        modified_time=as_utc(row["modified_time"]),
        user_name=row["user_name"],
        email_address=row["email_address"],
        comment=row["comment"],
        files=tuple(files.get(row["id"], ())),
        pipeline_label=row["pipeline_label"],
        id=row["id"],
    )
