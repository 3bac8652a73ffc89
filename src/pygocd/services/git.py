"""The git CLI, run as a subprocess: the true edge config repos (and later materials) fetch through.

Each repository is cached bare under a folder of our own (`git init --bare` once, then
`git fetch` of one branch), never checked out: files are listed with `git ls-tree` and read
with one `git cat-file --batch`. Every error message has the URL's credentials masked.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pygocd.domain.materials import mask_credentials

FETCH_TIMEOUT_SECONDS = 600.0
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",  # never wait for a password on a terminal nobody watches
    "GIT_ASKPASS": "true",
    "SSH_ASKPASS": "true",
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
    "LC_ALL": "C",
}


class GitError(Exception):
    """A git command failed; the message never holds a password."""


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit as GoCD's modification shows it."""

    revision: str
    username: str
    email_address: str
    comment: str
    modified_time: datetime


def _userinfo(url: str) -> str:
    authority = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]
    return authority.rpartition("@")[0]


def mask_text(text: str, urls: Sequence[str]) -> str:
    """`text` with the credentials of each of `urls` masked wherever they appear."""
    for url in urls:
        masked = mask_credentials(url)
        if masked == url:
            continue
        text = text.replace(url, masked)
        secret, shown = _userinfo(url), _userinfo(masked)
        if secret:
            text = text.replace(f"{secret}@", f"{shown}@")
        password = secret.partition(":")[2]
        if password:
            text = text.replace(password, "******")
    return text


async def run_git(
    *args: str,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    urls: Sequence[str] = (),
    time_limit: float = FETCH_TIMEOUT_SECONDS,
) -> bytes:
    """Run `git args...`; its stdout, or `GitError` with stderr (credentials masked)."""
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **_GIT_ENV},
        )
    except OSError as error:
        raise GitError(f"cannot run git: {error.strerror or error}") from error
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), time_limit)
    except TimeoutError:
        await _stop(process)
        raise GitError(f"git {args[0]} timed out after {time_limit:.0f} s") from None
    except asyncio.CancelledError:
        await _stop(process)  # never leave a git process or its pipes behind
        raise
    if process.returncode != 0:
        text = err.decode("utf-8", "replace").strip() or f"exit code {process.returncode}"
        raise GitError(mask_text(f"git {args[0]} failed: {text}", urls))
    return out


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
    await process.communicate()


async def fetch_branch(url: str, branch: str, cache: Path) -> str:
    """Bring `cache` (a bare repository, created if absent) up to date with `url`'s `branch`;
    return the branch's head revision."""
    if not (cache / "HEAD").exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        await run_git("init", "--quiet", "--bare", str(cache))
    ref = f"refs/heads/{branch}"
    await run_git(
        "fetch",
        "--quiet",
        "--no-tags",
        "--force",
        "--",
        url,
        f"+{ref}:{ref}",
        cwd=cache,
        urls=(url,),
    )
    out = await run_git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=cache)
    return out.decode().strip()


async def commit_info(cache: Path, revision: str) -> Commit:
    out = await run_git(
        "log", "-1", "--format=%H%x00%an%x00%ae%x00%ct%x00%B", revision, "--", cwd=cache
    )
    sha, name, email, seconds, message = out.decode("utf-8", "replace").split("\x00", 4)
    return Commit(
        revision=sha,
        username=f"{name} <{email}>",
        email_address=email,
        comment=message.strip(),
        modified_time=datetime.fromtimestamp(int(seconds), tz=UTC),
    )


async def list_files(cache: Path, revision: str) -> list[str]:
    """Every file path (with `/`) in the tree of `revision`."""
    out = await run_git("ls-tree", "-r", "-z", "--name-only", revision, cwd=cache)
    return [name for name in out.decode("utf-8", "surrogateescape").split("\x00") if name]


async def read_files(cache: Path, revision: str, paths: Sequence[str]) -> list[tuple[str, bytes]]:
    """The contents of `paths` at `revision`, read in one `git cat-file --batch`."""
    if not paths:
        return []
    request = "".join(f"{revision}:{path}\n" for path in paths).encode("utf-8", "surrogateescape")
    out = await run_git("cat-file", "--batch", cwd=cache, stdin=request)
    files: list[tuple[str, bytes]] = []
    position = 0
    for path in paths:
        end = out.index(b"\n", position)
        header = out[position:end].split()
        position = end + 1
        if len(header) < 3 or header[1] == b"missing":
            raise GitError(f"git cat-file: {path} is missing at {revision}")
        size = int(header[2])
        files.append((path, out[position : position + size]))
        position += size + 1
    return files
