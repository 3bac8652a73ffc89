"""What an agent needs to run a job: GoCD's `BuildAssignment`, as our own `Work` message.

Materials come at the revisions of the instance's build cause; tasks, artifact plans and the
timeout from the config; environment variables in GoCD's order, where the last one set wins
(`BuildAssignmentService.buildEnvVarContext`, reference §6.5): server URL, group, environment
(name, then its variables), agent resources, trigger user, pipeline/stage/job names and
counters, material variables, then pipeline < stage < job variables, and trigger-time
overrides (only for names already set). Secure values travel flagged so the agent masks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from pygocd.domain.agents import Agent
from pygocd.domain.errors import NotFound
from pygocd.domain.materials import (
    DependencyMaterialConfig,
    GitMaterialConfig,
    HgMaterialConfig,
    MaterialConfig,
    url_without_credentials,
)
from pygocd.domain.modifications import MaterialRevision
from pygocd.domain.pipelines import ArtifactType, JobConfig, PipelineConfig
from pygocd.domain.runs import JobIdentifier, JobInstance, PipelineInstance, StageInstance
from pygocd.domain.tasks import (
    AntTask,
    ExecTask,
    FetchArtifactTask,
    FetchExternalArtifactTask,
    NantTask,
    PluginTask,
    RakeTask,
    Task,
)
from pygocd.domain.variables import EnvironmentVariable, merge_variables
from pygocd.protocol import messages as wire
from pygocd.services.assignment import config_job_name
from pygocd.services.config import ConfigService
from pygocd.services.materials import UNSUPPORTED_KINDS, unsupported_message
from pygocd.services.ports import UnitOfWork, UnitOfWorkFactory

_NOT_NAME_CHAR = re.compile(r"[^A-Za-z0-9_]")
_RUN_INDEX = re.compile(r"-runInstance-(\d+)$")


def env_suffix(name: str) -> str:
    """GoCD's escaping for a variable-name suffix: upper case, non `[A-Za-z0-9_]` → `_`."""
    return _NOT_NAME_CHAR.sub("_", name).upper()


def with_credentials(material: GitMaterialConfig) -> str:
    """The clone URL with the material's separate username/password put into it."""
    url = material.url
    if not material.username or "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    if "@" in rest.split("/", 1)[0]:
        return url
    userinfo = quote(material.username, safe="")
    if material.password:
        userinfo += ":" + quote(material.password, safe="")
    return f"{scheme}://{userinfo}@{rest}"


