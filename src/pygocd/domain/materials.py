"""Material configurations (git, svn, hg, p4, tfs, dependency, package, plugin scm, config repo).

Each material knows its GoCD type string and fingerprint (`AbstractMaterialConfig`): the SHA-256
of its identity attributes joined with `<|>`, credentials in the URL included, so the value
matches the one GoCD stores in `materials.fingerprint`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import ClassVar, Literal

DEFAULT_GIT_BRANCH = "master"


@dataclass(frozen=True, slots=True)
class MaterialFilter:
    """`ignore` blacklist or `includes` whitelist of path globs (GoCD `filter` + `invertFilter`)."""

    ignore: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()

    @property
    def invert(self) -> bool:
        """GoCD stores `includes` as ignore patterns with `invertFilter=true`."""
        return bool(self.includes)

    @property
    def patterns(self) -> tuple[str, ...]:
        return self.includes or self.ignore


def _fingerprint(criteria: list[tuple[str, object]]) -> str:
    def text(value: object) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    joined = "<|>".join(f"{key}={text(value)}" for key, value in criteria)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ScmMaterialBase:
    """Fields shared by source-code materials: checkout folder, polling, filter, credentials."""

    name: str | None = None
    destination: str | None = None
    auto_update: bool = True
    filter: MaterialFilter = field(default_factory=MaterialFilter)
    username: str | None = None
    password: str | None = None
    encrypted_password: str | None = None

    is_scm: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class GitMaterialConfig(ScmMaterialBase):
    url: str = ""
    branch: str = DEFAULT_GIT_BRANCH
    shallow_clone: bool = False

    kind: ClassVar[Literal["git"]] = "git"
    type_name: ClassVar[str] = "GitMaterial"

    @property
    def effective_branch(self) -> str:
        return self.branch.strip() or DEFAULT_GIT_BRANCH

    @property
    def fingerprint(self) -> str:
        return _fingerprint(
            [("type", self.type_name), ("url", self.url), ("branch", self.effective_branch)]
        )


@dataclass(frozen=True, slots=True)
class SvnMaterialConfig(ScmMaterialBase):
    url: str = ""
    check_externals: bool = False

    kind: ClassVar[Literal["svn"]] = "svn"
    type_name: ClassVar[str] = "SvnMaterial"

    @property
    def fingerprint(self) -> str:
        return _fingerprint(
            [
                ("type", self.type_name),
                ("url", self.url),
                ("username", self.username),
                ("checkExternals", self.check_externals),
            ]
        )


@dataclass(frozen=True, slots=True)
class HgMaterialConfig(ScmMaterialBase):
    url: str = ""
    branch: str | None = None

    kind: ClassVar[Literal["hg"]] = "hg"
    type_name: ClassVar[str] = "HgMaterial"

    @property
    def fingerprint(self) -> str:
        criteria: list[tuple[str, object]] = [("type", self.type_name), ("url", self.url)]
        if self.branch and self.branch.strip():
            criteria.append(("branch", self.branch))
        return _fingerprint(criteria)


@dataclass(frozen=True, slots=True)
class P4MaterialConfig(ScmMaterialBase):
    port: str = ""
    view: str = ""
    use_tickets: bool = False

    kind: ClassVar[Literal["p4"]] = "p4"
    type_name: ClassVar[str] = "P4Material"

    @property
    def fingerprint(self) -> str:
        return _fingerprint(
            [
                ("type", self.type_name),
                ("url", self.port),
                ("username", self.username),
                ("view", self.view),
            ]
        )


@dataclass(frozen=True, slots=True)
class TfsMaterialConfig(ScmMaterialBase):
    url: str = ""
    domain: str | None = None
    project_path: str = ""

    kind: ClassVar[Literal["tfs"]] = "tfs"
    type_name: ClassVar[str] = "TfsMaterial"

    @property
    def fingerprint(self) -> str:
        return _fingerprint(
            [
                ("type", self.type_name),
                ("url", self.url),
                ("username", self.username),
                ("domain", self.domain),
                ("projectPath", self.project_path),
            ]
        )


@dataclass(frozen=True, slots=True)
class DependencyMaterialConfig:
    """An upstream pipeline's stage; its name defaults to the upstream pipeline's name."""

    pipeline: str = ""
    stage: str = ""
    name: str | None = None
    ignore_for_scheduling: bool = False

    kind: ClassVar[Literal["dependency"]] = "dependency"
    type_name: ClassVar[str] = "DependencyMaterial"
    is_scm: ClassVar[bool] = False

    @property
    def effective_name(self) -> str:
        return self.name or self.pipeline

    @property
    def fingerprint(self) -> str:
        return _fingerprint(
            [("type", self.type_name), ("pipelineName", self.pipeline), ("stageName", self.stage)]
        )


@dataclass(frozen=True, slots=True)
class ConfigurationProperty:
    """A plugin setting: `{key, value}` or `{key, encrypted_value}`."""

    key: str
    value: str | None = None
    encrypted_value: str | None = None


@dataclass(frozen=True, slots=True)
class PluginConfiguration:
    id: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class PackageMaterialConfig:
    """A package from a package repository, referenced by id (defined in server config)."""

    package_id: str = ""
    name: str | None = None

    kind: ClassVar[Literal["package"]] = "package"
    type_name: ClassVar[str] = "PackageMaterial"
    is_scm: ClassVar[bool] = False

    @property
    def fingerprint(self) -> str:
        # GoCD hashes the package's and repository's identity properties; without package
        # repositories in pygocd yet, the id is the identity.
        return _fingerprint([("type", self.type_name), ("package-id", self.package_id)])


@dataclass(frozen=True, slots=True)
class PluggableScmMaterialConfig:
    """A plugin SCM, by reference (`scm_id`) or defined inline (`plugin_configuration`)."""

    scm_id: str | None = None
    name: str | None = None
    destination: str | None = None
    filter: MaterialFilter = field(default_factory=MaterialFilter)
    plugin_configuration: PluginConfiguration | None = None
    configuration: tuple[ConfigurationProperty, ...] = ()

    kind: ClassVar[Literal["plugin"]] = "plugin"
    type_name: ClassVar[str] = "PluggableSCMMaterial"
    is_scm: ClassVar[bool] = True

    @property
    def fingerprint(self) -> str:
        criteria: list[tuple[str, object]] = [
            ("plugin-id", self.plugin_configuration.id if self.plugin_configuration else None)
        ]
        if self.plugin_configuration is None:
            criteria.append(("scm-id", self.scm_id))
        criteria.extend((p.key, p.value) for p in self.configuration)
        return _fingerprint(criteria)


@dataclass(frozen=True, slots=True)
class ConfigRepoMaterialConfig:
    """`type: configrepo`: the config repository's own material, resolved when merged."""

    name: str | None = None
    destination: str | None = None
    filter: MaterialFilter = field(default_factory=MaterialFilter)

    kind: ClassVar[Literal["configrepo"]] = "configrepo"
    type_name: ClassVar[str] = "ConfigRepoMaterial"
    is_scm: ClassVar[bool] = True

    @property
    def fingerprint(self) -> str:
        return _fingerprint([("type", self.type_name), ("name", self.name)])


