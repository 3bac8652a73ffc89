"""Rules for a pipeline's materials: names, URLs and credentials, filters, destinations and
dependencies on the same upstream twice. Messages are GoCD's (`MaterialConfigs`,
`ScmMaterialConfig`, `DependencyMaterialConfig`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pygocd.configrepo.validate_report import Reporter, Scope, material_path, report
from pygocd.domain.materials import (
    ConfigRepoMaterialConfig,
    DependencyMaterialConfig,
    GitMaterialConfig,
    HgMaterialConfig,
    MaterialConfig,
    MaterialFilter,
    PluggableScmMaterialConfig,
    ScmMaterialBase,
    SvnMaterialConfig,
    TfsMaterialConfig,
    material_name,
)
from pygocd.domain.names import name_error
from pygocd.domain.pipelines import PipelineConfig

_URL_MATERIALS = (GitMaterialConfig, HgMaterialConfig, SvnMaterialConfig, TfsMaterialConfig)


def check_materials(reporter: Reporter, scope: Scope, pipeline: PipelineConfig) -> None:
    path = scope.path
    materials = pipeline.materials
    if not materials:
        report(reporter, scope, f"{path}.materials", "A pipeline must have at least one material")
        return

    names: dict[str, str] = {}
    for index, material in enumerate(materials):
        key = material_path(path, material, index)
        name = material_name(material)
        if name:
            if (message := name_error("material", name)) is not None:
                report(reporter, scope, key, message)
            if len(materials) > 1 and name.lower() in names:
                report(
                    reporter,
                    scope,
                    key,
                    f"You have defined multiple materials called '{name}'. Material names are "
                    "case-insensitive and must be unique. Note that for dependency materials "
                    "the default materialName is the name of the upstream pipeline. You can "
                    "override this by setting the materialName explicitly for the upstream "
                    "pipeline.",
                )
            names.setdefault(name.lower(), key)
        check_material(reporter, scope, key, material)

    check_destinations(reporter, scope, materials)

    upstream: set[str] = set()
    for index, material in enumerate(materials):
        if isinstance(material, DependencyMaterialConfig) and material.pipeline:
            wanted = material.pipeline.lower()
            if wanted in upstream:
                report(
                    reporter,
                    scope,
                    material_path(path, material, index),
                    f"A pipeline can depend on pipeline '{material.pipeline}' only once; "
                    f"pipeline '{pipeline.name}' has more than one dependency material on it.",
                )
            upstream.add(wanted)


def check_material(reporter: Reporter, scope: Scope, key: str, material: MaterialConfig) -> None:
    if isinstance(material, _URL_MATERIALS) and not material.url.strip():
        report(reporter, scope, key, "URL cannot be blank")
    if isinstance(material, ScmMaterialBase):
        if material.password is not None and material.encrypted_password is not None:
            report(
                reporter,
                scope,
                key,
                "You may only specify `password` or `encrypted_password`, not both!",
            )
        if isinstance(material, _URL_MATERIALS) and _url_has_credentials(material.url):
            has_fields = any(
                value
                for value in (material.username, material.password, material.encrypted_password)
            )
            if has_fields:
                report(
                    reporter,
                    scope,
                    key,
                    "Ambiguous credentials, must be provided either in URL or as attributes.",
                )
    if isinstance(
        material, ScmMaterialBase | PluggableScmMaterialConfig | ConfigRepoMaterialConfig
    ):
        _check_filter(reporter, scope, key, material.filter)
    if isinstance(material, PluggableScmMaterialConfig) and not (
        material.scm_id or material.plugin_configuration
    ):
        report(
            reporter, scope, key, "A plugin SCM material needs an scm id or a plugin configuration."
        )
    if isinstance(material, DependencyMaterialConfig):
        if not material.pipeline.strip():
            report(reporter, scope, key, "Pipeline name is a required field.")
        if not material.stage.strip():
            report(reporter, scope, key, "Stage name is a required field.")


def _check_filter(reporter: Reporter, scope: Scope, key: str, filter_: MaterialFilter) -> None:
    if filter_.ignore and filter_.includes:
        report(
            reporter,
            scope,
            f"{key}.filter",
            "A material filter cannot have both `ignore` and `includes` patterns.",
        )


def _url_has_credentials(url: str) -> bool:
    _, sep, rest = url.partition("://")
    if not sep:
        return False
    authority = rest.split("/", 1)[0]
    return "@" in authority


def _normalized_folder(folder: str) -> str:
    parts = [p for p in folder.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts).lower()


def check_destinations(
    reporter: Reporter, scope: Scope, materials: Sequence[MaterialConfig]
) -> None:
    """With more than one SCM material, each needs its own, un-nested `destination`."""
    scm = [
        (index, m)
        for index, m in enumerate(materials)
        if isinstance(m, ScmMaterialBase | PluggableScmMaterialConfig)
    ]
    if len(scm) < 2:
        return
    folders: list[tuple[int, str]] = []
    for index, material in scm:
        key = material_path(scope.path, material, index)
        if not (material.destination or "").strip():
            report(
                reporter,
                scope,
                f"{key}.destination",
                "Destination directory is required when specifying multiple scm materials",
            )
            continue
        folders.append((index, _normalized_folder(material.destination or "")))
    for index, folder in folders:
        key = material_path(scope.path, materials[index], index)
        for other_index, other in folders:
            if other_index == index:
                continue
            if other == folder:
                report(
                    reporter,
                    scope,
                    f"{key}.destination",
                    "The destination directory must be unique across materials.",
                )
                break
            if not other or folder.startswith(other + "/"):
                report(
                    reporter,
                    scope,
                    f"{key}.destination",
                    "Invalid Destination Directory. Every material needs a different "
                    "destination directory and the directories should not be nested.",
                )
                break
