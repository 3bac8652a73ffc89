"""Git materials on the server: a bare cache per fingerprint, fetched with the git CLI, read
into GoCD modifications (commit, author, time, message, files with added/modified/deleted).

The cache is created with `git init --bare` and filled by `git fetch` of the material's one
branch, the URL (with its credentials) passed on each call so it is never written to disk.
A shallow-clone material's first fetch is `--depth 2`, as GoCD's; later fetches bring every new
commit since. Commands go through `pygocd.services.git.run_git` (no shell, credentials masked).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.modifications import Modification, ModifiedAction, ModifiedFile
from pygocd.services.git import GitError, run_git

SHALLOW_DEPTH = 2
_FORMAT = "--format=%x1e%H%x00%an%x00%ae%x00%at%x00%B%x00"
_ACTIONS = {"A": ModifiedAction.ADDED, "M": ModifiedAction.MODIFIED, "D": ModifiedAction.DELETED}


def command_url(material: GitMaterialConfig) -> str:
    """The URL git is given: the configured one, with the material's `username`/`password`
    attributes put in when the URL carries no credentials of its own (GoCD's `UrlArgument`)."""
    url = material.url
    if not material.username and not material.password:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        return url
    userinfo = quote(material.username or "", safe="")
    if material.password:
        userinfo += ":" + quote(material.password, safe="")
    return f"{scheme}://{userinfo}@{authority}{slash}{path}"


def secret_urls(material: GitMaterialConfig) -> tuple[str, ...]:
    """The URLs whose credentials must be masked in any message about this material."""
    return tuple(dict.fromkeys((material.url, command_url(material))))


async def fetch(material: GitMaterialConfig, cache: Path) -> str:
    """Bring `cache` up to date with the material's branch; return the branch's head."""
    url = command_url(material)
    urls = secret_urls(material)
    if not (cache / "HEAD").exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        await run_git("init", "--quiet", "--bare", str(cache))
    ref = f"refs/heads/{material.effective_branch}"
    args = ["fetch", "--quiet", "--no-tags", "--force"]
    if material.shallow_clone and not await _has_ref(cache, ref):
        args += ["--depth", str(SHALLOW_DEPTH)]
    await run_git(*args, "--", url, f"+{ref}:{ref}", cwd=cache, urls=urls)
    out = await run_git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=cache)
    return out.decode().strip()


async def _has_ref(cache: Path, ref: str) -> bool:
    try:
        await run_git("rev-parse", "--verify", "--quiet", ref, cwd=cache)
    except GitError:
        return False
    return True


async def is_ancestor(cache: Path, older: str, newer: str) -> bool:
    """Whether `older` is known in the cache and reachable from `newer` (no force push since)."""
    try:
        await run_git("merge-base", "--is-ancestor", older, newer, cwd=cache)
    except GitError:
        return False
    return True


async def modifications(cache: Path, *revisions: str) -> list[Modification]:
    """`git log` of `revisions` (e.g. `old..new`, or `-1 new`), oldest first, with files."""
    out = await run_git(
        "log", "--reverse", "--no-renames", "--no-color", "-z", "--name-status", _FORMAT,
        *revisions, "--", cwd=cache,
    )  # fmt: skip
    return [parse_record(record) for record in out.decode("utf-8", "replace").split("\x1e")[1:]]


def parse_record(record: str) -> Modification:
    """One commit of `git log -z --name-status` in `_FORMAT`."""
    sha, name, email, seconds, message, rest = record.split("\x00", 5)
    tokens = rest.lstrip("\x00\n").split("\x00")
    files = tuple(
        ModifiedFile(
            file_name=path,
            action=_ACTIONS.get(status[:1], ModifiedAction.UNKNOWN),
        )
        for status, path in zip(tokens[0::2], tokens[1::2], strict=False)
        if path
    )
    return Modification(
        revision=sha,
        modified_time=datetime.fromtimestamp(int(seconds), tz=UTC),
        user_name=f"{name} <{email}>",
        email_address=email or None,
        comment=message.rstrip("\n"),
        files=files,
    )
