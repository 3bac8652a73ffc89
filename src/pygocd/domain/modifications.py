"""What a material poll finds: modifications (commits), their files, and material revisions."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class ModifiedAction(enum.StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ModifiedFile:
    file_name: str
    action: ModifiedAction = ModifiedAction.UNKNOWN
    folder_name: str | None = None
    revision: str | None = None


@dataclass(frozen=True, slots=True)
class Modification:
    """One commit (SCM) or one upstream stage run (dependency: revision `p/12/stage/1`)."""

    revision: str
    modified_time: datetime
    user_name: str | None = None
    email_address: str | None = None
    comment: str | None = None
    files: tuple[ModifiedFile, ...] = ()
    pipeline_label: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class MaterialRevision:
    """The modifications of one material an instance was built from, newest first."""

    fingerprint: str
    modifications: tuple[Modification, ...]
    changed: bool = False
    material_name: str | None = None
    folder: str | None = None

    @property
    def latest(self) -> Modification:
        return self.modifications[0]

    @property
    def revision(self) -> str:
        """GoCD's "to" revision: the newest modification."""
        return self.modifications[0].revision

    @property
    def from_revision(self) -> str:
        """GoCD's "from" revision: the oldest modification in the range."""
        return self.modifications[-1].revision
