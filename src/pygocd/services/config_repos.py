"""Config repos: register them, fetch each into a bare git cache, parse its config files and
merge the result into the effective config, all or nothing per revision (GoCD's
`ConfigRepositoryService`, `GoConfigRepoConfigDataSource`, `PartialConfigService`).

A revision that does not parse, or breaks the merged config, is rejected as a whole: the repo's
last good definitions stay, `parse_info.error` says why, and a server health message shows it.
Runtime state (latest and good revision, error, in progress) is in memory, as in GoCD; the
registrations themselves are part of the stored config document.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from pygocd.configrepo.file_pattern import is_excluded, matches
from pygocd.configrepo.parse import ParseResult, parse_files
from pygocd.domain.config_repos import ConfigRepoConfig
from pygocd.domain.errors import Conflict, Invalid, NotFound
from pygocd.domain.materials import ConfigRepoMaterialConfig, GitMaterialConfig, mask_credentials
from pygocd.domain.names import name_error
from pygocd.domain.pipelines import PipelineConfig
from pygocd.services import git
from pygocd.services.config import ConfigService
from pygocd.services.git import Commit, GitError
from pygocd.services.health import ServerHealth

log = logging.getLogger("pygocd.config_repos")

UPDATE_IN_PROGRESS = "Update already in progress."
SYSTEM_AUTHOR = "pygocd"


class InvalidConfigRepo(Invalid):
    """A config repo body that fails validation; `errors` by field, as GoCD's 422 `data`."""

    def __init__(
        self,
        message: str,
        errors: dict[str, list[str]],
        material_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.errors = errors
        self.material_errors = material_errors or {}


@dataclass(frozen=True, slots=True)
class ParseInfo:
    latest_parsed_modification: Commit | None = None
    good_modification: Commit | None = None
    error: str | None = None


@dataclass
class _State:
    in_progress: bool = False
    info: ParseInfo = ParseInfo()
    task: asyncio.Task[ParseInfo] | None = None
    again: bool = False  # the repo changed while a check ran: check once more afterwards


def repo_etag(repo: ConfigRepoConfig) -> str:
    return hashlib.md5(repr(repo).encode("utf-8"), usedforsecurity=False).hexdigest()


def fetch_url(material: GitMaterialConfig) -> str:
    """The URL git is given: the material's, with its username/password put in when set."""
    url = material.url
    if not material.username or "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2]
    userinfo = material.username + (f":{material.password}" if material.password else "")
    return f"{scheme}://{userinfo}@{host}{slash}{path}"


def material_description(material: GitMaterialConfig) -> str:
    return f"URL: {mask_credentials(material.url)}, Branch: {material.effective_branch}"


class ConfigRepoService:
    def __init__(self, config: ConfigService, health: ServerHealth, cache_dir: Path) -> None:
        self._config = config
        self._health = health
        self._cache_dir = cache_dir
        self._states: dict[str, _State] = {}
        self._tasks: set[asyncio.Task[ParseInfo]] = set()

    # -- registrations -------------------------------------------------------------------

    def list(self) -> list[ConfigRepoConfig]:
        return list(self._config.stored.config_repos)

    def get(self, repo_id: str) -> ConfigRepoConfig:
        found = self._config.stored.find_config_repo(repo_id)
        if found is None:
            raise NotFound(f"Config repo with id '{repo_id}' was not found!")
        return found

    def etag(self, repo_id: str) -> str:
        return repo_etag(self.get(repo_id))

    async def create(
        self, repo: ConfigRepoConfig, *, author: str = SYSTEM_AUTHOR, check: bool = True
    ) -> ConfigRepoConfig:
        self._validate(repo)
        stored = self._config.stored
        if stored.find_config_repo(repo.id) is not None:
            duplicate = (
                "You have defined multiple configuration repositories with the same id - "
                f"'{repo.id}'."
            )
            raise InvalidConfigRepo(
                f"Failed to add config-repo '{repo.id}'. Another config-repo with the same "
                "id already exists.",
                {"id": [duplicate]},
            )
        self._check_unique_material(repo, stored.config_repos)
        await self._config.save(
            replace(stored, config_repos=(*stored.config_repos, repo)),
            expected_md5=stored.md5,
            author=author,
            message=f"Added config repo '{repo.id}'",
        )
        if check:
            self.trigger_update(repo.id)
        return self.get(repo.id)

    async def update(
        self, repo_id: str, repo: ConfigRepoConfig, *, author: str = SYSTEM_AUTHOR
    ) -> ConfigRepoConfig:
        old = self.get(repo_id)
        if repo.id != old.id:
            raise InvalidConfigRepo(
                "Renaming of config repos is not supported by this API.",
                {"id": ["Renaming of config repos is not supported by this API."]},
            )
        self._validate(repo)
        stored = self._config.stored
        others = tuple(r for r in stored.config_repos if r.id != old.id)
        self._check_unique_material(repo, others)
        if repo == old:
            return old
        await self._config.save(
            replace(
                stored,
                config_repos=tuple(repo if r.id == old.id else r for r in stored.config_repos),
            ),
            expected_md5=stored.md5,
            author=author,
            message=f"Updated config repo '{repo.id}'",
        )
        if repo.material != old.material or repo.configuration != old.configuration:
            state = self._states.setdefault(repo.id.lower(), _State())
            if state.in_progress:
                state.again = True
            else:
                self._start(self.get(repo.id), state, force=True)
        return self.get(repo.id)

    async def delete(self, repo_id: str, *, author: str = SYSTEM_AUTHOR) -> None:
        old = self.get(repo_id)
        stored = self._config.stored
        await self._config.save(
            replace(stored, config_repos=tuple(r for r in stored.config_repos if r.id != old.id)),
            expected_md5=stored.md5,
            author=author,
            message=f"Deleted config repo '{old.id}'",
        )
        state = self._states.pop(old.id.lower(), None)
        if state is not None and state.task is not None:
            state.task.cancel()
        await self._config.drop_config_repo_parse(old.id)
        self._health.clear(self._scope(old.id))
        await asyncio.to_thread(shutil.rmtree, self._cache(old.id), True)

    async def register(self, spec: str) -> ConfigRepoConfig:
        """`URL[#branch]` from `pygocd server --config-repo`: the existing registration of
        the same URL and branch, or a new one whose id is derived from the URL."""
        url, _, branch = spec.partition("#") if "#" in spec else (spec, "", "")
        url = _absolute_if_local(url.strip())
        material = (
            GitMaterialConfig(url=url, branch=branch) if branch else GitMaterialConfig(url=url)
        )
        for repo in self.list():
            existing = repo.material
            if (
                isinstance(existing, GitMaterialConfig)
                and existing.url == material.url
                and existing.effective_branch == material.effective_branch
            ):
                return repo
        repo_id = _derived_id(url, spec)
        if self._config.stored.find_config_repo(repo_id) is not None:
            repo_id = (
                f"{repo_id}-{hashlib.sha1(spec.encode(), usedforsecurity=False).hexdigest()[:6]}"
            )
        return await self.create(ConfigRepoConfig(id=repo_id, material=material), check=False)

    def _validate(self, repo: ConfigRepoConfig) -> None:
        errors: dict[str, list[str]] = {}
        material_errors: dict[str, list[str]] = {}
        if not repo.id:
            errors["id"] = ["Configuration repository id not specified"]
        elif (message := name_error("config repo", repo.id)) is not None:
            errors["id"] = [message]
        if not repo.plugin_id:
            errors["plugin_id"] = ["Configuration repository plugin not specified"]
        if not isinstance(repo.material, GitMaterialConfig):
            material_errors["type"] = [
                f"Config repos of type '{repo.material.kind}' are not supported; use git"
            ]
        elif not repo.material.url.strip():
            material_errors["url"] = ["URL cannot be blank"]
        if errors or material_errors:
            every = [m for ms in (*errors.values(), *material_errors.values()) for m in ms]
            raise InvalidConfigRepo(
                f"Validations failed for config-repo '{repo.id}'. Error(s): "
                f"[{'; '.join(every)}]. Please correct and resubmit.",
                errors,
                material_errors,
            )

    def _check_unique_material(
        self, repo: ConfigRepoConfig, others: tuple[ConfigRepoConfig, ...]
    ) -> None:
        for other in others:
            if other.material.fingerprint == repo.material.fingerprint:
                message = (
                    "You have defined multiple configuration repositories with the same "
                    f"repository - '{mask_credentials(getattr(repo.material, 'url', ''))}'."
                )
                raise InvalidConfigRepo(
                    f"Validations failed for config-repo '{repo.id}'. Error(s): [{message}]."
                    " Please correct and resubmit.",
                    {},
                    {"url": [message]},
                )

    # -- runtime state -------------------------------------------------------------------

    def parse_info(self, repo_id: str) -> ParseInfo:
        state = self._states.get(self.get(repo_id).id.lower())
        return state.info if state is not None else ParseInfo()

    def in_progress(self, repo_id: str) -> bool:
        state = self._states.get(self.get(repo_id).id.lower())
        return state is not None and state.in_progress

    def trigger_update(self, repo_id: str) -> None:
        """Start a check in the background; `Conflict` when one is already running."""
        repo = self.get(repo_id)
        state = self._states.setdefault(repo.id.lower(), _State())
        if state.in_progress:
            raise Conflict(UPDATE_IN_PROGRESS)
        self._start(repo, state, force=False)

    def _start(self, repo: ConfigRepoConfig, state: _State, force: bool) -> asyncio.Task[ParseInfo]:
        state.in_progress = True
        task = asyncio.get_running_loop().create_task(self._run(repo, state, force))
        state.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def check(self, repo_id: str, *, force: bool = False) -> ParseInfo:
        """Fetch, parse and apply one repo now (or wait for the check already running)."""
        repo = self.get(repo_id)
        state = self._states.setdefault(repo.id.lower(), _State())
        task = state.task if state.in_progress and state.task is not None else None
        if task is None:
            task = self._start(repo, state, force)
        return await asyncio.shield(task)

    async def check_all(self) -> None:
        repos = self.list()
        await asyncio.gather(*(self.check(repo.id) for repo in repos), return_exceptions=True)

    async def wait_idle(self) -> None:
        """Wait for every check started so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _scope(self, repo_id: str) -> str:
        return f"config_repo:{repo_id.lower()}"

    def _cache(self, repo_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", repo_id.lower())
        return self._cache_dir / f"{safe}.git"

    async def _run(self, repo: ConfigRepoConfig, state: _State, force: bool) -> ParseInfo:
        try:
            state.info = await self._check(repo, state.info, force)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # never let one repo stop the server or the loop
            log.exception("config repo %s: unexpected failure", repo.id)
            url = fetch_url(repo.material) if isinstance(repo.material, GitMaterialConfig) else ""
            message = git.mask_text(f"{type(error).__name__}: {error}", [url])
            state.info = replace(state.info, error=message)
        finally:
            state.in_progress = False
        self._report(repo, state.info)
        if state.again:
            state.again = False
            latest = self._config.stored.find_config_repo(repo.id)
            if latest is not None and self._states.get(repo.id.lower()) is state:
                self._start(latest, state, force=True)
        return state.info

    async def _check(self, repo: ConfigRepoConfig, info: ParseInfo, force: bool) -> ParseInfo:
        material = repo.material
        if not isinstance(material, GitMaterialConfig):
            return replace(info, error=f"Unsupported material type '{material.kind}'")
        cache = self._cache(repo.id)
        try:
            revision = await git.fetch_branch(fetch_url(material), material.effective_branch, cache)
            commit = await git.commit_info(cache, revision)
            latest = info.latest_parsed_modification
            if not force and latest is not None and latest.revision == revision and not info.error:
                return info
            paths = [
                p
                for p in await git.list_files(cache, revision)
                if not is_excluded(p) and matches(repo.file_pattern, p)
            ]
            raw = await git.read_files(cache, revision, sorted(paths))
        except GitError as error:
            return replace(info, error=str(error))
        files: list[tuple[str, str]] = []
        undecodable: list[str] = []
        for path, data in raw:
            try:
                files.append((path, data.decode("utf-8")))
            except UnicodeDecodeError:
                undecodable.append(f"{path}: cannot read file: not UTF-8 text")
        if undecodable:
            return ParseInfo(commit, info.good_modification, "\n".join(undecodable))
        result: ParseResult = await asyncio.to_thread(parse_files, files, repo_id=repo.id)
        if result.errors:
            return ParseInfo(commit, info.good_modification, _error_text(result.errors))
        errors = await self._config.apply_config_repo_parse(
            repo.id,
            revision,
            [_resolve_own_material(p, material) for p in result.pipelines],
            result.environments,
            result.source_map,
        )
        if errors:
            return ParseInfo(commit, info.good_modification, _error_text(errors))
        return ParseInfo(commit, commit, None)

    def _report(self, repo: ConfigRepoConfig, info: ParseInfo) -> None:
        scope = self._scope(repo.id)
        if info.error is None:
            self._health.clear(scope)
            return
        what = (
            material_description(repo.material)
            if isinstance(repo.material, GitMaterialConfig)
            else repo.id
        )
        self._health.error(
            scope,
            f"Parsing configuration repository using Plugin {repo.plugin_id} failed for "
            f"material: {what}",
            info.error,
        )
        log.warning("config repo %s: %s", repo.id, info.error)


def _resolve_own_material(pipeline: PipelineConfig, own: GitMaterialConfig) -> PipelineConfig:
    """`type: configrepo` stands for the config repo's own material (GoCD clones it, keeping
    the name, destination and filter given in the file)."""
    if not any(isinstance(m, ConfigRepoMaterialConfig) for m in pipeline.materials):
        return pipeline
    return replace(
        pipeline,
        materials=tuple(
            replace(own, name=m.name, destination=m.destination, filter=m.filter)
            if isinstance(m, ConfigRepoMaterialConfig)
            else m
            for m in pipeline.materials
        ),
    )


def _error_text(errors: object) -> str:
    assert isinstance(errors, (list, tuple))
    count = len(errors)
    lines = "\n".join(str(e) for e in errors)
    return f"{count} error{'s' if count != 1 else ''}:\n{lines}" if count else ""


def _absolute_if_local(url: str) -> str:
    """A local path (no scheme, not `host:path`) becomes absolute, so the id and the cache
    do not depend on the folder the server was started from."""
    if "://" in url or re.match(r"^[\w.-]+@[\w.-]+:", url):
        return url
    path = Path(url).expanduser()
    return str(path.resolve()) if path.exists() else url


def _derived_id(url: str, spec: str) -> str:
    tail = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    if tail.endswith(".git"):
        tail = tail[: -len(".git")]
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", tail).strip("-.") or "config-repo"
    _, _, branch = spec.partition("#")
    if branch:
        cleaned = f"{cleaned}-{re.sub(r'[^A-Za-z0-9_.-]', '-', branch)}"
    return cleaned[:255]