ScmMaterialConfig = (
    GitMaterialConfig | SvnMaterialConfig | HgMaterialConfig | P4MaterialConfig | TfsMaterialConfig
)

MaterialConfig = (
    GitMaterialConfig
    | SvnMaterialConfig
    | HgMaterialConfig
    | P4MaterialConfig
    | TfsMaterialConfig
    | DependencyMaterialConfig
    | PackageMaterialConfig
    | PluggableScmMaterialConfig
    | ConfigRepoMaterialConfig
)


def material_name(material: MaterialConfig) -> str | None:
    """The name a label template or `GO_*` variable uses: configured, or a dependency's upstream."""
    if isinstance(material, DependencyMaterialConfig):
        return material.effective_name
    return material.name


def _split_authority(url: str) -> tuple[str, str, str] | None:
    """`scheme://authority/rest` → (scheme, authority, rest); None when not such a URL.

    The authority ends at the first `/`, `?` or `#` (RFC 3986), so an `@` in a path or
    query is never taken for credentials.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = next((i for i, char in enumerate(rest) if char in "/?#"), len(rest))
    return scheme, rest[:end], rest[end:]


def url_without_credentials(url: str) -> str:
    """`https://bob:secret@host/x` → `https://host/x`; used for display and webhook matching."""
    parts = _split_authority(url)
    if parts is None:
        return url
    scheme, authority, rest = parts
    return f"{scheme}://{authority.rpartition('@')[2]}{rest}"


def mask_credentials(url: str) -> str:
    """GoCD's `UrlArgument.forDisplay`: `user:secret@` → `user:******@`; a user without a
    password is masked whole (it may be a token), except for `ssh` and `svn+ssh`."""
    parts = _split_authority(url)
    if parts is None:
        return url
    scheme, authority, rest = parts
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    if colon:
        masked = f"{user}:******"
    elif scheme in ("ssh", "svn+ssh"):
        masked = userinfo
    else:
        masked = "******"
    return f"{scheme}://{masked}@{host}{rest}"
