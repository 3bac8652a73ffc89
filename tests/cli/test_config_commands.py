"""`pygocd config check` and `pygocd config export`, called as a user would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pygocd import bootstrap
from pygocd.cli import main
from pygocd.configrepo.parse import parse_files
from pygocd.domain.config import CruiseConfig
from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.pipelines import JobConfig, PipelineConfig, PipelineGroup, StageConfig
from pygocd.domain.tasks import ExecTask
from pygocd.settings import Settings

APP = PipelineConfig(
    name="app",
    group="team",
    materials=(GitMaterialConfig(url="https://example.com/app.git", name="code"),),
    stages=(StageConfig("build", jobs=(JobConfig("make", tasks=(ExecTask("make"),)),)),),
)


def store(data_dir: Path, *pipelines: PipelineConfig) -> None:
    async def save() -> None:
        container = await bootstrap.start(Settings(data_dir=data_dir))
        config = container.services.config
        await config.save(
            CruiseConfig(groups=(PipelineGroup("team", pipelines),)),
            expected_md5=config.current.md5,
            author="t",
            message="m",
        )
        await container.close()

    asyncio.run(save())


def test_export_writes_yaml_that_reads_back_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = PipelineConfig(name="other", group="team", materials=APP.materials, stages=APP.stages)
    store(tmp_path, APP, other)
    assert main(["config", "export", "--data-dir", str(tmp_path), "--pipeline", "APP"]) == 0
    exported = capsys.readouterr().out
    parsed = parse_files([("exported.gocd.yaml", exported)])
    assert parsed.errors == ()
    [pipeline] = parsed.pipelines
    assert pipeline.name == "app"
    assert pipeline.stages == APP.stages
    assert pipeline.materials == APP.materials


def test_export_of_an_unknown_pipeline_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store(tmp_path, APP)
    assert main(["config", "export", "--data-dir", str(tmp_path), "--pipeline", "nope"]) == 1
    assert (
        capsys.readouterr().err == "pygocd: error: no pipeline named 'nope' in the stored config\n"
    )


def test_check_reports_ok_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.gocd.yaml"
    good.write_text(
        "format_version: 10\npipelines:\n  app:\n    group: team\n    materials:\n"
        "      code:\n        git: https://example.com/app.git\n    stages:\n"
        "      - build:\n          jobs:\n            make:\n              tasks:\n"
        "                - exec: {command: make}\n"
    )
    assert main(["config", "check", str(good)]) == 0
    assert capsys.readouterr().out == "OK: 1 pipelines, 0 environments\n"
    bad = tmp_path / "bad.gocd.yaml"
    bad.write_text("format_version: 10\npipelines:\n  app:\n    group: team\n")
    assert main(["config", "check", str(bad)]) == 1
    errors = capsys.readouterr().err
    assert "bad.gocd.yaml" in errors
    assert "Traceback" not in errors
