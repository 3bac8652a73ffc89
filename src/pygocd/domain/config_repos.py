"""Config repositories: a material whose files hold pipelines as code (`*.gocd.yaml`, ...)."""

from __future__ import annotations

from dataclasses import dataclass

from pygocd.domain.materials import MaterialConfig
from pygocd.domain.variables import Parameter

YAML_PLUGIN_ID = "yaml.config.plugin"
JSON_PLUGIN_ID = "json.config.plugin"
DEFAULT_FILE_PATTERN = "**/*.gocd.yaml,**/*.gocd.yml,**/*.gopipeline.json,**/*.goenvironment.json"


@dataclass(frozen=True, slots=True)
class ConfigRepoConfig:
    """A registered config repo (`/go/api/admin/config_repos`), GoCD v4 shape."""

    id: str
    material: MaterialConfig
    plugin_id: str = YAML_PLUGIN_ID
    configuration: tuple[Parameter, ...] = ()

    @property
    def file_pattern(self) -> str:
        """The `file_pattern` configuration property, or GoCD's default patterns."""
        for prop in self.configuration:
            if prop.name == "file_pattern" and prop.value:
                return prop.value
        return DEFAULT_FILE_PATTERN