class Environment:
    """GoCD's `EnvironmentVariableContext`: ordered, last one set wins, secure flags kept."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, bool]] = {}

    def set(self, name: str, value: str | None, *, secure: bool = False) -> None:
        self._values.pop(name, None)
        self._values[name] = (value or "", secure)

    def has(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str) -> str | None:
        found = self._values.get(name)
        return found[0] if found else None

    def variables(self, variables: tuple[EnvironmentVariable, ...]) -> None:
        for variable in variables:
            self.set(variable.name, _value_of(variable), secure=variable.secure)

    def to_wire(self) -> list[wire.EnvVar]:
        return [wire.EnvVar(name=n, value=v, secure=s) for n, (v, s) in self._values.items()]


def _value_of(variable: EnvironmentVariable) -> str:
    # A secure variable known only by GoCD's cipher text cannot be decrypted here; it runs
    # empty rather than leak cipher text into a build.
    return variable.value or ""


@dataclass(frozen=True)
class JobContext:
    job: JobInstance
    identifier: JobIdentifier
    instance: PipelineInstance
    stage: StageInstance
    pipeline: PipelineConfig
    config: JobConfig


class WorkBuilder:
    def __init__(self, uow: UnitOfWorkFactory, config: ConfigService) -> None:
        self._uow = uow
        self._config = config

    async def build(self, job_id: int, agent: Agent, server_url: str) -> wire.Work:
        """The Work message for an assigned job; `server_url` ends in `/go`."""
        async with self._uow(read_only=True) as uow:
            context = await self._context(uow, job_id)
            fetches = [
                await self._fetch(uow, context, task)
                for task in _all_fetch_tasks(context.config.tasks)
            ]
        resolved = {id(task): fetch for task, fetch in fetches}
        timeout = context.config.timeout
        return wire.Work(
            job_id=job_id,
            job=wire.JobIdentity(
                pipeline=context.identifier.pipeline_name,
                pipeline_counter=context.identifier.pipeline_counter,
                pipeline_label=context.identifier.pipeline_label,
                stage=context.identifier.stage_name,
                stage_counter=context.identifier.stage_counter,
                job=context.identifier.job_name,
            ),
            working_directory=f"pipelines/{context.pipeline.name}",
            fetch_materials=context.stage.fetch_materials,
            clean_working_directory=context.stage.clean_working_directory,
            materials=self._checkouts(context),
            unsupported_materials=self._unsupported(context),
            tasks=[_task(task, resolved) for task in context.config.tasks],
            artifacts=[
                wire.ArtifactPlan(
                    type="test" if a.type is ArtifactType.TEST else "build",
                    source=a.source or "",
                    destination=a.destination or "",
                )
                for a in context.config.artifacts
                if a.type is not ArtifactType.EXTERNAL and a.source
            ],
            environment=self.environment(context, agent, server_url).to_wire(),
            timeout_minutes=timeout if timeout else None,
        )

    async def _context(self, uow: UnitOfWork, job_id: int) -> JobContext:
        found = await uow.jobs.get(job_id, with_transitions=False)
        if found is None:
            raise NotFound(f"Job {job_id} was not found!")
        job, identifier = found
        instance = await uow.pipeline_instances.find(
            identifier.pipeline_name, identifier.pipeline_counter
        )
        if instance is None:
            raise NotFound(f"Pipeline instance of job {job_id} was not found!")
        stage = next(s for s in instance.stages if s.id == job.stage_id)
        pipeline = self._config.current.runnable(instance.name)
        stage_config = pipeline.find_stage(stage.name) if pipeline else None
        config = stage_config.find_job(config_job_name(job)) if stage_config else None
        if pipeline is None or config is None:
            raise NotFound(f"The config of job {identifier.locator} was not found!")
        return JobContext(job, identifier, instance, stage, pipeline, config)

    # -- materials --------------------------------------------------------------------------

    def _materials(self, context: JobContext) -> list[tuple[MaterialConfig, MaterialRevision]]:
        by_fingerprint = {m.fingerprint: m for m in context.pipeline.materials}
        pairs = []
        for revision in context.instance.build_cause.material_revisions:
            material = by_fingerprint.get(revision.fingerprint)
            if material is not None:
                pairs.append((material, revision))
        return pairs

    def _checkouts(self, context: JobContext) -> list[wire.GitCheckout]:
        return [
            wire.GitCheckout(
                name=material.name,
                url=with_credentials(material),
                branch=material.effective_branch,
                destination=material.destination or "",
                revision=revision.revision,
                shallow=material.shallow_clone,
            )
            for material, revision in self._materials(context)
            if isinstance(material, GitMaterialConfig)
        ]

    def _unsupported(self, context: JobContext) -> list[str]:
        return [
            unsupported_message(material, [context.pipeline.name])[0]
            for material, _revision in self._materials(context)
            if material.kind in UNSUPPORTED_KINDS
        ]

    # -- environment ------------------------------------------------------------------------

    def environment(self, context: JobContext, agent: Agent, server_url: str) -> Environment:
        env = Environment()
        current = self._config.current
        identifier = context.identifier
        env.set("GO_SERVER_URL", server_url)
        group = next(
            (
                g.name
                for g in current.groups
                if any(p.name.lower() == context.pipeline.name.lower() for p in g.pipelines)
            ),
            context.pipeline.group,
        )
        env.set("GO_PIPELINE_GROUP_NAME", group)
        environment = current.environment_of(context.pipeline.name)
        if environment is not None:
            env.set("GO_ENVIRONMENT_NAME", environment.name)
            env.variables(environment.environment_variables)
        if agent.resources:
            env.set("GO_AGENT_RESOURCES", ",".join(agent.resources))
        env.set("GO_TRIGGER_USER", context.stage.approved_by or "")
        env.set("GO_PIPELINE_NAME", identifier.pipeline_name)
        env.set("GO_PIPELINE_COUNTER", str(identifier.pipeline_counter))
        env.set("GO_PIPELINE_LABEL", identifier.pipeline_label)
        env.set("GO_STAGE_NAME", identifier.stage_name)
        env.set("GO_STAGE_COUNTER", str(identifier.stage_counter))
        if context.stage.rerun_of_counter is not None:
            env.set("GO_RERUN_OF_STAGE_COUNTER", str(context.stage.rerun_of_counter))
        env.set("GO_JOB_NAME", identifier.job_name)
        for material, revision in self._materials(context):
            _material_variables(env, material, revision)
        stage_config = context.pipeline.find_stage(context.stage.name)
        env.variables(
            merge_variables(
                context.pipeline.environment_variables,
                stage_config.environment_variables if stage_config else (),
                context.config.environment_variables,
            )
        )
        run_index = _RUN_INDEX.search(context.job.name)
        if context.job.run_multiple_instance and run_index and context.config.run_instance_count:
            env.set("GO_JOB_RUN_INDEX", run_index.group(1))
            env.set("GO_JOB_RUN_COUNT", str(context.config.run_instance_count))
        for variable in context.instance.build_cause.trigger_variables:
            if env.has(variable.name):
                env.set(variable.name, _value_of(variable), secure=variable.secure)
        return env

    # -- fetch ------------------------------------------------------------------------------

    async def _fetch(
        self, uow: UnitOfWork, context: JobContext, task: FetchArtifactTask
    ) -> tuple[FetchArtifactTask, tuple[str | None, str | None]]:
        """The locator of the job a fetch task reads from, or an error message."""
        path = [p for p in (task.pipeline or "").split("/") if p]
        source = context.instance
        if path and not (len(path) == 1 and path[0].lower() == context.instance.name.lower()):
            # `a/b/c`: c is a direct upstream of this pipeline, b of c, a of b.
            for name in reversed(path):
                upstream = await self._upstream(uow, source, name)
                if upstream is None:
                    return task, (
                        None,
                        f"Pipeline '{name}' is not an upstream of '{source.name}' in this run.",
                    )
                source = upstream
        stage = source.latest_stage(task.stage)
        if stage is None:
            return task, (
                None,
                f"Stage '{task.stage}' has not run in {source.name}/{source.counter}.",
            )
        job = next((j for j in stage.jobs if j.name.lower() == task.job.lower()), None)
        if job is None:
            return task, (
                None,
                f"Job '{task.job}' was not found in "
                f"{source.name}/{source.counter}/{stage.name}/{stage.counter}.",
            )
        locator = f"{source.name}/{source.counter}/{stage.name}/{stage.counter}/{job.name}"
        return task, (locator, None)

    async def _upstream(
        self, uow: UnitOfWork, instance: PipelineInstance, name: str
    ) -> PipelineInstance | None:
        pipeline = self._config.current.runnable(instance.name)
        fingerprints = {
            m.fingerprint
            for m in (pipeline.materials if pipeline else ())
            if isinstance(m, DependencyMaterialConfig) and m.pipeline.lower() == name.lower()
        }
        for revision in instance.build_cause.material_revisions:
            upstream, _, rest = revision.revision.partition("/")
            if revision.fingerprint in fingerprints or (
                not fingerprints and upstream.lower() == name.lower() and rest
            ):
                counter = rest.split("/", 1)[0]
                if counter.isascii() and counter.isdigit():
                    return await uow.pipeline_instances.find(upstream, int(counter))
        return None


def _material_variables(
    env: Environment, material: MaterialConfig, revision: MaterialRevision
) -> None:
    if isinstance(material, DependencyMaterialConfig):
        name = env_suffix(material.effective_name)
        env.set(f"GO_DEPENDENCY_LABEL_{name}", revision.latest.pipeline_label or "")
        env.set(f"GO_DEPENDENCY_LOCATOR_{name}", revision.revision)
        env.set(f"GO_MATERIAL_{name}_HAS_CHANGED", "true" if revision.changed else "false")
        return
    label = material.name or getattr(material, "destination", None)
    suffix = f"_{env_suffix(label)}" if label else ""
    if getattr(material, "is_scm", False):
        env.set(f"GO_REVISION{suffix}", revision.revision)
        env.set(f"GO_TO_REVISION{suffix}", revision.revision)
        env.set(f"GO_FROM_REVISION{suffix}", revision.from_revision)
        url = getattr(material, "url", None)
        if url:
            env.set(f"GO_MATERIAL_URL{suffix}", url_without_credentials(url))
        if isinstance(material, GitMaterialConfig):
            env.set(f"GO_MATERIAL_BRANCH{suffix}", material.effective_branch)
        elif isinstance(material, HgMaterialConfig):
            env.set(f"GO_MATERIAL_BRANCH{suffix}", _hg_branch(material))
    env.set(f"GO_MATERIAL{suffix}_HAS_CHANGED", "true" if revision.changed else "false")


def _hg_branch(material: HgMaterialConfig) -> str:
    if material.branch and material.branch.strip():
        return material.branch
    if "##" in material.url:
        return material.url.split("##", 1)[1]
    return "default"


# -- tasks --------------------------------------------------------------------------------


def _all_fetch_tasks(tasks: tuple[Task, ...]) -> list[FetchArtifactTask]:
    found: list[FetchArtifactTask] = []
    for task in tasks:
        if isinstance(task, FetchArtifactTask):
            found.append(task)
        if task.on_cancel is not None:
            found.extend(_all_fetch_tasks((task.on_cancel,)))
    return found


Resolved = dict[int, tuple[str | None, str | None]]


def _task(task: Task, resolved: Resolved) -> wire.Task:
    on_cancel = _task(task.on_cancel, resolved) if task.on_cancel is not None else None
    common: dict[str, object] = {"run_if": [task.run_if.value], "on_cancel": on_cancel}
    if isinstance(task, ExecTask):
        return wire.ExecTask(
            command=task.command,
            args=list(task.arguments),
            working_directory=task.working_directory,
            description=" ".join([task.command, *task.arguments]),
            **common,
        )
    if isinstance(task, AntTask | NantTask | RakeTask):
        command, args = _tool_command(task)
        return wire.ExecTask(
            command=command,
            args=args,
            working_directory=task.working_directory,
            description=" ".join([command, *args]),
            **common,
        )
    if isinstance(task, FetchArtifactTask):
        locator, error = resolved.get(id(task), (None, "fetch task was not resolved"))
        kind = "file" if task.is_source_a_file else "directory"
        return wire.FetchTask(
            locator=locator,
            source=task.source,
            is_file=task.is_source_a_file,
            destination=task.destination or "",
            error=error,
            description=f"Fetching artifact [{task.source}] ({kind}) from [{locator or '?'}]",
            **common,
        )
    if isinstance(task, PluginTask) and task.script is not None:
        return wire.ScriptTask(
            script=task.script,
            description="script",
            **common,
        )
    what = "external artifact fetch" if isinstance(task, FetchExternalArtifactTask) else "plugin"
    return wire.UnsupportedTask(
        description=f"This server cannot run {what} tasks on agents",
        **common,
    )


def _tool_command(task: AntTask | NantTask | RakeTask) -> tuple[str, list[str]]:
    targets = (task.target or "").split()
    if isinstance(task, AntTask):
        return "ant", [*(["-f", task.build_file] if task.build_file else []), *targets]
    if isinstance(task, NantTask):
        nant = f"{task.nant_path.rstrip('/')}/nant" if task.nant_path else "nant"
        return nant, [*([f"-buildfile:{task.build_file}"] if task.build_file else []), *targets]
    return "rake", [*(["-f", task.build_file] if task.build_file else []), *targets]
