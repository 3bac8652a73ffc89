"""Export to GoCD YAML: what we write reads back to the same domain objects."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from pygocd.configrepo.export import export_yaml
from pygocd.configrepo.parse import parse_files
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.materials import (
    ConfigurationProperty,
    DependencyMaterialConfig,
    GitMaterialConfig,
    MaterialFilter,
    PluginConfiguration,
)
from pygocd.domain.pipelines import (
    Approval,
    ApprovalType,
    ArtifactConfig,
    ArtifactType,
    Authorization,
    ConfigOrigin,
    JobConfig,
    LockBehavior,
    PipelineConfig,
    StageConfig,
    Tab,
    Timer,
    TrackingTool,
)
from pygocd.domain.tasks import (
    ExecTask,
    FetchArtifactTask,
    PluginTask,
    RakeTask,
    RunIf,
    script_task,
)
from pygocd.domain.variables import EnvironmentVariable, Parameter

names = st.from_regex(r"[a-zA-Z0-9_][a-zA-Z0-9_\-.]{0,10}", fullmatch=True)
text = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x24F, exclude_characters="\x7f")
    | st.sampled_from("\n\t"),
    max_size=20,
)
some_text = text.filter(bool)
maybe_text = st.none() | text
words = st.lists(some_text.filter(lambda t: "\n" not in t), max_size=3).map(tuple)


@st.composite
def variables(draw: st.DrawFn) -> tuple[EnvironmentVariable, ...]:
    chosen = draw(st.lists(names, max_size=3, unique_by=str.lower))
    split = draw(st.integers(0, len(chosen)))
    plain = [EnvironmentVariable(n, value=draw(maybe_text)) for n in chosen[:split]]
    secure = [
        EnvironmentVariable(n, secure=True, encrypted_value=draw(text)) for n in chosen[split:]
    ]
    return (*plain, *secure)


filters = st.builds(MaterialFilter, ignore=st.lists(some_text, max_size=2).map(tuple)) | st.builds(
    MaterialFilter, includes=st.lists(some_text, min_size=1, max_size=2).map(tuple)
)

git = st.builds(
    GitMaterialConfig,
    name=names,
    url=some_text,
    branch=text,
    shallow_clone=st.booleans(),
    auto_update=st.booleans(),
    destination=maybe_text,
    filter=filters,
    username=maybe_text,
    password=maybe_text,
)
dependency = st.builds(
    DependencyMaterialConfig,
    name=names,
    pipeline=some_text,
    stage=some_text,
    ignore_for_scheduling=st.booleans(),
)
run_ifs = st.sampled_from(RunIf)
exec_task = st.builds(
    ExecTask,
    command=some_text,
    arguments=words,
    working_directory=maybe_text,
    timeout=st.none() | st.integers(1, 600),
    run_if=run_ifs,
    on_cancel=st.none() | st.builds(ExecTask, command=some_text) | st.builds(RakeTask),
)
fetch_task = st.builds(
    FetchArtifactTask,
    stage=some_text,
    job=some_text,
    source=some_text,
    pipeline=st.none() | some_text,
    is_source_a_file=st.booleans(),
    destination=maybe_text,
    run_if=run_ifs,
)
plugin_task = st.builds(
    PluginTask,
    plugin_configuration=st.builds(PluginConfiguration, id=some_text, version=some_text),
    configuration=st.lists(
        st.builds(ConfigurationProperty, key=names, value=maybe_text),
        max_size=2,
        unique_by=lambda p: p.key,
    ).map(tuple),
    run_if=run_ifs,
)
tasks = exec_task | fetch_task | plugin_task | some_text.map(script_task)
artifacts = st.builds(
    ArtifactConfig,
    type=st.sampled_from([ArtifactType.BUILD, ArtifactType.TEST]),
    source=some_text,
    destination=maybe_text,
)


@st.composite
def jobs(draw: st.DrawFn, name: str) -> JobConfig:
    run_on_all = draw(st.booleans())
    return JobConfig(
        name=name,
        tasks=tuple(draw(st.lists(tasks, min_size=1, max_size=3))),
        resources=draw(words),
        timeout=draw(st.none() | st.integers(1, 1000)),
        run_on_all_agents=run_on_all,
        run_instance_count=None if run_on_all else draw(st.none() | st.integers(1, 10)),
        tabs=tuple(Tab(n, draw(some_text)) for n in draw(st.lists(names, max_size=2, unique=True))),
        artifacts=tuple(draw(st.lists(artifacts, max_size=2))),
        elastic_profile_id=draw(maybe_text),
        environment_variables=draw(variables()),
    )


@st.composite
def stages(draw: st.DrawFn) -> StageConfig:
    job_names = draw(st.lists(names, min_size=1, max_size=2, unique_by=str.lower))
    return StageConfig(
        name=draw(names),
        jobs=tuple(draw(jobs(n)) for n in job_names),
        approval=Approval(
            type=draw(st.sampled_from(ApprovalType)),
            allow_only_on_success=draw(st.booleans()),
            authorization=Authorization(users=draw(words), roles=draw(words)),
        ),
        fetch_materials=draw(st.booleans()),
        clean_working_directory=draw(st.booleans()),
        never_cleanup_artifacts=draw(st.booleans()),
        environment_variables=draw(variables()),
    )


@st.composite
def pipelines(draw: st.DrawFn) -> PipelineConfig:
    materials = draw(st.lists(git | dependency, min_size=1, max_size=3, unique_by=lambda m: m.name))
    return PipelineConfig(
        name=draw(names),
        group=draw(names),
        materials=tuple(materials),
        stages=tuple(draw(st.lists(stages(), min_size=1, max_size=2))),
        label_template=draw(some_text),
        lock_behavior=draw(st.sampled_from(LockBehavior)),
        timer=draw(st.none() | st.builds(Timer, spec=some_text, only_on_changes=st.booleans())),
        tracking_tool=draw(st.none() | st.builds(TrackingTool, link=some_text, regex=some_text)),
        parameters=tuple(
            Parameter(n, draw(maybe_text)) for n in draw(st.lists(names, max_size=2, unique=True))
        ),
        environment_variables=draw(variables()),
        display_order_weight=draw(st.integers(-1, 1000)),
    )


def _reparse(yaml_text: str) -> tuple[tuple[PipelineConfig, ...], tuple[EnvironmentConfig, ...]]:
    result = parse_files([("export.gocd.yaml", yaml_text)])
    assert result.errors == (), yaml_text
    return (
        tuple(dataclasses.replace(p, origin=ConfigOrigin()) for p in result.pipelines),
        tuple(dataclasses.replace(e, origin=ConfigOrigin()) for e in result.environments),
    )


@settings(max_examples=50, deadline=None)
@given(pipeline=pipelines())
def test_exported_pipeline_reads_back_the_same(pipeline: PipelineConfig) -> None:
    parsed, _ = _reparse(export_yaml([pipeline]))
    assert parsed == (pipeline,)


@settings(max_examples=25, deadline=None)
@given(
    environment=st.builds(
        EnvironmentConfig,
        name=names,
        pipelines=st.lists(names, max_size=3, unique=True).map(tuple),
        agents=st.lists(names, max_size=2, unique=True).map(tuple),
        environment_variables=variables(),
    )
)
def test_exported_environment_reads_back_the_same(environment: EnvironmentConfig) -> None:
    _, parsed = _reparse(export_yaml([], [environment]))
    assert parsed == (environment,)


def test_export_is_gocd_yaml_format_10_without_null_text() -> None:
    pipeline = PipelineConfig(
        name="build",
        group="web",
        materials=(GitMaterialConfig(name="src", url="https://example.invalid/x.git"),),
        stages=(
            StageConfig(
                name="test",
                jobs=(
                    JobConfig(
                        name="unit",
                        tasks=(script_task("make test"),),
                        environment_variables=(EnvironmentVariable("EMPTY"),),
                    ),
                ),
            ),
        ),
        template=None,
    )
    text = export_yaml([pipeline])
    assert text.startswith("format_version: 10\n")
    assert "script: make test" in text
    assert "null" not in text
    parsed, _ = _reparse(text)
    assert parsed == (pipeline,)


def test_template_pipeline_exports_template_not_stages() -> None:
    pipeline = PipelineConfig(
        name="deploy",
        group="ops",
        materials=(DependencyMaterialConfig(name="up", pipeline="build", stage="test"),),
        template="deploy-template",
    )
    text = export_yaml([pipeline])
    assert "template: deploy-template" in text
    assert "stages" not in text
    parsed, _ = _reparse(text)
    assert parsed == (pipeline,)
