"""Material fingerprints (`AbstractMaterialConfig`) and URL credential handling."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pygocd.domain.materials import (
    ConfigRepoMaterialConfig,
    ConfigurationProperty,
    DependencyMaterialConfig,
    GitMaterialConfig,
    HgMaterialConfig,
    MaterialFilter,
    P4MaterialConfig,
    PackageMaterialConfig,
    PluggableScmMaterialConfig,
    PluginConfiguration,
    SvnMaterialConfig,
    TfsMaterialConfig,
    mask_credentials,
    material_name,
    url_without_credentials,
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_git_fingerprint_matches_gocd_test_vector() -> None:
    material = GitMaterialConfig(url="https://bob:pass@github.com/gocd", branch="feature")
    assert material.fingerprint == (
        "755da7fb7415c8674bdf5f8a4ba48fc3e071e5de429b1308ccf8949d215bdb08"
    )


@pytest.mark.parametrize("branch", ["", "   ", "master"])
def test_blank_git_branch_is_master(branch: str) -> None:
    material = GitMaterialConfig(url="https://github.com/gocd/gocd", branch=branch)
    assert material.effective_branch == "master"
    assert material.fingerprint == sha256(
        "type=GitMaterial<|>url=https://github.com/gocd/gocd<|>branch=master"
    )


def test_git_default_branch_is_master() -> None:
    assert (
        GitMaterialConfig(url="u").fingerprint == GitMaterialConfig(url="u", branch="").fingerprint
    )


def test_git_fingerprint_ignores_non_identity_fields() -> None:
    plain = GitMaterialConfig(url="u", branch="b")
    decorated = GitMaterialConfig(
        url="u",
        branch="b",
        name="repo",
        destination="src",
        auto_update=False,
        shallow_clone=True,
        filter=MaterialFilter(ignore=("*.md",)),
        password="secret",
    )
    assert decorated.fingerprint == plain.fingerprint


def test_git_credentials_in_url_are_part_of_identity() -> None:
    with_credentials = GitMaterialConfig(url="https://bob:pass@github.com/gocd")
    without = GitMaterialConfig(url="https://github.com/gocd")
    assert with_credentials.fingerprint != without.fingerprint


def test_svn_fingerprint() -> None:
    material = SvnMaterialConfig(url="url", username="username", check_externals=True)
    assert material.fingerprint == sha256(
        "type=SvnMaterial<|>url=url<|>username=username<|>checkExternals=true"
    )


def test_svn_without_username_renders_null() -> None:
    assert SvnMaterialConfig(url="url").fingerprint == sha256(
        "type=SvnMaterial<|>url=url<|>username=null<|>checkExternals=false"
    )


def test_hg_fingerprint_with_branch() -> None:
    material = HgMaterialConfig(url="http://hg/repo", branch="feature")
    assert material.fingerprint == sha256("type=HgMaterial<|>url=http://hg/repo<|>branch=feature")


@pytest.mark.parametrize("branch", [None, "", "  "])
def test_hg_fingerprint_without_branch(branch: str | None) -> None:
    material = HgMaterialConfig(url="http://hg/repo", branch=branch)
    assert material.fingerprint == sha256("type=HgMaterial<|>url=http://hg/repo")


def test_p4_fingerprint() -> None:
    material = P4MaterialConfig(port="perforce:1666", username="me", view="//depot/... //ws/...")
    assert material.fingerprint == sha256(
        "type=P4Material<|>url=perforce:1666<|>username=me<|>view=//depot/... //ws/..."
    )


def test_tfs_fingerprint() -> None:
    material = TfsMaterialConfig(
        url="http://tfs:8080/tfs", username="me", domain="corp", project_path="$/proj"
    )
    assert material.fingerprint == sha256(
        "type=TfsMaterial<|>url=http://tfs:8080/tfs<|>username=me<|>domain=corp<|>projectPath=$/proj"
    )


def test_tfs_fingerprint_without_domain() -> None:
    material = TfsMaterialConfig(url="u", username="me", project_path="$/p")
    assert material.fingerprint == sha256(
        "type=TfsMaterial<|>url=u<|>username=me<|>domain=null<|>projectPath=$/p"
    )


def test_dependency_fingerprint() -> None:
    material = DependencyMaterialConfig(pipeline="upstream", stage="dist", name="up")
    assert material.fingerprint == sha256(
        "type=DependencyMaterial<|>pipelineName=upstream<|>stageName=dist"
    )


def test_dependency_name_defaults_to_upstream_pipeline() -> None:
    assert material_name(DependencyMaterialConfig(pipeline="upstream", stage="s")) == "upstream"
    assert material_name(DependencyMaterialConfig(pipeline="up", stage="s", name="x")) == "x"
    assert material_name(GitMaterialConfig(url="u", name="repo")) == "repo"
    assert material_name(GitMaterialConfig(url="u")) is None


def test_fingerprints_are_64_lowercase_hex() -> None:
    materials = [
        GitMaterialConfig(url="u"),
        SvnMaterialConfig(url="u"),
        HgMaterialConfig(url="u"),
        P4MaterialConfig(port="p", view="v"),
        TfsMaterialConfig(url="u"),
        DependencyMaterialConfig(pipeline="p", stage="s"),
        PackageMaterialConfig(package_id="pkg"),
        PluggableScmMaterialConfig(scm_id="scm"),
        PluggableScmMaterialConfig(
            plugin_configuration=PluginConfiguration(id="git-plugin"),
            configuration=(ConfigurationProperty(key="url", value="u"),),
        ),
        ConfigRepoMaterialConfig(name="repo"),
    ]
    prints = [m.fingerprint for m in materials]
    assert all(len(p) == 64 and p == p.lower() for p in prints)
    assert len(set(prints)) == len(prints)


def test_pluggable_scm_fingerprint_by_plugin_and_properties() -> None:
    material = PluggableScmMaterialConfig(
        plugin_configuration=PluginConfiguration(id="git-plugin", version="1"),
        configuration=(ConfigurationProperty(key="url", value="u"),),
    )
    assert material.fingerprint == sha256("plugin-id=git-plugin<|>url=u")


def test_pluggable_scm_by_reference() -> None:
    assert PluggableScmMaterialConfig(scm_id="abc").fingerprint == sha256(
        "plugin-id=null<|>scm-id=abc"
    )


def test_scm_flags() -> None:
    assert GitMaterialConfig.is_scm
    assert not DependencyMaterialConfig.is_scm
    assert not PackageMaterialConfig.is_scm


def test_material_filter() -> None:
    assert not MaterialFilter(ignore=("a",)).invert
    assert MaterialFilter(ignore=("a",)).patterns == ("a",)
    assert MaterialFilter(includes=("b",)).invert
    assert MaterialFilter(includes=("b",)).patterns == ("b",)


# ---- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://bob:pass@github.com/gocd", "https://github.com/gocd"),
        ("https://bob@github.com/gocd", "https://github.com/gocd"),
        ("https://github.com/gocd", "https://github.com/gocd"),
        ("https://bob:p@ss@host:8080/x", "https://host:8080/x"),
        ("https://host/path/a@b", "https://host/path/a@b"),
        ("https://host?x=a@b", "https://host?x=a@b"),
        ("https://u:p@host", "https://host"),
        ("git@github.com:gocd/gocd.git", "git@github.com:gocd/gocd.git"),
        ("/local/repo", "/local/repo"),
    ],
)
def test_url_without_credentials(url: str, expected: str) -> None:
    assert url_without_credentials(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://bob:pass@github.com/gocd", "https://bob:******@github.com/gocd"),
        ("https://bob:p@ss@host/x", "https://bob:******@host/x"),
        ("https://token@github.com/gocd", "https://******@github.com/gocd"),
        ("ssh://git@host/repo", "ssh://git@host/repo"),
        ("svn+ssh://me@host/repo", "svn+ssh://me@host/repo"),
        ("ssh://git:secret@host/repo", "ssh://git:******@host/repo"),
        ("https://github.com/gocd", "https://github.com/gocd"),
        ("https://host/a@b", "https://host/a@b"),
        ("git@github.com:gocd/gocd.git", "git@github.com:gocd/gocd.git"),
    ],
)
def test_mask_credentials(url: str, expected: str) -> None:
    assert mask_credentials(url) == expected


urls = st.builds(
    lambda scheme, user, password, host, path: (
        f"{scheme}://{user}{':' + password if password else ''}{'@' if user else ''}{host}{path}"
    ),
    st.sampled_from(["https", "http", "ssh", "git"]),
    st.sampled_from(["", "bob", "git"]),
    st.sampled_from(["", "s3cr3t", "p@ss"]),
    st.sampled_from(["github.com", "host:8080"]),
    st.sampled_from(["", "/x", "/a@b", "?q=a@b"]),
)


@settings(max_examples=200, deadline=None)
@given(urls)
def test_secrets_never_survive(url: str) -> None:
    for secret in ("s3cr3t", "p@ss"):
        if f":{secret}@" in url:
            assert secret not in mask_credentials(url)
            assert secret not in url_without_credentials(url)
