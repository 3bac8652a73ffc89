"""Push webhooks (GoCD's `PushWebhookControllerV1`) and the git notify API (materials v2).

`POST /go/api/webhooks/{github,gitlab,bitbucket}/notify` authenticate with the server's
webhook secret, then start an update of every git material whose URL (without credentials)
is one of the pushed repository's URLs and whose branch was pushed. Unlike GoCD, polled
(`auto_update`) materials are updated too: a push is news whether or not we would poll later.
Answers are GoCD's: 202 with `OK!`, `No matching materials!`, `Ignoring push to non-branch.`
or `pong`; 401 for a bad secret; 400 for a wrong event or an unreadable payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from pygocd.services.materials import MaterialUpdateService
from pygocd.web.api.versioning import accepts, versioned_response

router = APIRouter(tags=["webhooks"])

SUCCESS = "OK!"
NO_MATCH = "No matching materials!"
NON_BRANCH = "Ignoring push to non-branch."
PONG = "pong"
NOTIFY_ACCEPTED = (
    "The material is now scheduled for an update. Please check relevant pipeline(s) for status."
)


class WebhookRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Push:
    """What a push payload tells: the repository's URL spellings and the pushed branches
    (an empty branch name stands for a tag or another non-branch ref)."""

    full_name: str
    urls: tuple[str, ...]
    branches: tuple[str, ...]


def _message(status: int, text: str) -> JSONResponse:
    return JSONResponse({"message": text}, status_code=status)


def _materials(request: Request) -> MaterialUpdateService:
    found: MaterialUpdateService | None = getattr(request.app.state.services, "materials", None)
    if found is None:
        raise WebhookRejected(404, "Material updates are not available on this server.")
    return found


def _secret(request: Request) -> str | None:
    secret: str | None = getattr(request.app.state.settings, "webhook_secret", None)
    return secret or None


def _same(given: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())


def _check_event(event: str | None, allowed: set[str]) -> str:
    if event not in allowed:
        names = ", ".join(sorted(allowed))
        raise WebhookRejected(400, f"Invalid event type `{event}`. Allowed events are [{names}].")
    return event


def _json_payload(request: Request, raw: bytes) -> Any:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    text: str | bytes = raw
    if content_type == "application/x-www-form-urlencoded":
        form = parse_qs(raw.decode("utf-8", "replace"))
        text = form.get("payload", [""])[0]
    try:
        payload = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected(400, "Could not understand the payload: not valid JSON.") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "Could not understand the payload: expected a JSON object.")
    return payload


def _get(payload: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def possible_urls(host: str, full_name: str, *, gitlab: bool = False) -> list[str]:
    """GoCD's `GuessUrlWebHook`: the ways a repository's URL may be written in a material."""
    bases = [f"{scheme}://{host}/{full_name}" for scheme in ("https", "http", "git")]
    bases += [f"git@{host}:{full_name}", f"ssh://git@{host}/{full_name}"]
    bases += [f"ssh://{host}/{full_name}"]
    if gitlab:
        bases += [f"gitlab@{host}:{full_name}", f"ssh://gitlab@{host}/{full_name}"]
    return [base + suffix for base in bases for suffix in ("", "/", ".git", ".git/")]


def _branch_of(ref: Any) -> str:
    if isinstance(ref, str) and ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/")
    return ""


def _push(
    full_name: Any, web_url: Any, extra: list[Any], branches: list[str], gitlab: bool
) -> Push:
    name = _text(full_name)
    if name is None:
        raise WebhookRejected(400, "Could not understand the payload: no repository name.")
    host = urlsplit(_text(web_url) or "").hostname
    urls = [u for u in (_text(e) for e in extra) if u]
    if host:
        urls += possible_urls(host, name, gitlab=gitlab)
    return Push(name, tuple(dict.fromkeys(urls)), tuple(branches))


def github_push(payload: Any) -> Push:
    repo = _get(payload, "repository")
    return _push(
        _get(repo, "full_name"),
        _get(repo, "html_url"),
        [_get(repo, key) for key in ("html_url", "clone_url", "ssh_url", "git_url", "url")],
        [_branch_of(_get(payload, "ref"))],
        gitlab=False,
    )


def gitlab_push(payload: Any) -> Push:
    project = _get(payload, "project")
    return _push(
        _get(project, "path_with_namespace"),
        _get(project, "web_url") or _get(project, "http_url"),
        [_get(project, key) for key in ("web_url", "http_url", "git_http_url", "git_ssh_url")],
        [_branch_of(_get(payload, "ref"))],
        gitlab=True,
    )


def bitbucket_push(payload: Any) -> Push:
    repo = _get(payload, "repository")
    scm = _get(repo, "scm")
    if scm is not None and scm != "git":
        raise WebhookRejected(400, "Only 'git' repositories are currently supported!")
    changes = _get(payload, "push", "changes")
    branches: list[str] = []
    for change in changes if isinstance(changes, list) else []:
        new = _get(change, "new")
        if _get(new, "type") == "branch" and _text(_get(new, "name")):
            branches.append(str(_get(new, "name")))
        else:
            branches.append("")
    return _push(
        _get(repo, "full_name"),
        _get(repo, "links", "html", "href"),
        [_get(repo, "links", "html", "href")],
        branches or [""],
        gitlab=False,
    )


def _notify(service: MaterialUpdateService, push: Push) -> str:
    """Start the updates a push asks for; GoCD's answer text (one part per branch)."""
    answers: list[tuple[str, str]] = []
    for branch in dict.fromkeys(push.branches):
        if not branch:
            answers.append((branch, NON_BRANCH))
            continue
        found = service.matching(push.urls, branch)
        for material in found:
            service.start_update(material)
        answers.append((branch, SUCCESS if found else NO_MATCH))
    if len(answers) == 1:
        return answers[0][1]
    return ", ".join(f"{branch}: {text}" if branch else text for branch, text in answers)


