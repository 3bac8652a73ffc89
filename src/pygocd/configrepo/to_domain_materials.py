"""Contract material JSON → domain material config, with the server's defaults (§8)."""

from __future__ import annotations

from pygocd.configrepo.domain_reader import DomainReader, Json, child
from pygocd.domain.materials import (
    DEFAULT_GIT_BRANCH,
    ConfigRepoMaterialConfig,
    DependencyMaterialConfig,
    GitMaterialConfig,
    HgMaterialConfig,
    MaterialConfig,
    MaterialFilter,
    P4MaterialConfig,
    PackageMaterialConfig,
    PluggableScmMaterialConfig,
    PluginConfiguration,
    SvnMaterialConfig,
    TfsMaterialConfig,
)

MATERIAL_TYPES = ("git", "svn", "hg", "p4", "tfs", "dependency", "package", "plugin", "configrepo")


def material_filter(data: Json, reader: DomainReader, path: str) -> MaterialFilter:
    found = reader.mapping(data, "filter", path)
    if found is None:
        return MaterialFilter()
    filter_path = child(path, "filter")
    return MaterialFilter(
        ignore=reader.strings(found, "ignore", filter_path),
        includes=reader.strings(found, "includes", filter_path),
    )


def plugin_configuration(
    data: Json, key: str, reader: DomainReader, path: str
) -> PluginConfiguration | None:
    found = reader.mapping(data, key, path)
    if found is None:
        return None
    config_path = child(path, key)
    return PluginConfiguration(
        id=reader.required(found, "id", config_path),
        version=reader.text(found, "version", config_path, required=True),
    )


def material_config(data: Json, reader: DomainReader, path: str) -> MaterialConfig | None:
    kind = reader.text(data, "type", path)
    if kind is None:
        reader.error(path, "material has no type")
        return None
    if kind not in MATERIAL_TYPES:
        reader.error(child(path, "type"), f"unknown material type '{kind}'")
        return None
    name = reader.text(data, "name", path)
    if kind == "dependency":
        return DependencyMaterialConfig(
            pipeline=reader.required(data, "pipeline", path),
            stage=reader.required(data, "stage", path),
            name=name,
            ignore_for_scheduling=reader.flag(data, "ignore_for_scheduling", path, False),
        )
    if kind == "package":
        return PackageMaterialConfig(
            package_id=reader.required(data, "package_id", path), name=name
        )
    destination = reader.text(data, "destination", path)
    filters = material_filter(data, reader, path)
    if kind == "plugin":
        scm_id = reader.text(data, "scm_id", path)
        config = plugin_configuration(data, "plugin_configuration", reader, path)
        if scm_id is None and config is None:
            reader.error(path, "a pluggable SCM material needs scm_id or plugin_configuration")
        return PluggableScmMaterialConfig(
            scm_id=scm_id,
            name=name,
            destination=destination,
            filter=filters,
            plugin_configuration=config,
            configuration=reader.properties(data, "configuration", path),
        )
    if kind == "configrepo":
        return ConfigRepoMaterialConfig(name=name, destination=destination, filter=filters)
    common = {
        "name": name,
        "destination": destination,
        "auto_update": reader.flag(data, "auto_update", path, True),
        "filter": filters,
        "username": reader.text(data, "username", path),
        "password": reader.text(data, "password", path),
        "encrypted_password": reader.text(data, "encrypted_password", path),
    }
    if kind == "git":
        branch = reader.text(data, "branch", path)
        return GitMaterialConfig(
            **common,  # type: ignore[arg-type]
            url=reader.required(data, "url", path),
            branch=DEFAULT_GIT_BRANCH if branch is None else branch,
            shallow_clone=reader.flag(data, "shallow_clone", path, False),
        )
    if kind == "svn":
        return SvnMaterialConfig(
            **common,  # type: ignore[arg-type]
            url=reader.required(data, "url", path),
            check_externals=reader.flag(data, "check_externals", path, False),
        )
    if kind == "hg":
        return HgMaterialConfig(
            **common,  # type: ignore[arg-type]
            url=reader.required(data, "url", path),
            branch=reader.text(data, "branch", path),
        )
    if kind == "p4":
        return P4MaterialConfig(
            **common,  # type: ignore[arg-type]
            port=reader.required(data, "port", path),
            view=reader.required(data, "view", path),
            use_tickets=reader.flag(data, "use_tickets", path, False),
        )
    common["username"] = reader.required(data, "username", path)
    return TfsMaterialConfig(
        **common,  # type: ignore[arg-type]
        url=reader.required(data, "url", path),
        project_path=reader.required(data, "project", path),
        domain=reader.text(data, "domain", path),
    )
