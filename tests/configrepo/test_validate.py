"""Validation rules, one by one, on hand-built domain objects (each rule positive and negative)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from pygocd.configrepo.errors import Location, SourceMap
from pygocd.configrepo.validate import validate_config
from pygocd.domain.config import CruiseConfig
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.materials import (
    ConfigRepoMaterialConfig,
    DependencyMaterialConfig,
    GitMaterialConfig,
    MaterialConfig,
    MaterialFilter,
    PackageMaterialConfig,
    PluggableScmMaterialConfig,
    PluginConfiguration,
    SvnMaterialConfig,
)
from pygocd.domain.pipelines import (
    Approval,
    ConfigOrigin,
    JobConfig,
    LockBehavior,
    PipelineConfig,
    PipelineGroup,
    StageConfig,
    Tab,
    TemplateConfig,
    TrackingTool,
)
from pygocd.domain.tasks import ExecTask, FetchArtifactTask, PluginTask, Task, script_task
from pygocd.domain.variables import EnvironmentVariable, Parameter


def git(name: str = "repo", url: str = "https://example.com/app.git", **kw: Any) -> MaterialConfig:
    return GitMaterialConfig(name=name, url=url, **kw)


def dep(pipeline: str, stage: str = "build", name: str | None = None) -> MaterialConfig:
    return DependencyMaterialConfig(pipeline=pipeline, stage=stage, name=name)


def job(name: str = "compile", *tasks: Task, **kw: Any) -> JobConfig:
    return JobConfig(name=name, tasks=tasks or (ExecTask(command="make"),), **kw)


def stage(name: str = "build", *jobs: JobConfig, **kw: Any) -> StageConfig:
    return StageConfig(name=name, jobs=jobs or (job(),), **kw)


def pipeline(
    name: str = "app",
    *stages: StageConfig,
    materials: tuple[MaterialConfig, ...] | None = None,
    **kw: Any,
) -> PipelineConfig:
    return PipelineConfig(
        name=name,
        materials=(git(),) if materials is None else materials,
        stages=stages if stages or "template" in kw else (stage(),),
        **kw,
    )


def config(
    *pipelines: PipelineConfig,
    templates: tuple[TemplateConfig, ...] = (),
    environments: tuple[EnvironmentConfig, ...] = (),
) -> CruiseConfig:
    groups: dict[str, list[PipelineConfig]] = defaultdict(list)
    for p in pipelines:
        groups[p.group].append(p)
    return CruiseConfig(
        groups=tuple(PipelineGroup(name, tuple(ps)) for name, ps in groups.items()),
        templates=templates,
        environments=environments,
    )


def problems(cfg: CruiseConfig) -> list[str]:
    return [f"{e.key_path}: {e.message}" for e in validate_config(cfg)]


def test_a_valid_config_has_no_errors() -> None:
    up = pipeline("up", stage("build"), stage("test"))
    down = pipeline(
        "down",
        stage(
            "deploy",
            job(
                "ship",
                FetchArtifactTask(pipeline="up", stage="build", job="compile", source="x"),
            ),
        ),
        materials=(git(), dep("up", "test")),
        label_template="${COUNT}-${up}",
        parameters=(Parameter("env", "prod"),),
    )
    env = EnvironmentConfig("prod", pipelines=("up", "down"))
    assert problems(config(up, down, environments=(env,))) == []


# --- names and uniqueness ------------------------------------------------------------------


def test_pipeline_names_are_unique_case_insensitively_and_both_places_are_reported() -> None:
    a = pipeline("build", origin=ConfigOrigin("config_repo", "r", file="a.gocd.yaml"))
    b = pipeline("BUILD", origin=ConfigOrigin("config_repo", "r", file="b.gocd.yaml"))
    errors = validate_config(config(a, b))
    assert [(e.location.file, e.key_path) for e in errors] == [
        ("a.gocd.yaml", "pipelines.build"),
        ("b.gocd.yaml", "pipelines.BUILD"),
    ]
    assert all("multiple pipelines named" in e.message for e in errors)
    assert all("[a.gocd.yaml, b.gocd.yaml]" in e.message for e in errors)


def test_duplicate_pipelines_point_at_their_own_lines_with_per_file_maps() -> None:
    a = pipeline("build", origin=ConfigOrigin(file="a.yaml"))
    b = pipeline("build", origin=ConfigOrigin(file="b.yaml"))
    merged = SourceMap({"pipelines.build": Location("a.yaml", 3, 3)})
    per_file = {
        "a.yaml": SourceMap({"pipelines.build": Location("a.yaml", 3, 3)}),
        "b.yaml": SourceMap({"pipelines.build": Location("b.yaml", 7, 3)}),
    }
    errors = validate_config(config(a, b), merged, file_source_maps=per_file)
    assert [str(e.location) for e in errors] == ["a.yaml:3:3", "b.yaml:7:3"]
    # without per-file maps the second still points at its own file
    errors = validate_config(config(a, b), merged)
    assert [str(e.location) for e in errors] == ["a.yaml:3:3", "b.yaml"]


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        (config(pipeline(".app")), "pipelines..app"),
        (config(pipeline("app", group="bad group")), "pipelines.app.group"),
        (config(pipeline("app", stage("st age"))), "pipelines.app.stages[0]"),
        (config(pipeline("app", materials=(git("my repo"),))), "pipelines.app.materials.my repo"),
        (
            config(pipeline("app", parameters=(Parameter("p q", "x"),))),
            "pipelines.app.parameters.p q",
        ),
        (config(environments=(EnvironmentConfig("pr od"),)), "environments.pr od"),
        (
            config(pipeline("app", stage("build", job("a-runOnAll-1")))),
            "pipelines.app.stages[0].jobs.a-runOnAll-1",
        ),
        (config(templates=(TemplateConfig("t t", (stage(),)),)), "templates.t t"),
    ],
)
def test_name_rules(cfg: CruiseConfig, key: str) -> None:
    found = problems(cfg)
    assert len(found) == 1
    assert found[0].startswith(f"{key}: ")


def test_job_names_may_start_with_a_period() -> None:
    assert problems(config(pipeline("app", stage("build", job(".hidden"))))) == []


def test_stage_names_unique_in_a_pipeline() -> None:
    found = problems(config(pipeline("app", stage("build"), stage("Build"))))
    assert found == [
        "pipelines.app.stages[0]: You have defined multiple stages called 'build'. "
        "Stage names are case-insensitive and must be unique.",
        "pipelines.app.stages[1]: You have defined multiple stages called 'Build'. "
        "Stage names are case-insensitive and must be unique.",
    ]


def test_job_names_unique_in_a_stage() -> None:
    found = problems(config(pipeline("app", stage("build", job("unit"), job("UNIT")))))
    assert found == [
        "pipelines.app.stages[0].jobs.UNIT: You have defined multiple jobs called 'UNIT'. "
        "Job names are case-insensitive and must be unique."
    ]
    assert problems(config(pipeline("app", stage("a", job("unit")), stage("b", job("unit"))))) == []


# --- pipeline structure --------------------------------------------------------------------


def test_at_least_one_material() -> None:
    assert problems(config(pipeline("app", materials=()))) == [
        "pipelines.app.materials: A pipeline must have at least one material"
    ]


def test_at_least_one_stage_unless_template() -> None:
    bare = PipelineConfig(name="app", materials=(git(),))
    assert problems(config(bare)) == [
        "pipelines.app: Pipeline 'app' does not have any stages configured. "
        "A pipeline must have at least one stage."
    ]
    templated = PipelineConfig(name="app", materials=(git(),), template="t")
    assert problems(config(templated, templates=(TemplateConfig("t", (stage(),)),))) == []


def test_not_both_stages_and_template_and_template_must_exist() -> None:
    both = pipeline("app", stage(), template="t")
    assert problems(config(both, templates=(TemplateConfig("t", (stage(),)),))) == [
        "pipelines.app.template: Cannot add stages to pipeline 'app' which already "
        "references template 't'"
    ]
    missing = PipelineConfig(name="app", materials=(git(),), template="nope")
    assert problems(config(missing)) == [
        "pipelines.app.template: Pipeline 'app' refers to non-existent template 'nope'."
    ]


def test_template_needs_stages() -> None:
    found = problems(config(templates=(TemplateConfig("t"),)))
    assert found == [
        "templates.t: Template 't' does not have any stages configured. "
        "A template must have at least one stage."
    ]


def test_lock_behavior_values() -> None:
    for value in LockBehavior:
        assert problems(config(pipeline("app", lock_behavior=value))) == []
    found = problems(config(pipeline("app", lock_behavior="sometimes")))
    assert found == [
        "pipelines.app.lock_behavior: Lock behavior has an invalid value (sometimes). "
        "Valid values are: [lockOnFailure, unlockWhenFinished, none]"
    ]


def test_approval_types() -> None:
    ok = stage("build", approval=Approval(type="manual"))  # type: ignore[arg-type]
    assert problems(config(pipeline("app", ok))) == []
    bad = stage("build", approval=Approval(type="later"))  # type: ignore[arg-type]
    assert problems(config(pipeline("app", bad))) == [
        "pipelines.app.stages[0].approval: You have defined approval type as 'later'. "
        "Approval can only be of the type 'manual' or 'success'."
    ]


def test_stage_needs_a_job() -> None:
    empty = StageConfig(name="build")
    assert problems(config(pipeline("app", empty))) == [
        "pipelines.app.stages[0]: Stage 'build' does not have any jobs configured. "
        "A stage must have at least one job."
    ]


def test_tracking_tool_link_needs_id() -> None:
    good = TrackingTool(link="https://bugs/${ID}", regex="##(\\d+)")
    assert problems(config(pipeline("app", tracking_tool=good))) == []
    bad = TrackingTool(link="https://bugs/", regex="##(\\d+)")
    assert problems(config(pipeline("app", tracking_tool=bad)))[0].startswith(
        "pipelines.app.tracking_tool: Link must be a URL containing '${ID}'"
    )


# --- jobs and tasks ------------------------------------------------------------------------


def job_problems(j: JobConfig) -> list[str]:
    return problems(config(pipeline("app", stage("build", j))))


def test_job_run_types() -> None:
    assert job_problems(job("a", run_on_all_agents=True)) == []
    assert job_problems(job("a", run_instance_count=3)) == []
    assert job_problems(job("a", run_on_all_agents=True, run_instance_count=2)) == [
        "pipelines.app.stages[0].jobs.a.run_instances: Job cannot be 'run on all agents' type "
        "and 'run multiple instance' type together."
    ]
    for count in (0, -1):
        assert job_problems(job("a", run_instance_count=count)) == [
            "pipelines.app.stages[0].jobs.a.run_instances: 'Run Instance Count' should be a "
            "valid positive integer as it represents number of instances Go needs to spawn "
            "during runtime."
        ]


def test_job_timeout() -> None:
    assert job_problems(job("a", timeout=0)) == []
    assert job_problems(job("a", timeout=-5)) == [
        "pipelines.app.stages[0].jobs.a.timeout: Timeout cannot be a negative number as it "
        "represents number of minutes"
    ]


def test_job_resources_and_elastic_profile() -> None:
    assert job_problems(job("a", resources=("linux",))) == []
    assert job_problems(job("a", elastic_profile_id="docker")) == []
    assert job_problems(job("a", resources=("linux",), elastic_profile_id="docker")) == [
        "pipelines.app.stages[0].jobs.a.elastic_profile_id: Job cannot have both `resource` "
        "and `elasticProfileId`"
    ]
    assert job_problems(job("a", run_on_all_agents=True, elastic_profile_id="docker")) == [
        "pipelines.app.stages[0].jobs.a.run_instances: Job cannot be set to 'run on all "
        "agents' when assigned to an elastic agent"
    ]


def test_job_needs_a_task() -> None:
    assert job_problems(JobConfig(name="a")) == [
        "pipelines.app.stages[0].jobs.a.tasks: Job 'a' does not have any tasks. "
        "A job must have at least one task."
    ]


def test_job_tabs() -> None:
    assert job_problems(job("a", tabs=(Tab("coverage", "cov/index.html"),))) == []
    found = job_problems(job("a", tabs=(Tab("a-very-long-tab-name", "x"), Tab("t", "a b"))))
    assert len(found) == 2


def test_exec_needs_a_command_also_in_on_cancel() -> None:
    task = ExecTask(command="", on_cancel=ExecTask(command=" "))
    assert job_problems(job("a", task)) == [
        "pipelines.app.stages[0].jobs.a.tasks[0]: exec needs a command",
        "pipelines.app.stages[0].jobs.a.tasks[0].on_cancel: exec needs a command",
    ]
    assert job_problems(job("a", ExecTask(command=" make"))) == [
        "pipelines.app.stages[0].jobs.a.tasks[0]: Command ' make' of the exec task cannot "
        "have leading or trailing spaces"
    ]


def test_plugin_task_needs_plugin_id() -> None:
    assert job_problems(job("a", script_task("echo hi"))) == []
    assert job_problems(job("a", PluginTask())) == [
        "pipelines.app.stages[0].jobs.a.tasks[0]: A plugin task needs a plugin configuration "
        "with an id."
    ]


# --- materials -----------------------------------------------------------------------------


def material_problems(*materials: MaterialConfig) -> list[str]:
    return problems(config(pipeline("app", materials=materials)))


def test_several_scm_materials_need_destinations() -> None:
    assert material_problems(git("a", destination="a"), git("b", destination="b")) == []
    assert material_problems(git("a"), dep("other")) != []  # unknown pipeline only
    assert material_problems(git("a", destination="a"), git("b")) == [
        "pipelines.app.materials.b.destination: Destination directory is required when "
        "specifying multiple scm materials"
    ]


def test_a_single_scm_material_needs_no_destination() -> None:
    up = pipeline("up")
    cfg = config(up, pipeline("app", materials=(git("a"), dep("up"), PackageMaterialConfig("p"))))
    assert problems(cfg) == []


def test_destinations_must_not_nest_or_repeat() -> None:
    nested = material_problems(git("a", destination="src"), git("b", destination="src/lib/"))
    assert nested == [
        "pipelines.app.materials.b.destination: Invalid Destination Directory. Every material "
        "needs a different destination directory and the directories should not be nested."
    ]
    same = material_problems(git("a", destination="./x"), git("b", destination="x"))
    assert len(same) == 2
    assert all("must be unique" in p for p in same)
    siblings = material_problems(git("a", destination="src"), git("b", destination="src2"))
    assert siblings == []


def test_plugin_scm_counts_as_scm_for_destinations() -> None:
    scm = PluggableScmMaterialConfig(scm_id="s1", name="plug")
    assert material_problems(git("a", destination="a"), scm) == [
        "pipelines.app.materials.plug.destination: Destination directory is required when "
        "specifying multiple scm materials"
    ]


def test_configrepo_material_does_not_count_for_destinations() -> None:
    assert material_problems(git("a"), ConfigRepoMaterialConfig(name="cr")) == []


def test_ambiguous_credentials() -> None:
    assert material_problems(git(url="https://bob:pw@host/r.git")) == []
    assert material_problems(git(url="https://host/r.git", username="bob", password="pw")) == []
    assert material_problems(git(url="https://bob@host/r.git", username="bob")) == [
        "pipelines.app.materials.repo: Ambiguous credentials, must be provided either in URL "
        "or as attributes."
    ]


def test_password_and_encrypted_password_not_both() -> None:
    svn = SvnMaterialConfig(name="s", url="svn://h/r", password="a", encrypted_password="b")
    assert material_problems(svn) == [
        "pipelines.app.materials.s: You may only specify `password` or `encrypted_password`, "
        "not both!"
    ]


def test_filter_not_both_ignore_and_includes() -> None:
    assert material_problems(git(filter=MaterialFilter(ignore=("docs/**",)))) == []
    both = MaterialFilter(ignore=("a",), includes=("b",))
    assert material_problems(git(filter=both)) == [
        "pipelines.app.materials.repo.filter: A material filter cannot have both `ignore` and "
        "`includes` patterns."
    ]


def test_blank_url_and_plugin_scm_reference() -> None:
    assert material_problems(git(url=" ")) == ["pipelines.app.materials.repo: URL cannot be blank"]
    assert material_problems(PluggableScmMaterialConfig(name="p")) == [
        "pipelines.app.materials.p: A plugin SCM material needs an scm id or a plugin "
        "configuration."
    ]
    inline = PluggableScmMaterialConfig(name="p", plugin_configuration=PluginConfiguration("x"))
    assert material_problems(inline) == []


def test_material_names_unique_including_dependency_default_names() -> None:
    cfg = config(pipeline("up"), pipeline("app", materials=(git("up"), dep("up"))))
    found = problems(cfg)
    assert len(found) == 1
    assert "multiple materials called 'up'" in found[0]


def test_one_dependency_per_upstream_pipeline() -> None:
    up = pipeline("up", stage("a"), stage("b"))
    app = pipeline("app", materials=(dep("up", "a", "up1"), dep("up", "b", "up2")))
    found = problems(config(up, app))
    assert found == [
        "pipelines.app.materials.up2: A pipeline can depend on pipeline 'up' only once; "
        "pipeline 'app' has more than one dependency material on it."
    ]


# --- dependencies and cycles ---------------------------------------------------------------


def test_dependency_must_name_existing_pipeline_and_stage() -> None:
    up = pipeline("up", stage("build"))
    assert problems(config(up, pipeline("app", materials=(dep("up", "build"),)))) == []
    assert problems(config(up, pipeline("app", materials=(dep("nope", "build"),)))) == [
        "pipelines.app.materials.nope: Pipeline with name 'nope' does not exist, it is defined "
        "as a dependency for pipeline 'app'."
    ]
    assert problems(config(up, pipeline("app", materials=(dep("up", "deploy"),)))) == [
        "pipelines.app.materials.up: Stage with name 'deploy' does not exist on pipeline 'up', "
        "it is being referred to from pipeline 'app'."
    ]


def test_dependency_stage_can_come_from_the_upstream_template() -> None:
    up = PipelineConfig(name="up", materials=(git(),), template="t")
    app = pipeline("app", materials=(dep("up", "package"),))
    assert problems(config(up, app, templates=(TemplateConfig("t", (stage("package"),)),))) == []


def test_dependency_cycle_is_reported_once_in_order() -> None:
    a = pipeline("a", materials=(dep("c"),))
    b = pipeline("b", materials=(dep("a"),))
    c = pipeline("c", materials=(dep("b"),))
    d = pipeline("d", materials=(dep("a"),))
    assert problems(config(a, b, c, d)) == [
        "pipelines.a.materials.c: Circular dependency: a -> b -> c -> a"
    ]
    # the same whatever order the pipelines come in
    assert problems(config(c, d, b, a)) == [
        "pipelines.a.materials.c: Circular dependency: a -> b -> c -> a"
    ]


def test_self_dependency_and_two_separate_cycles() -> None:
    me = pipeline("me", materials=(dep("me"),))
    x = pipeline("x", materials=(dep("y"),))
    y = pipeline("y", materials=(dep("x"),))
    assert problems(config(me, x, y)) == [
        "pipelines.me.materials.me: Circular dependency: me -> me",
        "pipelines.x.materials.y: Circular dependency: x -> y -> x",
    ]


def test_no_cycle_in_a_diamond() -> None:
    top = pipeline("top")
    left = pipeline("left", materials=(dep("top"),))
    right = pipeline("right", materials=(dep("top"),))
    bottom = pipeline("bottom", materials=(dep("left"), dep("right")))
    assert problems(config(top, left, right, bottom)) == []


# --- parameters ----------------------------------------------------------------------------


def test_parameters_must_be_defined() -> None:
    used = pipeline("app", stage("build", job("a", ExecTask(command="#{tool}"))))
    assert problems(config(used)) == [
        "pipelines.app.stages[0].jobs.a.tasks[0].command: Parameter 'tool' is not defined. "
        "All pipelines using this parameter directly or via a template must define it."
    ]
    defined = pipeline(
        "app",
        stage("build", job("a", ExecTask(command="#{tool}"))),
        parameters=(Parameter("tool", "make"),),
    )
    assert problems(config(defined)) == []


def test_parameter_escapes_and_bad_patterns() -> None:
    ok = pipeline("app", stage("build", job("a", ExecTask(command="echo", arguments=("##x",)))))
    assert problems(config(ok)) == []
    bad = pipeline("app", stage("build", job("a", ExecTask(command="echo", arguments=("#x",)))))
    assert problems(config(bad)) == [
        "pipelines.app.stages[0].jobs.a.tasks[0].arguments[0]: Error when processing params "
        "for '#x' used in field 'arguments[0]', # must be followed by a parameter pattern or "
        "escaped by another #"
    ]
    incomplete = pipeline("app", materials=(git(url="https://h/#{repo"),))
    assert problems(config(incomplete)) == [
        "pipelines.app.materials.repo.url: Incomplete param usage in 'https://h/#{repo'"
    ]


def test_parameters_resolve_before_other_rules() -> None:
    up = pipeline("up")
    app = pipeline(
        "app",
        materials=(dep("#{upstream}", name="up"),),
        parameters=(Parameter("upstream", "up"),),
        label_template="#{prefix}-${COUNT}",
    )
    found = problems(config(up, app))
    assert found == [
        "pipelines.app.label_template: Parameter 'prefix' is not defined. All pipelines using "
        "this parameter directly or via a template must define it."
    ]


def test_parameter_names_unique() -> None:
    found = problems(config(pipeline("app", parameters=(Parameter("a", "1"), Parameter("A", "2")))))
    assert found == ["pipelines.app.parameters.A: Param name 'A' is not unique for pipeline 'app'."]


def test_every_pipeline_using_a_template_must_define_its_params() -> None:
    tmpl = TemplateConfig("t", (stage("build", job("a", ExecTask(command="#{tool}"))),))
    good = PipelineConfig(
        name="good", materials=(git(),), template="t", parameters=(Parameter("tool", "make"),)
    )
    bad = PipelineConfig(name="bad", materials=(git(),), template="t")
    sm = SourceMap({"pipelines.bad.template": Location("p.yaml", 5, 5)})
    errors = validate_config(config(good, bad, templates=(tmpl,)), sm)
    assert [(str(e.location), e.key_path) for e in errors] == [
        ("p.yaml:5:5", "templates.t.stages[0].jobs.a.tasks[0].command")
    ]
    assert errors[0].message.endswith("must define it. (pipeline 'bad')")


def test_scm_password_is_not_parameter_resolved() -> None:
    assert material_problems(git(username="u", password="p#ss")) == []


# --- label templates -----------------------------------------------------------------------


def test_label_template_uses_material_names() -> None:
    up = pipeline("up")
    assert problems(config(up, pipeline("app", label_template="${repo[:7]}-${COUNT}"))) == []
    app = pipeline("app", label_template="${up}", materials=(git(), dep("up")))
    assert problems(config(up, app)) == []
    found = problems(config(pipeline("app", label_template="${nope}")))
    assert len(found) == 1
    assert found[0].startswith("pipelines.app.label_template: ")
    assert "'nope'" in found[0]
    assert problems(config(pipeline("app", label_template="v1"))) != []


# --- fetch tasks ---------------------------------------------------------------------------


def fetch(pipeline_path: str | None, stage_name: str, job_name: str = "compile") -> Task:
    return FetchArtifactTask(pipeline=pipeline_path, stage=stage_name, job=job_name, source="x")


def fetch_problems(task: Task, *others: PipelineConfig, deps: tuple[str, ...] = ()) -> list[str]:
    app = pipeline(
        "app",
        stage("build"),
        stage("deploy", job("ship", task)),
        materials=(git(), *(dep(d, "test") for d in deps)),
    )
    return problems(config(*others, app))


def test_fetch_from_an_earlier_stage_of_the_same_pipeline() -> None:
    assert fetch_problems(fetch(None, "build")) == []
    assert fetch_problems(fetch("app", "build")) == []
    assert fetch_problems(fetch(None, "deploy", "ship")) == [
        'pipelines.app.stages[1].jobs.ship.tasks[0]: "app :: deploy :: ship" tries to fetch '
        'artifact from its stage "deploy" which does not complete before the current stage '
        '"deploy".'
    ]


def test_fetch_needs_stage_and_job() -> None:
    assert fetch_problems(fetch(None, "", "")) == [
        "pipelines.app.stages[1].jobs.ship.tasks[0]: Stage is a required field.",
        "pipelines.app.stages[1].jobs.ship.tasks[0]: Job is a required field.",
    ]


def test_fetch_from_missing_pipeline_stage_or_job() -> None:
    up = pipeline("up", stage("test"))
    assert "which does not exist" in fetch_problems(fetch("ghost", "test"), up)[0]
    assert (
        'stage "up :: nope" which does not exist'
        in fetch_problems(fetch("up", "nope"), up, deps=("up",))[0]
    )
    assert (
        'job "up :: test :: nope" which does not exist'
        in fetch_problems(fetch("up", "test", "nope"), up, deps=("up",))[0]
    )


def test_fetch_matches_run_instance_job_names() -> None:
    up = pipeline("up", stage("test"))
    assert fetch_problems(fetch("up", "test", "compile-runInstance-2"), up, deps=("up",)) == []


def test_fetch_from_a_pipeline_that_is_not_upstream() -> None:
    up = pipeline("up", stage("test"))
    assert fetch_problems(fetch("up", "test"), up) == [
        'pipelines.app.stages[1].jobs.ship.tasks[0]: Pipeline "app" tries to fetch artifact '
        'from pipeline "up" which is not an upstream pipeline'
    ]


def test_fetch_from_upstream_stage_after_the_dependency_stage() -> None:
    up = pipeline("up", stage("test"), stage("later"))
    assert fetch_problems(fetch("up", "test"), up, deps=("up",)) == []
    found = fetch_problems(fetch("up", "later"), up, deps=("up",))
    assert found == [
        'pipelines.app.stages[1].jobs.ship.tasks[0]: "app :: deploy :: ship" tries to fetch '
        'artifact from stage "up :: later" which does not complete before "app" pipeline\'s '
        "dependencies."
    ]


def test_fetch_through_an_ancestor_path() -> None:
    grand = pipeline("grand", stage("build"), stage("test"), stage("late"))
    up = pipeline("up", stage("test"), materials=(dep("grand", "test"),))
    assert fetch_problems(fetch("grand/up", "build"), grand, up, deps=("up",)) == []
    assert (
        "does not complete before"
        in fetch_problems(fetch("grand/up", "late"), grand, up, deps=("up",))[0]
    )
    other = pipeline("other", stage("build"))
    assert fetch_problems(fetch("other/up", "build"), grand, up, other, deps=("up",)) == [
        "pipelines.app.stages[1].jobs.ship.tasks[0]: Pipeline named 'other' exists, but is not "
        "an ancestor of 'app' as declared in 'other/up'."
    ]
    assert (
        "declared ancestor of 'app' through path 'grand/ghost' does not exist"
        in (fetch_problems(fetch("grand/ghost", "build"), grand, up, deps=("up",))[0])
    )


def test_fetch_in_template_stages_is_checked_per_pipeline() -> None:
    tmpl = TemplateConfig("t", (stage("build"), stage("deploy", job("ship", fetch(None, "nope")))))
    app = PipelineConfig(name="app", materials=(git(),), template="t")
    sm = SourceMap({"pipelines.app.template": Location("app.yaml", 4, 5)})
    errors = validate_config(config(app, templates=(tmpl,)), sm)
    assert [(str(e.location), e.key_path) for e in errors] == [
        ("app.yaml:4:5", "templates.t.stages[1].jobs.ship.tasks[0]")
    ]


# --- environments and variables ------------------------------------------------------------


def test_environment_pipelines_must_exist() -> None:
    env = EnvironmentConfig("prod", pipelines=("app", "ghost"))
    assert problems(config(pipeline("app"), environments=(env,))) == [
        "environments.prod.pipelines[1]: Environment 'prod' refers to an unknown pipeline 'ghost'."
    ]


def test_a_pipeline_is_in_at_most_one_environment() -> None:
    envs = (
        EnvironmentConfig("qa", pipelines=("app",)),
        EnvironmentConfig("prod", pipelines=("APP",)),
    )
    assert problems(config(pipeline("app"), environments=envs)) == [
        "environments.prod.pipelines[0]: Pipeline 'APP' is already in environment 'qa'. "
        "A pipeline can be in at most one environment."
    ]


def test_environment_parts_merge_by_name() -> None:
    a = EnvironmentConfig(
        "prod",
        pipelines=("app",),
        agents=("u1",),
        environment_variables=(EnvironmentVariable("X", "1"),),
        origin=ConfigOrigin(file="a.yaml"),
    )
    b = EnvironmentConfig(
        "PROD",
        pipelines=("other",),
        agents=("u2",),
        environment_variables=(EnvironmentVariable("Y", "1"),),
        origin=ConfigOrigin(file="b.yaml"),
    )
    assert problems(config(pipeline("app"), pipeline("other"), environments=(a, b))) == []
    c = EnvironmentConfig(
        "prod",
        pipelines=("app",),
        agents=("u1",),
        environment_variables=(EnvironmentVariable("x", "2"),),
        origin=ConfigOrigin(file="c.yaml"),
    )
    merged = SourceMap({"environments.prod": Location("a.yaml", 1, 1)})
    errors = validate_config(config(pipeline("app"), environments=(a, c)), merged)
    assert {e.location.file for e in errors} == {"c.yaml"}
    assert [e.key_path for e in errors] == [
        "environments.prod.environment_variables.x",
        "environments.prod.agents[0]",
        "environments.prod.pipelines[0]",
    ]


def test_variable_names_unique_per_scope_plain_and_secure() -> None:
    dup = (
        EnvironmentVariable("TOKEN", "a"),
        EnvironmentVariable("token", secure=True, encrypted_value="x"),
    )
    j = job("a", environment_variables=dup)
    s = stage("build", j, environment_variables=dup)
    app = pipeline("app", s, environment_variables=dup)
    env = EnvironmentConfig("prod", environment_variables=dup)
    found = problems(config(app, environments=(env,)))
    assert found == [
        "pipelines.app.secure_variables.token: Environment Variable name 'token' is not unique "
        "for pipeline 'app'.",
        "pipelines.app.stages[0].secure_variables.token: Environment Variable name 'token' is "
        "not unique for stage 'build'.",
        "pipelines.app.stages[0].jobs.a.secure_variables.token: Environment Variable name "
        "'token' is not unique for job 'a'.",
        "environments.prod.secure_variables.token: Environment Variable name 'token' is not "
        "unique for environment 'prod'.",
    ]
    # the same name in different scopes is an override, not a repeat
    one = (EnvironmentVariable("TOKEN", "a"),)
    ok = pipeline(
        "app",
        stage("build", job("a", environment_variables=one), environment_variables=one),
        environment_variables=one,
    )
    assert problems(config(ok)) == []


# --- collecting and locating ---------------------------------------------------------------


def test_every_error_is_collected_and_located() -> None:
    bad = pipeline(
        "app",
        stage("build", job("a", ExecTask(command="")), job("b", ExecTask())),
        stage("build"),
        materials=(),
        lock_behavior="bogus",
    )
    sm = SourceMap(
        {
            "pipelines.app": Location("ci.gocd.yaml", 3, 3),
            "pipelines.app.stages[0]": Location("ci.gocd.yaml", 8, 7),
            "pipelines.app.stages[0].jobs.a.tasks[0]": Location("ci.gocd.yaml", 14, 9),
        }
    )
    errors = validate_config(config(bad), sm)
    text = [str(e) for e in errors]
    assert "ci.gocd.yaml:14:9 pipelines.app.stages[0].jobs.a.tasks[0]: exec needs a command" in text
    assert any(t.startswith("ci.gocd.yaml:3:3 pipelines.app.lock_behavior: ") for t in text)
    assert any(t.startswith("ci.gocd.yaml:3:3 pipelines.app.materials: ") for t in text)
    assert any("stages[1]: You have defined multiple stages" in t for t in text)
    assert len(errors) == 6  # two exec tasks without command, lock, materials, stage twice


def test_without_a_source_map_errors_point_at_the_origin_file() -> None:
    p = pipeline("app", materials=(), origin=ConfigOrigin(file="x.gocd.yaml"))
    assert [str(e.location) for e in validate_config(config(p))] == ["x.gocd.yaml"]
    q = pipeline("app", materials=())
    assert [str(e.location) for e in validate_config(config(q))] == ["<config>"]


def test_empty_config_is_valid() -> None:
    assert validate_config(CruiseConfig()) == []


def test_a_timer_needs_a_valid_quartz_spec() -> None:
    from pygocd.domain.pipelines import Timer

    assert problems(config(pipeline(timer=Timer("0 0 22 ? * MON-FRI")))) == []
    [problem] = problems(config(pipeline(timer=Timer("every night"))))
    assert problem.startswith("pipelines.app.timer: Invalid cron syntax for timer:")
