"""Agent ↔ server messages (protocol version 2). Pydantic models only, no behaviour.

Flow: `RegisterRequest` → `Registered` (the token, shown once); then the agent long-polls
`WorkRequest` → `Work | NoWork`; while it runs a job it reports `JobReport` → `JobReportReply`,
appends console text at a byte offset (→ `ConsoleAppended`), uploads artifacts (multipart,
→ `ArtifactUploaded`) and pings with the job id (`Ping` → `PingReply`), which also answers at
once when the job is cancelled. Unknown fields are ignored both ways, so a newer side can add
optional fields without a version bump.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# -- registration and liveness -------------------------------------------------------------


class RegisterRequest(Message):
    uuid: str = Field(min_length=1, max_length=64)
    hostname: str = Field(min_length=1, max_length=255)
    location: str = ""
    operating_system: str = ""
    agent_version: str = ""
    free_space: int | None = None
    auto_register_key: str | None = None
    resources: list[str] = Field(default_factory=list)
    environments: list[str] = Field(default_factory=list)


class Registered(Message):
    uuid: str
    token: str
    config_state: str  # Pending | Enabled | Disabled


RuntimeStatus = Literal["Idle", "Building", "Cancelled"]


class Ping(Message):
    runtime_status: RuntimeStatus = "Idle"
    free_space: int | None = None
    job_id: int | None = None
    wait_seconds: float = Field(0.0, ge=0)
    """With a job id: hold the answer up to this long unless the job is cancelled (or, from
    an agent already `Cancelled`, unless an admin asks to kill its running tasks)."""


class PingReply(Message):
    config_state: str
    cancel_job: bool = False
    kill_running_tasks: bool = False
    """An admin asked to kill whatever still runs of a cancelled job (GoCD's
    `KILL_RUNNING_TASKS`), e.g. an on_cancel task that hangs."""


class WorkRequest(Message):
    runtime_status: RuntimeStatus = "Idle"
    free_space: int | None = None
    wait_seconds: float = Field(30.0, ge=0)


# -- work --------------------------------------------------------------------------------


class JobIdentity(Message):
    pipeline: str
    pipeline_counter: int
    pipeline_label: str
    stage: str
    stage_counter: int
    job: str

    @property
    def locator(self) -> str:
        return (
            f"{self.pipeline}/{self.pipeline_counter}/{self.stage}/{self.stage_counter}/{self.job}"
        )


class GitCheckout(Message):
    type: Literal["git"] = "git"
    name: str | None = None
    url: str
    branch: str = "master"
    destination: str = ""
    revision: str
    shallow: bool = False


class EnvVar(Message):
    name: str
    value: str
    secure: bool = False


RunIf = Literal["passed", "failed", "any"]


class TaskBase(Message):
    run_if: list[RunIf] = Field(default_factory=lambda: list[RunIf](["passed"]))
    on_cancel: Task | None = None
    description: str = ""


class ExecTask(TaskBase):
    """Run `command` with `args` directly, without a shell (GoCD's exec)."""

    type: Literal["exec"] = "exec"
    command: str
    args: list[str] = Field(default_factory=list)
    working_directory: str | None = None


class ScriptTask(TaskBase):
    """GoCD's script-executor shape: the text runs with `sh`."""

    type: Literal["script"] = "script"
    script: str
    working_directory: str | None = None


class FetchTask(TaskBase):
    """Download `source` of the job at `locator` (resolved by the server) into `destination`."""

    type: Literal["fetch"] = "fetch"
    locator: str | None = None
    source: str
    is_file: bool = False
    destination: str = ""
    error: str | None = None
    """Set when the server could not resolve the upstream job: the task fails with it."""


class UnsupportedTask(TaskBase):
    """A task this server cannot run on an agent (a plugin task): it fails the job."""

    type: Literal["unsupported"] = "unsupported"


Task = Annotated[ExecTask | ScriptTask | FetchTask | UnsupportedTask, Field(discriminator="type")]


class ArtifactPlan(Message):
    type: Literal["build", "test"] = "build"
    source: str
    destination: str = ""


class Work(Message):
    type: Literal["Work"] = "Work"
    job_id: int
    job: JobIdentity
    working_directory: str
    """Relative to the agent's work dir: GoCD's `pipelines/<pipeline>`."""
    fetch_materials: bool = True
    clean_working_directory: bool = False
    materials: list[GitCheckout] = Field(default_factory=list)
    unsupported_materials: list[str] = Field(default_factory=list)
    """Materials of the job this server cannot check out (not git), each described: the
    agent fails the job while preparing, naming them, rather than build without them."""
    tasks: list[Task] = Field(default_factory=list)
    artifacts: list[ArtifactPlan] = Field(default_factory=list)
    environment: list[EnvVar] = Field(default_factory=list)
    timeout_minutes: int | None = None
    """Cancel when the console stays silent this long (GoCD's job timeout); None = never."""


class NoWork(Message):
    type: Literal["NoWork"] = "NoWork"
    reason: str = ""


WorkReply = Work | NoWork


def parse_work_reply(data: bytes | str) -> WorkReply:
    """`Work` or `NoWork` by the `type` field (a NoWork never builds the Work validator)."""
    body = json.loads(data)
    if isinstance(body, dict) and body.get("type") == "NoWork":
        return NoWork.model_validate(body)
    return Work.model_validate(body)


# -- reports, console, artifacts --------------------------------------------------------------

JobStateName = Literal["Preparing", "Building", "Completing", "Completed"]
JobResultName = Literal["Passed", "Failed", "Cancelled"]


class JobStep(Message):
    state: JobStateName
    result: JobResultName | None = None


class JobReport(Message):
    """The job's newest state; `earlier` (protocol 2) holds the states it passed through since
    the agent's last report, oldest first, so a short job needs one call for several steps.
    The server applies them in order, in one transaction."""

    state: JobStateName
    result: JobResultName | None = None
    earlier: list[JobStep] = Field(default_factory=list, max_length=4)


class JobReportReply(Message):
    applied: bool
    """False: the job was cancelled or rescheduled meanwhile and the agent should stop."""


class ConsoleAppended(Message):
    size: int
    """The console's size in bytes after the append: the offset of the next chunk."""
    cancelled: bool = False


class ArtifactUploaded(Message):
    path: str
    size: int


class ArtifactEntry(Message):
    path: str
    size: int
    md5: str | None = None


class ArtifactListing(Message):
    entries: list[ArtifactEntry] = Field(default_factory=list)


class ErrorReply(Message):
    message: str


TaskBase.model_rebuild()
ExecTask.model_rebuild()
ScriptTask.model_rebuild()
FetchTask.model_rebuild()
UnsupportedTask.model_rebuild()
