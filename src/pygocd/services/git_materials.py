"""Git materials on the server: a bare cache per fingerprint, fetched with the git CLI, read
into GoCD modifications (commit, author, time, message, files with added/modified/deleted).

The cache is created with `git init --bare` and filled by `git fetch` of the material's one
branch, the URL (with its credentials) passed on each call so it is never written to disk.
A shallow-clone material's first fetch is `--depth 2`, as GoCD's; later fetches bring every new
commit since. An update first asks the remote for the branch head (`git ls-remote`, one cheap
round trip) and fetches only when it differs from the last recorded revision, so polling an
unchanged material runs one git process instead of four. Commands go through
`pygocd.services.git.run_git` (no shell, credentials masked).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.modifications import Modification, ModifiedAction, ModifiedFile
from pygocd.services.git import GitError, run_git

SHALLOW_DEPTH = 2
_FORMAT = "--format=%x1e%H%x00%P%x00%an%x00%ae%x00%at%x00%B%x00"
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


async def remote_head(material: GitMaterialConfig) -> str | None:
    """The head of the material's branch on the remote (`git ls-remote`), None when the
    remote has no such branch."""
    ref = branch_ref(material)
    out = await run_git("ls-remote", "--", command_url(material), ref, urls=secret_urls(material))
    for line in out.decode().splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None


async def fetch(material: GitMaterialConfig, cache: Path) -> None:
    """Bring `cache` up to date with the material's branch."""
    url = command_url(material)
    urls = secret_urls(material)
    if not (cache / "HEAD").exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        await run_git("init", "--quiet", "--bare", str(cache))
    ref = branch_ref(material)
    args = ["fetch", "--quiet", "--no-tags", "--force"]
    if material.shallow_clone and not await _has_ref(cache, ref):
        args += ["--depth", str(SHALLOW_DEPTH)]
    await run_git(*args, "--", url, f"+{ref}:{ref}", cwd=cache, urls=urls)


def branch_ref(material: GitMaterialConfig) -> str:
    return f"refs/heads/{material.effective_branch}"


async def _has_ref(cache: Path, ref: str) -> bool:
    try:
        await run_git("rev-parse", "--verify", "--quiet", ref, cwd=cache)
    except GitError:
        return False
    return True


async def new_modifications(cache: Path, ref: str, known: str | None) -> list[Modification]:
    """The commits of `ref` since `known` (the last recorded revision), oldest first; only
    the head when nothing was recorded yet or `known` is no ancestor of the head any more
    (history rewritten: GoCD records only the latest revision then)."""
    if known is not None:
        try:
            since = await _log(cache, f"{known}..{ref}")
        except GitError:
            since = None  # `known` is not in the cache (e.g. the cache was wiped)
        # `known` is an ancestor of the head exactly when some commit after it has it as a
        # parent; this saves a `git merge-base --is-ancestor` per update.
        if since and any(known in parents for _, parents in since):
            return [modification for modification, _ in since]
    head = await _log(cache, "-1", ref)
    return [modification for modification, _ in head if modification.revision != known]


async def _log(cache: Path, *revisions: str) -> list[tuple[Modification, list[str]]]:
    """`git log` of `revisions` (e.g. `old..ref`, or `-1 ref`), oldest first, with files."""
    out = await run_git(
        "log", "--reverse", "--no-renames", "--no-color", "-z", "--name-status", _FORMAT,
        *revisions, "--", cwd=cache,
    )  # fmt: skip
    return [parse_record(record) for record in out.decode("utf-8", "replace").split("\x1e")[1:]]


def parse_record(record: str) -> tuple[Modification, list[str]]:
    """One commit of `git log -z --name-status` in `_FORMAT`, with its parents."""
    sha, parents, name, email, seconds, message, rest = record.split("\x00", 6)
    tokens = rest.lstrip("\x00\n").split("\x00")
    files = tuple(
        ModifiedFile(
            file_name=path,
            action=_ACTIONS.get(status[:1], ModifiedAction.UNKNOWN),
        )
        for status, path in zip(tokens[0::2], tokens[1::2], strict=False)
        if path
    )
    modification = Modification(
        revision=sha,
        modified_time=datetime.fromtimestamp(int(seconds), tz=UTC),
        user_name=f"{name} <{email}>",
        email_address=email or None,
        comment=message.rstrip("\n"),
        files=files,
    )
    return modification, parents.split()
