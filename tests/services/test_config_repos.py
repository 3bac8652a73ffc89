"""Config repos in the server: fetch a real git repo, parse, validate, apply all or nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pygocd.domain.config_repos import ConfigRepoConfig
from pygocd.domain.errors import Conflict, NotFound
from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.pipelines import PipelineConfig, PipelineGroup
from pygocd.domain.variables import Parameter
from pygocd.services.config import ConfigService
from pygocd.services.config_repos import ConfigRepoService, InvalidConfigRepo
from pygocd.services.git import GitError, fetch_branch, mask_text
from pygocd.services.health import ServerHealth
from pygocd.services.registry import Services
from tests.fakes import FakeClock
from tests.gitrepo import BROKEN_YAML, LOCAL_ONLY_URL, GitRepo, pipeline_yaml

pytestmark = pytest.mark.db


@pytest.fixture
def health(clock: FakeClock) -> ServerHealth:
    return ServerHealth(clock)


@pytest.fixture
def repos(services: Services, health: ServerHealth, tmp_path: Path) -> ConfigRepoService:
    return ConfigRepoService(services.config, health, tmp_path / "cache")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "remote")


async def test_registered_repo_pipelines_join_the_effective_config(
    repos: ConfigRepoService, services: Services, repo: GitRepo, tmp_path: Path
) -> None:
    revision = repo.commit("two pipelines", {"ci.gocd.yaml": pipeline_yaml("build", "deploy")})
    registered = await repos.register(str(repo.path))
    assert registered.id == "remote"
    info = await repos.check(registered.id)

    assert info.error is None
    assert info.good_modification is not None
    assert info.good_modification.revision == revision
    assert info.good_modification.comment == "two pipelines"
    assert info.latest_parsed_modification == info.good_modification
    build = services.config.current.find_pipeline("BUILD")
    assert build is not None
    assert build.origin.type == "config_repo"
    assert build.origin.repo_id == "remote"
    assert build.origin.revision == revision
    assert build.group == "team"
    # the stored document holds the registration, not the remote pipelines
    assert services.config.stored.find_pipeline("build") is None
    assert (tmp_path / "cache" / "remote.git" / "HEAD").exists()
    assert not (tmp_path / "cache" / "remote.git" / "ci.gocd.yaml").exists()


async def test_a_broken_commit_keeps_the_last_good_definitions(
    repos: ConfigRepoService, services: Services, repo: GitRepo, health: ServerHealth
) -> None:
    good = repo.commit("good", {"ci.gocd.yaml": pipeline_yaml("build")})
    registered = await repos.register(str(repo.path))
    await repos.check(registered.id)
    broken = repo.commit("oops", {"ci.gocd.yaml": BROKEN_YAML})

    info = await repos.check(registered.id)

    assert info.error
    assert "ci.gocd.yaml" in info.error
    assert info.good_modification is not None
    assert info.good_modification.revision == good
    assert info.latest_parsed_modification is not None
    assert info.latest_parsed_modification.revision == broken
    build = services.config.current.find_pipeline("build")
    assert build is not None
    assert build.origin.revision == good
    [message] = health.messages()
    assert message.level == "ERROR"
    assert "Parsing configuration repository" in message.message
    assert "ci.gocd.yaml" in message.detail

    fixed = repo.commit("fixed", {"ci.gocd.yaml": pipeline_yaml("build", "test")})
    info = await repos.check(registered.id)
    assert info.error is None
    assert info.good_modification is not None
    assert info.good_modification.revision == fixed
    assert services.config.current.find_pipeline("test") is not None
    assert health.messages() == []


async def test_a_revision_that_breaks_the_merged_config_is_rejected_whole(
    repos: ConfigRepoService, services: Services, repo: GitRepo
) -> None:
    stored = services.config.stored
    await services.config.save(
        replace(stored, groups=(PipelineGroup("local", (PipelineConfig("build"),)),)),
        expected_md5=stored.md5,
        author="admin",
        message="a local pipeline",
    )
    repo.commit("clash", {"ci.gocd.yaml": pipeline_yaml("build", "other")})
    registered = await repos.register(str(repo.path))

    info = await repos.check(registered.id)

    assert info.error is not None
    assert "multiple pipelines named 'build'" in info.error
    assert info.good_modification is None
    assert services.config.current.find_pipeline("other") is None
    build = services.config.current.find_pipeline("build")
    assert build is not None
    assert build.origin.type == "gocd"


async def test_an_unreachable_repo_is_an_error_and_applies_nothing(
    repos: ConfigRepoService, services: Services, tmp_path: Path, health: ServerHealth
) -> None:
    before = services.config.current
    registered = await repos.create(
        ConfigRepoConfig(
            id="gone",
            material=GitMaterialConfig(url="https://bob:s3cret@127.0.0.1:9/nowhere.git"),
        ),
        check=False,
    )

    info = await repos.check(registered.id)

    assert info.error is not None
    assert "s3cret" not in info.error
    assert info.good_modification is None
    assert info.latest_parsed_modification is None
    assert services.config.current.pipeline_count == before.pipeline_count
    [message] = health.messages()
    assert "s3cret" not in message.message + message.detail
    assert "bob:******@" in message.message


async def test_a_missing_branch_is_an_error(repos: ConfigRepoService, repo: GitRepo) -> None:
    repo.commit("one", {"ci.gocd.yaml": pipeline_yaml("build")})
    registered = await repos.register(f"{repo.path}#nope")
    assert registered.id == "remote-nope"
    info = await repos.check(registered.id)
    assert info.error is not None
    assert "nope" in info.error


async def test_file_pattern_selects_the_files(
    repos: ConfigRepoService, services: Services, repo: GitRepo
) -> None:
    repo.commit(
        "two files",
        {
            "ci.gocd.yaml": pipeline_yaml("ignored"),
            "pipelines/build.yml": pipeline_yaml("build"),
            "notes.txt": "not config",
        },
    )
    await repos.create(
        ConfigRepoConfig(
            id="patterned",
            material=GitMaterialConfig(url=str(repo.path)),
            configuration=(Parameter("file_pattern", "pipelines/*.yml"),),
        ),
        check=False,
    )
    info = await repos.check("patterned")
    assert info.error is None
    assert services.config.current.find_pipeline("build") is not None
    assert services.config.current.find_pipeline("ignored") is None


async def test_register_is_idempotent_across_restarts(
    repos: ConfigRepoService,
    services: Services,
    health: ServerHealth,
    repo: GitRepo,
    tmp_path: Path,
) -> None:
    first = await repos.register(str(repo.path))
    again = await repos.register(str(repo.path) + "/")
    assert again == first  # the same folder, however written, is the same repo
    assert [r.id for r in repos.list()] == ["remote"]
    # a fresh service over the same stored config (a restart) finds the registration
    restarted_config = ConfigService(services.uow, services.clock, services.bus)
    await restarted_config.load()
    restarted = ConfigRepoService(restarted_config, health, tmp_path / "cache")
    assert await restarted.register(str(repo.path)) == first
    assert [r.id for r in restarted.list()] == ["remote"]


async def test_a_second_repo_with_the_same_folder_name_gets_its_own_id(
    repos: ConfigRepoService, tmp_path: Path
) -> None:
    one = GitRepo(tmp_path / "a" / "config")
    two = GitRepo(tmp_path / "b" / "config")
    first = await repos.register(str(one.path))
    second = await repos.register(str(two.path))
    assert first.id == "config"
    assert second.id.startswith("config-")


async def test_create_update_delete(
    repos: ConfigRepoService, services: Services, repo: GitRepo, health: ServerHealth
) -> None:
    repo.commit("one", {"ci.gocd.yaml": pipeline_yaml("build")})
    created = await repos.create(
        ConfigRepoConfig(id="r1", material=GitMaterialConfig(url=str(repo.path)))
    )
    await repos.wait_idle()
    assert services.config.current.find_pipeline("build") is not None
    with pytest.raises(InvalidConfigRepo, match="same id"):
        await repos.create(created)
    with pytest.raises(InvalidConfigRepo, match="same repository"):
        await repos.create(replace(created, id="r2"))
    with pytest.raises(InvalidConfigRepo, match="Invalid config repo name"):
        await repos.create(ConfigRepoConfig(id=".bad", material=GitMaterialConfig(url="x")))
    with pytest.raises(InvalidConfigRepo, match="URL cannot be blank"):
        await repos.create(ConfigRepoConfig(id="blank", material=GitMaterialConfig(url=" ")))

    other = GitRepo(repo.path.parent / "other")
    other.commit("other", {"x.gocd.yaml": pipeline_yaml("elsewhere")})
    await repos.update("r1", replace(created, material=GitMaterialConfig(url=str(other.path))))
    await repos.wait_idle()
    assert services.config.current.find_pipeline("elsewhere") is not None
    assert services.config.current.find_pipeline("build") is None
    revisions = await services.config.revisions()
    assert [r.message for r in revisions][:2] == [
        "Updated config repo 'r1'",
        "Added config repo 'r1'",
    ]

    await repos.delete("r1")
    assert services.config.current.find_pipeline("elsewhere") is None
    with pytest.raises(NotFound):
        repos.get("r1")
    assert health.messages() == []


async def test_trigger_update_while_in_progress_is_a_conflict(
    repos: ConfigRepoService, repo: GitRepo
) -> None:
    repo.commit("one", {"ci.gocd.yaml": pipeline_yaml("build")})
    registered = await repos.register(str(repo.path))
    repos.trigger_update(registered.id)
    assert repos.in_progress(registered.id)
    with pytest.raises(Conflict, match="Update already in progress"):
        repos.trigger_update(registered.id)
    await repos.wait_idle()
    assert not repos.in_progress(registered.id)
    assert repos.parse_info(registered.id).good_modification is not None


async def test_saving_an_edited_effective_config_never_stores_remote_pipelines(
    repos: ConfigRepoService, services: Services, repo: GitRepo
) -> None:
    repo.commit("one", {"ci.gocd.yaml": pipeline_yaml("build", group="remote-only")})
    registered = await repos.register(str(repo.path))
    await repos.check(registered.id)
    current = services.config.current
    await services.config.save(
        replace(current, groups=(*current.groups, PipelineGroup("local", (PipelineConfig("x"),)))),
        expected_md5=current.md5,
        author="admin",
        message="add x",
    )
    assert services.config.stored.find_pipeline("build") is None
    assert services.config.stored.find_group("remote-only") is None
    assert services.config.current.find_pipeline("build") is not None
    assert services.config.current.find_pipeline("x") is not None


async def test_configrepo_material_is_the_repos_own(
    repos: ConfigRepoService, services: Services, repo: GitRepo
) -> None:
    text = pipeline_yaml("build").replace(
        f"      code:\n        git: {LOCAL_ONLY_URL}",
        "      self:\n        type: configrepo",
    )
    repo.commit("self material", {"ci.gocd.yaml": text})
    registered = await repos.register(str(repo.path))
    info = await repos.check(registered.id)
    assert info.error is None, info.error
    build = services.config.current.find_pipeline("build")
    assert build is not None
    [material] = build.materials
    assert isinstance(material, GitMaterialConfig)
    assert material.url == str(repo.path)
    assert material.name == "self"


async def test_git_errors_mask_credentials(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        await fetch_branch("https://u:pa55word@127.0.0.1:9/x.git", "main", tmp_path / "c.git")
    assert "pa55word" not in str(caught.value)
    assert mask_text("see https://u:pw@h/x and u:pw@h", ["https://u:pw@h/x"]) == (
        "see https://u:******@h/x and u:******@h"
    )


async def test_a_revision_deleting_a_pipeline_others_depend_on_is_rejected(
    repos: ConfigRepoService, services: Services, repo: GitRepo
) -> None:
    from pygocd.domain.materials import DependencyMaterialConfig
    from pygocd.domain.pipelines import JobConfig, StageConfig
    from pygocd.domain.tasks import ExecTask

    first = repo.commit("upstream", {"ci.gocd.yaml": pipeline_yaml("build", "other")})
    registered = await repos.register(str(repo.path))
    assert (await repos.check(registered.id)).error is None
    downstream = PipelineConfig(
        "deploy",
        group="local",
        materials=(DependencyMaterialConfig(pipeline="build", stage="build"),),
        stages=(StageConfig("ship", jobs=(JobConfig("go", tasks=(ExecTask("true"),)),)),),
    )
    stored = services.config.stored
    await services.config.save(
        replace(stored, groups=(PipelineGroup("local", (downstream,)),)),
        expected_md5=stored.md5,
        author="admin",
        message="depends on the repo's pipeline",
    )
    repo.commit("drop build", {"ci.gocd.yaml": pipeline_yaml("other")})

    info = await repos.check(registered.id)

    assert info.error is not None
    assert "build" in info.error
    assert info.good_modification is not None
    assert info.good_modification.revision == first
    still_there = services.config.current.find_pipeline("build")
    assert still_there is not None
    assert still_there.origin.revision == first
