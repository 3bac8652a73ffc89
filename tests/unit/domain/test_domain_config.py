"""Config look-ups, variable merging, agent matching and plugin/script tasks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pygocd.domain.agents import Agent
from pygocd.domain.config import CruiseConfig
from pygocd.domain.config_repos import ConfigRepoConfig
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.materials import ConfigurationProperty, GitMaterialConfig, PluginConfiguration
from pygocd.domain.pipelines import (
    PipelineConfig,
    PipelineGroup,
    StageConfig,
    TemplateConfig,
)
from pygocd.domain.states import AgentConfigState, AgentRuntimeStatus
from pygocd.domain.tasks import SCRIPT_EXECUTOR_PLUGIN_ID, PluginTask, script_task
from pygocd.domain.variables import EnvironmentVariable, merge_variables

# ---- variables ------------------------------------------------------------------------------


def var(name: str, value: str) -> EnvironmentVariable:
    return EnvironmentVariable(name=name, value=value)


def test_later_level_wins() -> None:
    merged = merge_variables(
        (var("A", "env"), var("B", "env")),
        (var("A", "pipeline"),),
        (var("C", "stage"),),
        (var("C", "job"),),
    )
    assert {v.name: v.value for v in merged} == {"A": "pipeline", "B": "env", "C": "job"}


def test_override_is_case_insensitive_and_takes_the_later_name() -> None:
    [merged] = merge_variables((var("path", "a"),), (var("PATH", "b"),))
    assert (merged.name, merged.value) == ("PATH", "b")


def test_merge_of_nothing() -> None:
    assert merge_variables() == ()
    assert merge_variables((), ()) == ()


levels = st.lists(
    st.lists(st.tuples(st.sampled_from(["a", "A", "b", "B", "c"]), st.text(max_size=3))),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(levels)
def test_merge_keeps_the_last_setting_of_each_name(raw: list[list[tuple[str, str]]]) -> None:
    merged = merge_variables(*(tuple(var(n, v) for n, v in level) for level in raw))
    expected: dict[str, str] = {}
    for level in raw:
        for name, value in level:
            expected[name.lower()] = value
    assert {v.name.lower(): v.value for v in merged} == expected
    assert len(merged) == len(expected)


# ---- agents ---------------------------------------------------------------------------------


def agent(resources: tuple[str, ...] = (), environments: tuple[str, ...] = ()) -> Agent:
    return Agent(uuid="u-1", hostname="host", resources=resources, environments=environments)


def test_agent_defaults_and_status() -> None:
    pending = agent()
    assert pending.status == "Pending"
    assert not pending.is_enabled
    enabled = Agent(
        uuid="u",
        hostname="h",
        config_state=AgentConfigState.ENABLED,
        runtime_status=AgentRuntimeStatus.IDLE,
    )
    assert enabled.is_enabled
    assert enabled.status == "Idle"


@pytest.mark.parametrize(
    ("mine", "required", "ok"),
    [
        ((), (), True),
        (("linux",), (), True),
        (("Linux", "Java"), ("linux",), True),
        (("linux",), ("LINUX", "java"), False),
        ((), ("linux",), False),
        (("linux", "java"), ("java", "linux"), True),
    ],
)
def test_has_resources_is_a_case_insensitive_subset(
    mine: tuple[str, ...], required: tuple[str, ...], ok: bool
) -> None:
    assert agent(resources=mine).has_resources(required) is ok


@settings(max_examples=200, deadline=None)
@given(
    st.sets(st.sampled_from(["a", "B", "c", "D"])),
    st.sets(st.sampled_from(["A", "b", "C", "d"])),
)
def test_has_resources_property(mine: set[str], required: set[str]) -> None:
    expected = {r.lower() for r in required} <= {m.lower() for m in mine}
    assert agent(resources=tuple(mine)).has_resources(tuple(required)) is expected


KNOWN = {"prod", "uat"}


@pytest.mark.parametrize(
    ("agent_envs", "pipeline_env", "ok"),
    [
        ((), None, True),
        (("prod",), None, False),
        (("prod",), "prod", True),
        (("PROD",), "Prod", True),
        ((), "prod", False),
        (("uat",), "prod", False),
        (("uat", "prod"), "prod", True),
        (("gone",), None, True),  # unknown environment: agent counts as environment-less
        (("gone",), "prod", False),
        (("gone", "uat"), None, False),
    ],
)
def test_matches_environment(
    agent_envs: tuple[str, ...], pipeline_env: str | None, ok: bool
) -> None:
    assert agent(environments=agent_envs).matches_environment(pipeline_env, KNOWN) is ok


def test_known_environments_are_compared_case_insensitively() -> None:
    assert agent(environments=("prod",)).matches_environment("prod", {"Prod"})
    assert not agent(environments=("prod",)).matches_environment(None, {"PROD"})


# ---- CruiseConfig and PipelineConfig ------------------------------------------------------


def pipeline(name: str, *stages: str) -> PipelineConfig:
    return PipelineConfig(
        name=name,
        materials=(GitMaterialConfig(url="u"),),
        stages=tuple(StageConfig(name=s) for s in stages),
    )


@pytest.fixture
def config() -> CruiseConfig:
    return CruiseConfig(
        groups=(
            PipelineGroup(name="First", pipelines=(pipeline("Build", "compile", "Test"),)),
            PipelineGroup(name="second", pipelines=(pipeline("deploy", "prod"),)),
        ),
        templates=(TemplateConfig(name="Tmpl"),),
        environments=(EnvironmentConfig(name="Prod", pipelines=("DEPLOY",)),),
        config_repos=(ConfigRepoConfig(id="Repo-1", material=GitMaterialConfig(url="u")),),
    )


def test_config_look_ups_are_case_insensitive(config: CruiseConfig) -> None:
    build = config.find_pipeline("BUILD")
    assert build is not None
    assert build.name == "Build"
    assert config.find_pipeline("nope") is None
    assert [p.name for p in config.all_pipelines()] == ["Build", "deploy"]
    assert config.pipeline_count == 2
    group = config.find_group("first")
    assert group is not None
    assert group.name == "First"
    assert config.find_group("third") is None
    template = config.find_template("TMPL")
    assert template is not None
    assert template.name == "Tmpl"
    assert config.find_template("x") is None
    environment = config.find_environment("prod")
    assert environment is not None
    assert environment.name == "Prod"
    assert config.find_environment("uat") is None
    repo = config.find_config_repo("repo-1")
    assert repo is not None
    assert repo.id == "Repo-1"
    assert config.find_config_repo("x") is None


def test_environment_of_a_pipeline(config: CruiseConfig) -> None:
    environment = config.environment_of("Deploy")
    assert environment is not None
    assert environment.name == "Prod"
    assert config.environment_of("build") is None


def test_find_and_next_stage() -> None:
    p = pipeline("p", "compile", "Test", "deploy")
    compile_stage = p.find_stage("COMPILE")
    assert compile_stage is not None
    assert compile_stage.name == "compile"
    assert p.find_stage("nope") is None
    assert p.first_stage.name == "compile"
    next_stage = p.next_stage("Compile")
    assert next_stage is not None
    assert next_stage.name == "Test"
    last = p.next_stage("test")
    assert last is not None
    assert last.name == "deploy"
    assert p.next_stage("DEPLOY") is None


# ---- tasks ----------------------------------------------------------------------------------


def test_script_task_shape() -> None:
    task = script_task("echo hi")
    assert task.plugin_configuration == PluginConfiguration(
        id=SCRIPT_EXECUTOR_PLUGIN_ID, version="1"
    )
    assert task.configuration == (ConfigurationProperty(key="script", value="echo hi"),)
    assert task.script == "echo hi"


@pytest.mark.parametrize(
    "task",
    [
        PluginTask(),
        PluginTask(
            plugin_configuration=PluginConfiguration(id="other"),
            configuration=(ConfigurationProperty(key="script", value="x"),),
        ),
        PluginTask(
            plugin_configuration=PluginConfiguration(id=SCRIPT_EXECUTOR_PLUGIN_ID),
            configuration=(ConfigurationProperty(key="shtype", value="bash"),),
        ),
    ],
)
def test_plugin_task_without_script(task: PluginTask) -> None:
    assert task.script is None


def test_script_is_found_among_other_properties() -> None:
    task = PluginTask(
        plugin_configuration=PluginConfiguration(id=SCRIPT_EXECUTOR_PLUGIN_ID),
        configuration=(
            ConfigurationProperty(key="shtype", value="bash"),
            ConfigurationProperty(key="script", value="make"),
        ),
    )
    assert task.script == "make"
