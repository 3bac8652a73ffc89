"""Push webhooks and the git notify API: authenticated pushes update matching git materials
at once (no poll), publish MATERIAL_UPDATED; anything else is refused and records nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.pipelines import JobConfig, PipelineConfig, PipelineGroup, StageConfig
from pygocd.domain.tasks import ExecTask
from pygocd.services.events import MATERIAL_UPDATED
from pygocd.services.materials import MaterialUpdateService
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.db

SECRET = "s3cret"
GITHUB_URL = "https://github.com/org/repo.git"


@dataclass
class Api:
    client: httpx.AsyncClient
    materials: MaterialUpdateService
    services: Services
    repo: GitRepo
    material: GitMaterialConfig  # a material on `repo`, polled
    github: GitMaterialConfig  # a material spelled as GitHub's URL, branch main


async def save_pipelines(services: Services, *materials: GitMaterialConfig) -> None:
    stage = StageConfig("s", jobs=(JobConfig("j", tasks=(ExecTask(command="true"),)),))
    pipelines = tuple(
        PipelineConfig(f"p{i}", group="g", materials=(m,), stages=(stage,))
        for i, m in enumerate(materials)
    )
    stored = services.config.stored
    await services.config.save(
        replace(stored, groups=(PipelineGroup("g", pipelines),)),
        expected_md5=stored.md5,
        author="admin",
        message="pipelines",
    )


@pytest.fixture
async def api(services: Services, settings: Settings, tmp_path: Path) -> AsyncIterator[Api]:
    repo_path = tmp_path / "repo"
    repo_path.mkdir()
    repo = GitRepo(repo_path, branch="main")
    repo.commit("one", a="1")
    material = GitMaterialConfig(url=str(repo.path), branch="main")
    # GitHub's spelling, but fetched from the local repo: the webhook matches on the URL
    # GitHub reports, git fetches what the material says.
    github = GitMaterialConfig(url=GITHUB_URL, branch="main", auto_update=False)
    await save_pipelines(services, material, github)
    materials = MaterialUpdateService(
        services.uow,
        services.bus,
        services.clock,
        lambda: services.config.current,
        tmp_path / "materials",
    )
    wired = replace(services, materials=materials)
    app = create_app(wired, settings.model_copy(update={"webhook_secret": SECRET}), loops=())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as c:
        yield Api(c, materials, wired, repo, material, github)
    await materials.close()


def github_payload(url: str, ref: str = "refs/heads/main") -> bytes:
    return json.dumps(
        {
            "ref": ref,
            "repository": {
                "full_name": "org/repo",
                "html_url": "https://github.com/org/repo",
                "clone_url": url,
            },
        }
    ).encode()


def github_headers(body: bytes, event: str = "push", secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


async def modification_count(api: Api, material: GitMaterialConfig) -> int:
    async with api.services.uow(read_only=True) as uow:
        return await uow.materials.count_modifications(material.fingerprint)


async def test_signed_github_push_updates_the_material_at_once_and_publishes(api: Api) -> None:
    body = github_payload(str(api.repo.path))
    async with api.services.bus.subscribe(MATERIAL_UPDATED) as events:
        response = await api.client.post(
            "/go/api/webhooks/github/notify", content=body, headers=github_headers(body)
        )
        event = await asyncio.wait_for(events.__anext__(), 10)

    assert response.status_code == 202
    assert response.json() == {"message": "OK!"}
    assert event.payload["fingerprint"] == api.material.fingerprint
    assert len(event.payload["modification_ids"]) == 1  # type: ignore[arg-type]
    assert await modification_count(api, api.material) == 1


async def test_legacy_sha1_signature_and_form_payload_are_accepted(api: Api) -> None:
    payload = github_payload(str(api.repo.path))
    body = str(httpx.QueryParams({"payload": payload.decode()})).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    response = await api.client.post(
        "/go/api/webhooks/github/notify",
        content=body,
        headers={
            "X-GitHub-Event": "push",
            "X-Hub-Signature": f"sha1={digest}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 202
    assert response.json() == {"message": "OK!"}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "No HMAC signature specified via 'X-Hub-Signature' header!"),
        (
            {"X-Hub-Signature-256": "sha256=0000"},
            "HMAC signature specified via 'X-Hub-Signature-256' did not match!",
        ),
        (
            {"X-Hub-Signature": "sha1=0000"},
            "HMAC signature specified via 'X-Hub-Signature' did not match!",
        ),
    ],
)
async def test_bad_github_signature_is_401_and_records_nothing(
    api: Api, headers: dict[str, str], message: str
) -> None:
    body = github_payload(str(api.repo.path))
    response = await api.client.post(
        "/go/api/webhooks/github/notify",
        content=body,
        headers={"X-GitHub-Event": "push", **headers},
    )
    assert response.status_code == 401
    assert response.json() == {"message": message}
    await asyncio.sleep(0)
    assert api.materials.status(api.material.fingerprint).in_progress is False
    assert await modification_count(api, api.material) == 0


async def test_signature_made_with_another_secret_is_refused(api: Api) -> None:
    body = github_payload(str(api.repo.path))
    response = await api.client.post(
        "/go/api/webhooks/github/notify",
        content=body,
        headers=github_headers(body, secret="wrong"),
    )
    assert response.status_code == 401
    assert await modification_count(api, api.material) == 0


async def test_github_ping_pongs_and_other_events_are_400(api: Api) -> None:
    body = b'{"zen": "hi"}'
    ping = await api.client.post(
        "/go/api/webhooks/github/notify", content=body, headers=github_headers(body, "ping")
    )
    assert (ping.status_code, ping.json()) == (202, {"message": "pong"})
    other = await api.client.post(
        "/go/api/webhooks/github/notify", content=body, headers=github_headers(body, "issues")
    )
    assert other.status_code == 400
    assert other.json() == {
        "message": "Invalid event type `issues`. Allowed events are [ping, push]."
    }


async def test_malformed_json_is_400_never_500(api: Api) -> None:
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        response = await api.client.post(
            "/go/api/webhooks/github/notify", content=body, headers=github_headers(body)
        )
        assert response.status_code == 400, body
        assert "message" in response.json()
    body = json.dumps({"ref": "refs/heads/main", "repository": "x"}).encode()
    response = await api.client.post(
        "/go/api/webhooks/github/notify", content=body, headers=github_headers(body)
    )
    assert response.status_code == 400


async def test_tag_pushes_are_ignored_and_unknown_repos_do_not_match(api: Api) -> None:
    tag = github_payload(str(api.repo.path), ref="refs/tags/v1")
    response = await api.client.post(
        "/go/api/webhooks/github/notify", content=tag, headers=github_headers(tag)
    )
    assert response.json() == {"message": "Ignoring push to non-branch."}
    other = github_payload("https://github.com/org/other.git", ref="refs/heads/dev")
    response = await api.client.post(
        "/go/api/webhooks/github/notify", content=other, headers=github_headers(other)
    )
    assert (response.status_code, response.json()) == (202, {"message": "No matching materials!"})


async def test_github_matches_guessed_url_spellings_of_the_repository(api: Api) -> None:
    """`https://github.com/org/repo.git` is matched though the payload only names the repo."""
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "repository": {"full_name": "org/repo", "html_url": "https://github.com/org/repo"},
        }
    ).encode()
    response = await api.client.post(
        "/go/api/webhooks/github/notify", content=body, headers=github_headers(body)
    )
    assert response.json() == {"message": "OK!"}


async def test_gitlab_push_with_token(api: Api) -> None:
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "project": {
                "path_with_namespace": "org/repo",
                "web_url": "https://gitlab.example.com/org/repo",
                "git_http_url": str(api.repo.path),
            },
        }
    ).encode()
    headers = {"X-Gitlab-Event": "Push Hook", "Content-Type": "application/json"}
    refused = await api.client.post(
        "/go/api/webhooks/gitlab/notify", content=body, headers={**headers, "X-Gitlab-Token": "x"}
    )
    assert refused.status_code == 401
    assert refused.json() == {
        "message": "Token specified in the 'X-Gitlab-Token' header did not match!"
    }
    missing = await api.client.post("/go/api/webhooks/gitlab/notify", content=body, headers=headers)
    assert missing.json() == {"message": "No token specified in the 'X-Gitlab-Token' header!"}
    async with api.services.bus.subscribe(MATERIAL_UPDATED) as events:
        accepted = await api.client.post(
            "/go/api/webhooks/gitlab/notify",
            content=body,
            headers={**headers, "X-Gitlab-Token": SECRET},
        )
        event = await asyncio.wait_for(events.__anext__(), 10)
    assert (accepted.status_code, accepted.json()) == (202, {"message": "OK!"})
    assert event.payload["fingerprint"] == api.material.fingerprint


def bitbucket_body(url: str, *changes: tuple[str, str]) -> bytes:
    return json.dumps(
        {
            "push": {"changes": [{"new": {"type": t, "name": n}} for t, n in changes]},
            "repository": {
                "full_name": "org/repo",
                "scm": "git",
                "links": {"html": {"href": url}},
            },
        }
    ).encode()


async def test_bitbucket_push_with_basic_auth_secret(api: Api) -> None:
    body = bitbucket_body("https://bitbucket.org/org/repo", ("branch", "main"), ("tag", "v1"))
    headers = {"X-Event-Key": "repo:push", "Content-Type": "application/json"}
    token = base64.b64encode(f"{SECRET}:".encode()).decode()
    wrong = base64.b64encode(b"nope:").decode()
    refused = await api.client.post(
        "/go/api/webhooks/bitbucket/notify",
        content=body,
        headers={**headers, "Authorization": f"Basic {wrong}"},
    )
    assert refused.status_code == 401
    missing = await api.client.post(
        "/go/api/webhooks/bitbucket/notify", content=body, headers=headers
    )
    assert missing.json() == {"message": "No token specified via basic authentication!"}
    accepted = await api.client.post(
        "/go/api/webhooks/bitbucket/notify",
        content=body,
        headers={**headers, "Authorization": f"Basic {token}"},
    )
    assert accepted.status_code == 202
    assert accepted.json() == {
        "message": "main: No matching materials!, Ignoring push to non-branch."
    }
    wrong_event = await api.client.post(
        "/go/api/webhooks/bitbucket/notify",
        content=body,
        headers={**headers, "X-Event-Key": "repo:fork", "Authorization": f"Basic {token}"},
    )
    assert wrong_event.status_code == 400


async def test_bitbucket_push_of_several_branches_answers_per_branch(
    api: Api, services: Services
) -> None:
    body = bitbucket_body("https://github.com/org/repo", ("branch", "main"), ("branch", "dev"))
    token = base64.b64encode(f"{SECRET}:x".encode()).decode()
    response = await api.client.post(
        "/go/api/webhooks/bitbucket/notify",
        content=body,
        headers={"X-Event-Key": "repo:push", "Authorization": f"Basic {token}"},
    )
    assert response.json() == {"message": "main: OK!, dev: No matching materials!"}


async def test_git_notify_api_updates_materials_of_the_url(api: Api) -> None:
    accept = {"Accept": "application/vnd.go.cd.v2+json", "Content-Type": "application/json"}
    async with api.services.bus.subscribe(MATERIAL_UPDATED) as events:
        response = await api.client.post(
            "/go/api/admin/materials/git/notify",
            json={"repository_url": str(api.repo.path)},
            headers=accept,
        )
        event = await asyncio.wait_for(events.__anext__(), 10)
    assert response.status_code == 202
    assert response.json() == {
        "message": "The material is now scheduled for an update. "
        "Please check relevant pipeline(s) for status."
    }
    assert event.payload["fingerprint"] == api.material.fingerprint

    missing = await api.client.post(
        "/go/api/admin/materials/git/notify", json={"url": "x"}, headers=accept
    )
    assert missing.status_code == 422
    bad = await api.client.post(
        "/go/api/admin/materials/git/notify", content=b"{oops", headers=accept
    )
    assert bad.status_code == 400
    unknown = await api.client.post(
        "/go/api/admin/materials/git/notify",
        json={"repository_url": "https://nowhere/x.git"},
        headers=accept,
    )
    assert unknown.status_code == 404
    no_accept = await api.client.post(
        "/go/api/admin/materials/git/notify", json={"repository_url": str(api.repo.path)}
    )
    assert no_accept.status_code == 404
