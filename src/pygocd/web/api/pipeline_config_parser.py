"""GoCD's pipeline config v11 JSON → domain config (`PipelineConfigRepresenter.fromJSON`).

The same stage shape serves templates v7. Reading never stops at the first problem: each one
is written onto the JSON object it is about, as `"errors": {"field": ["message"]}`, in a copy
of the body that becomes the `data` of GoCD's 422 answer.

A GET → PUT round trip must not lose what GET hides: a material URL whose credentials GET
masked, a plain password GET leaves out, a secure variable GET shows without its value. When
the previous config is given, such values are taken from it.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from pygocd.domain.materials import (
    DEFAULT_GIT_BRANCH,
    ConfigurationProperty,
    DependencyMaterialConfig,
    GitMaterialConfig,
    HgMaterialConfig,
    MaterialConfig,
    MaterialFilter,
    P4MaterialConfig,
    PackageMaterialConfig,
    PluggableScmMaterialConfig,
    PluginConfiguration,
    ScmMaterialConfig,
    SvnMaterialConfig,
    TfsMaterialConfig,
    mask_credentials,
)
from pygocd.domain.pipelines import (
    DEFAULT_GROUP,
    DEFAULT_LABEL_TEMPLATE,
    Approval,
    ApprovalType,
    ArtifactConfig,
    ArtifactType,
    Authorization,
    GroupAuthorization,
    JobConfig,
    LockBehavior,
    PipelineConfig,
    StageConfig,
    Tab,
    TemplateConfig,
    Timer,
    TrackingTool,
)
from pygocd.domain.tasks import (
    AntTask,
    ExecTask,
    FetchArtifactTask,
    FetchExternalArtifactTask,
    NantTask,
    PluginTask,
    RakeTask,
    RunIf,
    Task,
)
from pygocd.domain.variables import EnvironmentVariable, Parameter

Json = dict[str, Any]
T = TypeVar("T")
S = TypeVar("S", StageConfig, JobConfig)

MATERIAL_TYPES = ("git", "svn", "hg", "p4", "tfs", "dependency", "package", "plugin")
TASK_TYPES = ("exec", "ant", "nant", "rake", "fetch", "pluggable_task")
LOCK_VALUES = tuple(b.value for b in LockBehavior)
BOTH_VALUES = "You may only specify `value` or `encrypted_value`, not both!"
BOTH_PASSWORDS = "You may only specify `password` or `encrypted_password`, not both!"


@dataclass
class Parsed(Generic[T]):
    """What was read (None when the body's shape made it impossible) and the body as sent
    with `errors` on each object that has a problem."""

    value: T | None
    data: Json
    failed: bool
    messages: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def error(self, obj: Json, key: str, message: str) -> None:
        errors = obj.get("errors")
        if not isinstance(errors, dict):
            errors = obj["errors"] = {}
        errors.setdefault(key, []).append(message)
        self.messages.append(message)

    # -- scalars ---------------------------------------------------------------------------

    def text(self, obj: Json, key: str, default: str | None = None) -> str | None:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, str):
            if not _is_text(value):
                self.error(obj, key, f"'{key}' must be valid Unicode text.")
                return default
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        self.error(obj, key, f"'{key}' must be a string.")
        return default

    def required(self, obj: Json, key: str, label: str) -> str:
        value = self.text(obj, key)
        if value is None or not value.strip():
            if "errors" not in obj or key not in obj["errors"]:
                self.error(obj, key, f"{label} is a required field.")
            return value or ""
        return value

    def flag(self, obj: Json, key: str, default: bool) -> bool:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.error(obj, key, f"'{key}' must be a boolean.")
        return default

    def number(self, obj: Json, key: str) -> int | None:
        value = obj.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit():
            number = int(value)
        else:
            self.error(obj, key, f"'{key}' must be a number.")
            return None
        if not -(2**31) <= number < 2**31:
            self.error(obj, key, f"'{key}' is out of range.")
            return None
        return number

    def strings(self, obj: Json, key: str) -> tuple[str, ...]:
        value = obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(
            isinstance(v, str) and _is_text(v) for v in value
        ):
            self.error(obj, key, f"'{key}' must be a list of strings.")
            return ()
        return tuple(value)

    def object(self, obj: Json, key: str) -> Json | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(obj, key, f"'{key}' must be an object.")
            return None
        return value

    def objects(self, obj: Json, key: str) -> list[Json]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(obj, key, f"'{key}' must be a list.")
            return []
        if not all(isinstance(item, dict) for item in value):
            self.error(obj, key, f"Each item of '{key}' must be an object.")
            return [item for item in value if isinstance(item, dict)]
        return value

    def each(self, obj: Json, key: str, read: Callable[[Json], T | None]) -> tuple[T, ...]:
        found = (read(item) for item in self.objects(obj, key))
        return tuple(item for item in found if item is not None)

    # -- shared pieces ---------------------------------------------------------------------

    def variables(
        self, obj: Json, previous: tuple[EnvironmentVariable, ...] = ()
    ) -> tuple[EnvironmentVariable, ...]:
        kept = {v.name.lower(): v for v in previous if v.secure}

        def read(item: Json) -> EnvironmentVariable:
            name = self.required(item, "name", "Name")
            secure = self.flag(item, "secure", False)
            value = self.text(item, "value")
            encrypted = self.text(item, "encrypted_value")
            if value is not None and encrypted is not None:
                self.error(item, "value", BOTH_VALUES)
                self.error(item, "encrypted_value", BOTH_VALUES)
            if encrypted is not None:
                return EnvironmentVariable(name, secure=True, encrypted_value=encrypted)
            if secure and value is None and name.lower() in kept:
                return kept[name.lower()]  # GET showed it without its value
            return EnvironmentVariable(name, value=value, secure=secure)

        return self.each(obj, "environment_variables", read)

    def properties(self, obj: Json, key: str) -> tuple[ConfigurationProperty, ...]:
        def read(item: Json) -> ConfigurationProperty:
            value = self.text(item, "value")
            encrypted = self.text(item, "encrypted_value")
            if value is not None and encrypted is not None:
                self.error(item, "value", BOTH_VALUES)
            return ConfigurationProperty(
                self.required(item, "key", "Key"), value=value, encrypted_value=encrypted
            )

        return self.each(obj, key, read)

    def authorization(self, obj: Json | None) -> Authorization:
        if obj is None:
            return Authorization()
        return Authorization(users=self.strings(obj, "users"), roles=self.strings(obj, "roles"))

    # -- materials -------------------------------------------------------------------------

    def material(self, item: Json, previous: tuple[MaterialConfig, ...]) -> MaterialConfig | None:
        kind = item.get("type")
        attributes = self.object(item, "attributes")
        if kind not in MATERIAL_TYPES:
            self.error(
                item,
                "type",
                f"Invalid material type '{kind}'. It has to be one of "
                f"'{', '.join(MATERIAL_TYPES)}'.",
            )
            return None
        if attributes is None:
            self.error(item, "attributes", "A material needs its 'attributes'.")
            return None
        a = attributes
        if kind == "dependency":
            pipeline = self.text(a, "pipeline") or ""
            name = self.text(a, "name")
            return DependencyMaterialConfig(
                pipeline=pipeline,
                stage=self.text(a, "stage") or "",
                name=None if name is None or name == pipeline else name,
                ignore_for_scheduling=self.flag(a, "ignore_for_scheduling", False),
            )
        if kind == "package":
            return PackageMaterialConfig(
                package_id=self.required(a, "ref", "Ref"), name=self.text(a, "name")
            )
        material_filter = self.filter(a)
        if kind == "plugin":
            return PluggableScmMaterialConfig(
                scm_id=self.required(a, "ref", "Ref"),
                name=self.text(a, "name"),
                destination=self.text(a, "destination"),
                filter=material_filter,
            )
        common: dict[str, Any] = {
            "name": self.text(a, "name"),
            "destination": self.text(a, "destination"),
            "auto_update": self.flag(a, "auto_update", True),
            "filter": material_filter,
            "username": self.text(a, "username"),
            "password": self.text(a, "password"),
            "encrypted_password": self.text(a, "encrypted_password"),
        }
        if common["password"] is not None and common["encrypted_password"] is not None:
            self.error(a, "password", BOTH_PASSWORDS)
            self.error(a, "encrypted_password", BOTH_PASSWORDS)
        scm: ScmMaterialConfig
        if kind == "git":
            branch = self.text(a, "branch") or ""
            scm = GitMaterialConfig(
                url=self.text(a, "url") or "",
                branch=branch if branch.strip() else DEFAULT_GIT_BRANCH,
                shallow_clone=self.flag(a, "shallow_clone", False),
                **common,
            )
        elif kind == "svn":
            scm = SvnMaterialConfig(
                url=self.text(a, "url") or "",
                check_externals=self.flag(a, "check_externals", False),
                **common,
            )
        elif kind == "hg":
            scm = HgMaterialConfig(
                url=self.text(a, "url") or "", branch=self.text(a, "branch"), **common
            )
        elif kind == "p4":
            scm = P4MaterialConfig(
                port=self.text(a, "port") or "",
                view=self.text(a, "view") or "",
                use_tickets=self.flag(a, "use_tickets", False),
                **common,
            )
        else:
            scm = TfsMaterialConfig(
                url=self.text(a, "url") or "",
                domain=self.text(a, "domain"),
                project_path=self.text(a, "project_path") or "",
                **common,
            )
        return _with_hidden_secrets(scm, previous)

    def filter(self, attributes: Json) -> MaterialFilter:
        given = self.object(attributes, "filter")
        patterns = self.strings(given, "ignore") if given is not None else ()
        if self.flag(attributes, "invert_filter", False):
            return MaterialFilter(includes=patterns)
        return MaterialFilter(ignore=patterns)

    # -- tasks -----------------------------------------------------------------------------

    def task(self, item: Json) -> Task | None:
        kind = item.get("type")
        if kind not in TASK_TYPES:
            self.error(
                item,
                "type",
                f"Invalid task type '{kind}'. It has to be one of '{', '.join(TASK_TYPES)}'.",
            )
            return None
        a = self.object(item, "attributes")
        if a is None:
            self.error(item, "attributes", "A task needs its 'attributes'.")
            return None
        run_if = self.run_if(a)
        cancel = self.object(a, "on_cancel")
        on_cancel = self.task(cancel) if cancel is not None else None
        if kind == "exec":
            return ExecTask(
                command=self.text(a, "command") or "",
                arguments=self.arguments(a),
                working_directory=self.text(a, "working_directory"),
                run_if=run_if,
                on_cancel=on_cancel,
            )
        if kind in ("ant", "nant", "rake"):
            build_file = self.text(a, "build_file")
            target = self.text(a, "target")
            directory = self.text(a, "working_directory")
            if kind == "ant":
                return AntTask(build_file, target, directory, run_if, on_cancel)
            if kind == "rake":
                return RakeTask(build_file, target, directory, run_if, on_cancel)
            return NantTask(
                build_file, target, directory, self.text(a, "nant_path"), run_if, on_cancel
            )
        if kind == "fetch":
            return self.fetch(a, run_if, on_cancel)
        plugin = self.object(a, "plugin_configuration")
        if plugin is None:
            self.error(a, "plugin_configuration", "A plugin task needs 'plugin_configuration'.")
        return PluginTask(
            plugin_configuration=(
                PluginConfiguration(
                    self.required(plugin, "id", "Plugin id"), self.text(plugin, "version")
                )
                if plugin is not None
                else None
            ),
            configuration=self.properties(a, "configuration"),
            run_if=run_if,
            on_cancel=on_cancel,
        )

    def fetch(self, a: Json, run_if: RunIf, on_cancel: Task | None) -> Task:
        origin = self.text(a, "artifact_origin", "gocd")
        pipeline = self.text(a, "pipeline") or None
        stage = self.text(a, "stage") or ""
        job = self.text(a, "job") or ""
        if origin == "external":
            return FetchExternalArtifactTask(
                stage=stage,
                job=job,
                pipeline=pipeline,
                artifact_id=self.required(a, "artifact_id", "Artifact id"),
                configuration=self.properties(a, "configuration"),
                run_if=run_if,
                on_cancel=on_cancel,
            )
        if origin != "gocd":
            self.error(a, "artifact_origin", "'artifact_origin' must be 'gocd' or 'external'.")
        return FetchArtifactTask(
            stage=stage,
            job=job,
            pipeline=pipeline,
            source=self.text(a, "source") or "",
            is_source_a_file=self.flag(a, "is_source_a_file", False),
            destination=self.text(a, "destination"),
            run_if=run_if,
            on_cancel=on_cancel,
        )

    def run_if(self, attributes: Json) -> RunIf:
        value = attributes.get("run_if")
        given = [value] if isinstance(value, str) else value
        if given is None or given == []:
            return RunIf.PASSED
        if not isinstance(given, list) or any(v not in ("passed", "failed", "any") for v in given):
            self.error(attributes, "run_if", "'run_if' may only hold passed, failed and any.")
            return RunIf.PASSED
        if "any" in given or {"passed", "failed"} <= set(given):
            return RunIf.ANY
        return RunIf(given[0])

    def arguments(self, attributes: Json) -> tuple[str, ...]:
        if attributes.get("args") is not None and attributes.get("arguments") is None:
            args = self.text(attributes, "args") or ""
            try:
                return tuple(shlex.split(args))
            except ValueError:
                self.error(attributes, "args", "'args' is not a valid argument line.")
                return ()
        return self.strings(attributes, "arguments")

    # -- stages and jobs -------------------------------------------------------------------

    def stage(self, item: Json, previous: StageConfig | None) -> StageConfig:
        name = self.required(item, "name", "Stage name")
        approval = self.object(item, "approval") or {}
        kind = self.text(approval, "type", ApprovalType.SUCCESS.value)
        if kind not in ("success", "manual"):
            self.error(approval, "type", "Approval type must be 'success' or 'manual'.")
            kind = ApprovalType.SUCCESS.value
        previous_jobs = previous.jobs if previous is not None else ()
        return StageConfig(
            name=name,
            fetch_materials=self.flag(item, "fetch_materials", True),
            clean_working_directory=self.flag(item, "clean_working_directory", False),
            never_cleanup_artifacts=self.flag(item, "never_cleanup_artifacts", False),
            approval=Approval(
                type=ApprovalType(kind),
                allow_only_on_success=self.flag(approval, "allow_only_on_success", False),
                authorization=self.authorization(self.object(approval, "authorization")),
            ),
            environment_variables=self.variables(
                item, previous.environment_variables if previous is not None else ()
            ),
            jobs=self.each(item, "jobs", lambda job: self.job(job, _named(previous_jobs, job))),
        )

    def job(self, item: Json, previous: JobConfig | None) -> JobConfig:
        count = item.get("run_instance_count")
        all_agents = isinstance(count, str) and count.lower() == "all"
        return JobConfig(
            name=self.required(item, "name", "Name"),
            run_instance_count=None if all_agents else self.number(item, "run_instance_count"),
            run_on_all_agents=all_agents,
            timeout=self.timeout(item),
            elastic_profile_id=self.text(item, "elastic_profile_id"),
            environment_variables=self.variables(
                item, previous.environment_variables if previous is not None else ()
            ),
            resources=self.strings(item, "resources"),
            tasks=self.each(item, "tasks", self.task),
            tabs=self.each(
                item,
                "tabs",
                lambda tab: Tab(self.required(tab, "name", "Name"), self.text(tab, "path") or ""),
            ),
            artifacts=self.each(item, "artifacts", self.artifact),
        )

    def timeout(self, item: Json) -> int | None:
        value = item.get("timeout")
        if isinstance(value, str) and value.lower() == "never":
            return 0
        return self.number(item, "timeout")

    def artifact(self, item: Json) -> ArtifactConfig | None:
        kind = item.get("type")
        if kind not in ("build", "test", "external"):
            self.error(item, "type", f"Invalid artifact type '{kind}'.")
            return None
        if kind == "external":
            return ArtifactConfig(
                type=ArtifactType.EXTERNAL,
                id=self.text(item, "artifact_id") or self.text(item, "id"),
                store_id=self.text(item, "store_id"),
                configuration=self.properties(item, "configuration"),
            )
        return ArtifactConfig(
            type=ArtifactType(kind),
            source=self.required(item, "source", "Source"),
            destination=self.text(item, "destination"),
        )

    def stages(self, obj: Json, previous: tuple[StageConfig, ...]) -> tuple[StageConfig, ...]:
        return self.each(obj, "stages", lambda item: self.stage(item, _named(previous, item)))

    # -- pipeline --------------------------------------------------------------------------

    def pipeline(
        self, obj: Json, group: str | None, previous: PipelineConfig | None
    ) -> PipelineConfig:
        name = self.required(obj, "name", "Name")
        lock = self.text(obj, "lock_behavior", LockBehavior.NONE.value)
        if lock not in LOCK_VALUES:
            self.error(
                obj,
                "lock_behavior",
                f"Lock behavior has an invalid value ({lock}). Valid values are: "
                f"[{', '.join(LOCK_VALUES)}]",
            )
            lock = LockBehavior.NONE.value
        return PipelineConfig(
            name=name,
            group=group or DEFAULT_GROUP,
            label_template=self.text(obj, "label_template") or DEFAULT_LABEL_TEMPLATE,
            lock_behavior=LockBehavior(lock),
            template=self.text(obj, "template") or None,
            parameters=self.each(
                obj,
                "parameters",
                lambda p: Parameter(self.required(p, "name", "Name"), self.text(p, "value")),
            ),
            environment_variables=self.variables(
                obj, previous.environment_variables if previous is not None else ()
            ),
            materials=self.each(
                obj,
                "materials",
                lambda m: self.material(m, previous.materials if previous is not None else ()),
            ),
            stages=self.stages(obj, previous.stages if previous is not None else ()),
            tracking_tool=self.tracking_tool(obj),
            timer=self.timer(obj),
            display_order_weight=previous.display_order_weight if previous is not None else -1,
        )

    def tracking_tool(self, obj: Json) -> TrackingTool | None:
        given = self.object(obj, "tracking_tool")
        if given is None:
            return None
        if given.get("type", "generic") != "generic":
            self.error(given, "type", "Only the 'generic' tracking tool is supported.")
            return None
        attributes = self.object(given, "attributes") or {}
        return TrackingTool(
            link=self.required(attributes, "url_pattern", "URL pattern"),
            regex=self.required(attributes, "regex", "Regex"),
        )

    def timer(self, obj: Json) -> Timer | None:
        given = self.object(obj, "timer")
        if given is None:
            return None
        return Timer(
            spec=self.required(given, "spec", "Timer spec"),
            only_on_changes=self.flag(given, "only_on_changes", False),
        )


def _is_text(value: str) -> bool:
    """False for a string holding lone surrogates (JSON lets `\\ud800` through), which
    cannot be stored."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _named(previous: tuple[S, ...], item: Json) -> S | None:
    name = item.get("name")
    if not isinstance(name, str):
        return None
    return next((p for p in previous if p.name.lower() == name.lower()), None)


def _with_hidden_secrets(
    material: ScmMaterialConfig, previous: tuple[MaterialConfig, ...]
) -> ScmMaterialConfig:
    """The URL and password GET did not show, from the previous material with the same
    shown URL (the round trip GET → PUT keeps them)."""
    if isinstance(material, P4MaterialConfig):
        return material
    for old in previous:
        if type(old) is not type(material) or isinstance(old, P4MaterialConfig):
            continue
        assert isinstance(
            old, GitMaterialConfig | SvnMaterialConfig | HgMaterialConfig | TfsMaterialConfig
        )
        if material.url not in (old.url, mask_credentials(old.url)):
            continue
        kept = _replace_scm(material, url=old.url)
        if (
            material.password is None
            and material.encrypted_password is None
            and material.username == old.username
        ):
            kept = _replace_scm(kept, password=old.password)
            kept = _replace_scm(kept, encrypted_password=old.encrypted_password)
        return kept
    return material


def _replace_scm(material: ScmMaterialConfig, **changes: Any) -> ScmMaterialConfig:
    return replace(material, **changes)


def _copy(body: Any) -> Json:
    return copy.deepcopy(body) if isinstance(body, dict) else {}


def parse_pipeline(
    body: Any, group: str | None, previous: PipelineConfig | None = None
) -> Parsed[PipelineConfig]:
    """A v11 pipeline object; `group` is where it goes (GoCD takes it beside the pipeline)."""
    data = _copy(body)
    reader = _Reader()
    if not isinstance(body, dict):
        reader.error(data, "pipeline", "The pipeline must be a JSON object.")
        return Parsed(None, data, True, reader.messages)
    pipeline = reader.pipeline(data, group, previous)
    return Parsed(pipeline, data, bool(reader.messages), reader.messages)


def parse_template(body: Any, previous: TemplateConfig | None = None) -> Parsed[TemplateConfig]:
    """A v7 template: `{"name", "stages": [...]}` (authorization is kept from `previous`)."""
    data = _copy(body)
    reader = _Reader()
    if not isinstance(body, dict):
        reader.error(data, "template", "The template must be a JSON object.")
        return Parsed(None, data, True, reader.messages)
    template = TemplateConfig(
        name=reader.required(data, "name", "Name"),
        stages=reader.stages(data, previous.stages if previous is not None else ()),
    )
    if previous is not None:
        template = TemplateConfig(template.name, template.stages, previous.authorization)
    return Parsed(template, data, bool(reader.messages), reader.messages)


def parse_authorization(body: Json) -> tuple[GroupAuthorization, list[str]]:
    """A pipeline group's `authorization` (`view`, `operate`, `admins`, each users/roles);
    problems are written onto `body`."""
    reader = _Reader()
    given = reader.object(body, "authorization") or {}
    authorization = GroupAuthorization(
        view=reader.authorization(reader.object(given, "view")),
        operate=reader.authorization(reader.object(given, "operate")),
        admins=reader.authorization(reader.object(given, "admins")),
    )
    return authorization, reader.messages