async def _handle(
    request: Request,
    authenticate: Callable[[Request, bytes], None],
    event_header: str,
    allowed: set[str],
    parse: Callable[[Any], Push],
    ping: str | None = None,
) -> Response:
    try:
        raw = await request.body()
        authenticate(request, raw)
        event = _check_event(request.headers.get(event_header), allowed)
        if event == ping:
            return _message(202, PONG)
        push = parse(_json_payload(request, raw))
        return _message(202, _notify(_materials(request), push))
    except WebhookRejected as rejected:
        return _message(rejected.status, rejected.message)


def _github_auth(request: Request, raw: bytes) -> None:
    secret = _secret(request)
    for header, algorithm in (("x-hub-signature-256", "sha256"), ("x-hub-signature", "sha1")):
        signature = request.headers.get(header, "").strip()
        if not signature:
            continue
        shown = "X-Hub-Signature-256" if algorithm == "sha256" else "X-Hub-Signature"
        expected = None
        if secret is not None:
            digest = hmac.new(secret.encode(), raw, getattr(hashlib, algorithm)).hexdigest()
            expected = f"{algorithm}={digest}"
        if not _same(signature, expected):
            raise WebhookRejected(401, f"HMAC signature specified via '{shown}' did not match!")
        return
    raise WebhookRejected(401, "No HMAC signature specified via 'X-Hub-Signature' header!")


def _gitlab_auth(request: Request, _raw: bytes) -> None:
    token = request.headers.get("x-gitlab-token", "").strip()
    if not token:
        raise WebhookRejected(401, "No token specified in the 'X-Gitlab-Token' header!")
    if not _same(token, _secret(request)):
        raise WebhookRejected(401, "Token specified in the 'X-Gitlab-Token' header did not match!")


def _bitbucket_auth(request: Request, _raw: bytes) -> None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    token = ""
    if scheme.lower() == "basic":
        try:
            token = base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            token = ""
    if not token:
        raise WebhookRejected(401, "No token specified via basic authentication!")
    if not _same(token, _secret(request)):
        raise WebhookRejected(401, "Token specified via basic authentication did not match!")


@router.post("/api/webhooks/github/notify", summary="GitHub push webhook")
async def github(request: Request) -> Response:
    return await _handle(
        request, _github_auth, "x-github-event", {"push", "ping"}, github_push, ping="ping"
    )


@router.post("/api/webhooks/gitlab/notify", summary="GitLab push webhook")
async def gitlab(request: Request) -> Response:
    return await _handle(request, _gitlab_auth, "x-gitlab-event", {"Push Hook"}, gitlab_push)


@router.post("/api/webhooks/bitbucket/notify", summary="Bitbucket Cloud push webhook")
async def bitbucket(request: Request) -> Response:
    return await _handle(request, _bitbucket_auth, "x-event-key", {"repo:push"}, bitbucket_push)


NOTIFY_VERSION = 2
Response2 = versioned_response(NOTIFY_VERSION)


@router.post(
    "/api/admin/materials/git/notify",
    summary="Update the git materials of a repository now",
    dependencies=[accepts(NOTIFY_VERSION)],
)
async def git_notify(request: Request) -> Response:
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return Response2(
            {"message": "You must specify a 'Content-Type' of 'application/json'"}, 415
        )
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        return Response2({"error": f"Payload data is not valid JSON: {error}"}, 400)
    url = _text(_get(body, "repository_url"))
    if url is None:
        return Response2({"message": "Request payload should contain repository_url"}, 422)
    try:
        service = _materials(request)
    except WebhookRejected as rejected:
        return Response2({"message": rejected.message}, rejected.status)
    found = service.matching([url])
    if not found:
        return Response2(
            {"message": f"Unable to find a git material with the repository url '{url}'."}, 404
        )
    for material in found:
        service.start_update(material)
    return Response2({"message": NOTIFY_ACCEPTED}, 202)
