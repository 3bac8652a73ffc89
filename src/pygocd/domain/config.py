"""The whole effective configuration: one immutable snapshot, swapped atomically on change.

A `CruiseConfig` merges the stored config document with the last valid parse of each config
repo. Look-ups are case-insensitive, as every GoCD name is.

Pipelines are kept as written (`#{params}` unresolved, templates referenced), which is what the
config API shows and edits save. What runs is `runnable(name)`: parameters substituted and the
template's stages applied, computed once per snapshot by whoever builds it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from pygocd.domain.config_repos import ConfigRepoConfig
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.pipelines import PipelineConfig, PipelineGroup, TemplateConfig


@dataclass(frozen=True)
class CruiseConfig:
    groups: tuple[PipelineGroup, ...] = ()
    templates: tuple[TemplateConfig, ...] = ()
    environments: tuple[EnvironmentConfig, ...] = ()
    config_repos: tuple[ConfigRepoConfig, ...] = ()
    md5: str = field(default="", compare=False)
    # Lower-cased name → the pipeline as it runs, for pipelines that use params or a template.
    resolved: Mapping[str, PipelineConfig] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _pipelines_by_name(self) -> dict[str, PipelineConfig]:
        return {p.name.lower(): p for p in self.all_pipelines()}

    @cached_property
    def _pipelines_by_material(self) -> dict[str, tuple[PipelineConfig, ...]]:
        index: dict[str, list[PipelineConfig]] = {}
        for pipeline in self.runnable_pipelines():
            for material in pipeline.materials:
                index.setdefault(material.fingerprint, []).append(pipeline)
        return {fingerprint: tuple(found) for fingerprint, found in index.items()}

    def pipelines_using(self, fingerprint: str) -> tuple[PipelineConfig, ...]:
        """Runnable pipelines with this material (by fingerprint), indexed once per snapshot."""
        return self._pipelines_by_material.get(fingerprint, ())

    def runnable(self, name: str) -> PipelineConfig | None:
        """The pipeline as it runs: parameters substituted, template stages applied."""
        return self.resolved.get(name.lower()) or self.find_pipeline(name)

    def runnable_pipelines(self) -> Iterator[PipelineConfig]:
        for pipeline in self.all_pipelines():
            yield self.resolved.get(pipeline.name.lower(), pipeline)

    def all_pipelines(self) -> Iterator[PipelineConfig]:
        for group in self.groups:
            yield from group.pipelines

    def find_pipeline(self, name: str) -> PipelineConfig | None:
        return self._pipelines_by_name.get(name.lower())

    def find_group(self, name: str) -> PipelineGroup | None:
        wanted = name.lower()
        return next((g for g in self.groups if g.name.lower() == wanted), None)

    def find_template(self, name: str) -> TemplateConfig | None:
        wanted = name.lower()
        return next((t for t in self.templates if t.name.lower() == wanted), None)

    def find_environment(self, name: str) -> EnvironmentConfig | None:
        wanted = name.lower()
        return next((e for e in self.environments if e.name.lower() == wanted), None)

    def environment_of(self, pipeline: str) -> EnvironmentConfig | None:
        """The environment holding this pipeline; GoCD allows at most one."""
        return next((e for e in self.environments if e.has_pipeline(pipeline)), None)

    def find_config_repo(self, repo_id: str) -> ConfigRepoConfig | None:
        wanted = repo_id.lower()
        return next((r for r in self.config_repos if r.id.lower() == wanted), None)

    @property
    def pipeline_count(self) -> int:
        return len(self._pipelines_by_name)


@dataclass(frozen=True, slots=True)
class ConfigRevision:
    """One saved version of the stored config document (append-only history)."""

    md5: str
    parent_md5: str
    document: dict[str, object]
    author: str
    message: str
    created_at: datetime
    id: int | None = None
    parent_id: int = 0
