"""Running one `Work`, as GoCD's `BuildWork` does.

Preparing: clean the working folder if asked, check each material out at the instance's
revision. Building: tasks in order, each run when its `run_if` matches the job's result so
far; exec without a shell, script with `sh -c`. A cancel kills the running task's process
group, runs its `on_cancel` task and skips the rest. Completing: upload artifacts with their
MD5. Completed: the result. The console shows GoCD's tagged lines, secrets masked.

State reports never hold the job up: each goes out at once, and those made while one is on its
way go together in the next call (protocol 2). A job with no artifacts has nothing to do while
Completing, so it reports Completing with Completed, once its whole console is on the server:
a short job makes two reports, Preparing (+ Building), then Completing + Completed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from pygocd.agent import console as tags
from pygocd.agent import test_reports
from pygocd.agent.client import NotModified, Rejected, ServerClient
from pygocd.agent.console import Console, mask
from pygocd.agent.process import KILL_GRACE_SECONDS, run_command
from pygocd.protocol import messages as wire

log = logging.getLogger("pygocd.agent")

PASSED, FAILED, CANCELLED = "Passed", "Failed", "Cancelled"
PING_WAIT_SECONDS = 20.0


class JobRunner:
    def __init__(self, client: ServerClient, work_dir: Path, work: wire.Work) -> None:
        self.client = client
        self.work = work
        self.work_dir = work_dir
        self.root = work_dir / work.working_directory
        self.cancelled = asyncio.Event()
        self.killed = asyncio.Event()
        """An admin asked to kill what still runs after a cancel (GoCD's kill_running_tasks)."""
        self.env = {**os.environ, **{v.name: v.value for v in work.environment}}
        self.secrets = [v.value for v in work.environment if v.secure and v.value]
        self.secrets += [m.url for m in work.materials if "@" in m.url]
        self.console = Console(self._send, self.secrets, on_cancelled=self.cancelled.set)
        self.reports = Reports(client, work.job_id, on_refused=self.cancelled.set)

    async def _send(self, offset: int, data: bytes) -> tuple[int, bool]:
        reply = await self.client.append_console(self.work.job_id, offset, data)
        return reply.size, reply.cancelled

    # -- the whole job ----------------------------------------------------------------------

    async def run(self) -> str:
        self.console.start()
        watcher = asyncio.create_task(self._watch(), name="job-watcher")
        try:
            result = await self._run()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
        return result

    async def _run(self) -> str:
        work = self.work
        locator = work.job.locator
        self.reports.add("Preparing")
        self.console.line(
            tags.PREP,
            f"Start to prepare {locator} on {socket.gethostname()} [{self.root}]",
        )
        result = PASSED
        try:
            await self._prepare()
        except Exception as error:
            self.console.line(tags.PREP_ERROR, f"[go] Preparing the job failed: {error}")
            result = FAILED
        if result == PASSED and not self.cancelled.is_set():
            self._print_environment()
            self.reports.add("Building")
            result = await self._tasks()
        if self.cancelled.is_set():
            result = CANCELLED
        if result != CANCELLED and self.work.artifacts:
            self.reports.add("Completing", result)  # shown while the artifacts upload
            if not await self._publish():
                result = FAILED
        tag = tags.JOB_PASS if result == PASSED else tags.JOB_FAIL
        self.console.line(tag, f"[go] Current job status: {result.lower()}")
        self.console.line(tags.COMPLETED, f"[go] Job completed {locator} on {socket.gethostname()}")
        # The whole console is on the server before the job counts as done.
        await self.console.close()
        if result != CANCELLED:
            if not self.work.artifacts:  # nothing to upload: both go in one report
                self.reports.add("Completing", result)
            self.reports.add("Completed", result)
        await self.reports.drain()
        return result

    async def _watch(self) -> None:
        """Learn of a cancel at once: the server holds the ping until the job is cancelled
        (by a user, or by its console-silence timeout, which the server enforces). While
        cancelling, the agent pings as `Cancelled` and the server holds that ping until an
        admin asks to kill the running tasks. The first report's answer says whether the job
        was cancelled before it started, so the watch begins after it and the job's start
        is not slowed by a second request."""
        await self.reports.answered.wait()
        while not self.killed.is_set():
            status: wire.RuntimeStatus = "Cancelled" if self.cancelled.is_set() else "Building"
            try:
                reply = await self.client.ping(
                    wire.Ping(
                        runtime_status=status,
                        job_id=self.work.job_id,
                        wait_seconds=PING_WAIT_SECONDS,
                    )
                )
            except Exception as error:  # the server may be away; keep the job going
                log.debug("ping failed: %r", error)
                await asyncio.sleep(1.0)
                continue
            if reply.cancel_job and not self.cancelled.is_set():
                self.console.line(tags.NOTICE, "[go] The job was cancelled on the server")
                self.cancelled.set()
            if reply.kill_running_tasks:
                self.console.line(
                    tags.NOTICE, "[go] Killing all running tasks on this agent, as requested"
                )
                self.killed.set()

    # -- preparing --------------------------------------------------------------------------

    async def _prepare(self) -> None:
        work = self.work
        if work.unsupported_materials and work.fetch_materials:
            for problem in work.unsupported_materials:
                self.console.line(tags.PREP_ERROR, f"[go] {problem}")
            raise RuntimeError("this agent checks out git materials only")
        if work.clean_working_directory and self.root.exists():
            self.console.line(tags.PREP, f'Cleaning working directory "{self.root}"')
            await asyncio.to_thread(shutil.rmtree, self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        if not work.fetch_materials:
            self.console.line(
                tags.PREP,
                "Skipping material update since stage is configured not to fetch materials",
            )
            return
        for material in work.materials:
            await self._checkout(material)

    async def _checkout(self, material: wire.GitCheckout) -> None:
        target = _inside(self.root, material.destination or ".")
        shown = mask(material.url, self.secrets)
        self.console.line(
            tags.PREP,
            f"[go] Start updating {material.destination or 'files'} at revision "
            f"{material.revision} from {shown}",
        )
        if not (target / ".git").exists():
            target.mkdir(parents=True, exist_ok=True)
            await self._git(target, "init", "--quiet")
            await self._git(target, "remote", "add", "origin", material.url)
        else:
            await self._git(target, "remote", "set-url", "origin", material.url)
        depth = ["--depth", "1"] if material.shallow else []
        refspec = f"+refs/heads/{material.branch}:refs/remotes/origin/{material.branch}"
        await self._git(target, "fetch", "--quiet", *depth, "origin", refspec)
        if material.shallow and not await self._git(
            target, "cat-file", "-e", f"{material.revision}^{{commit}}", check=False
        ):
            await self._git(target, "fetch", "--quiet", "--unshallow", "origin", refspec)
        await self._git(target, "checkout", "--quiet", "--force", "--detach", material.revision)
        await self._git(target, "clean", "-dffq")
        self.console.line(tags.PREP, "[go] Done.")

    async def _git(self, cwd: Path, *args: str, check: bool = True) -> bool:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        process = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0 and check:
            text = mask(output.decode("utf-8", "replace").strip(), self.secrets)
            raise RuntimeError(f"git {args[0]} failed: {text}")
        return process.returncode == 0

    def _print_environment(self) -> None:
        for variable in self.work.environment:
            if variable.name.startswith("GO_"):
                continue
            value = tags.MASK if variable.secure else variable.value
            self.console.line(
                tags.NOTICE,
                f"[go] setting environment variable '{variable.name}' to value '{value}'",
            )

    # -- tasks ------------------------------------------------------------------------------

    async def _tasks(self) -> str:
        result = PASSED
        for task in self.work.tasks:
            if self.cancelled.is_set():
                break
            failed = result == FAILED
            if not ("any" in task.run_if or ("failed" if failed else "passed") in task.run_if):
                continue
            self.console.line(tags.TASK_START, f"[go] Task: {task.description or task.type}")
            started = time.monotonic()
            status = await self._task(task, self.cancelled)
            took = _took(time.monotonic() - started)
            if status is None:
                self.console.line(
                    tags.TASK_CANCELLED, f"[go] Task: {task.description} was cancelled"
                )
                await self._on_cancel(task)
                return CANCELLED
            if status:
                self.console.line(tags.TASK_PASS, f"[go] Task status: passed, took: {took}")
            else:
                self.console.line(tags.TASK_FAIL, f"[go] Task status: failed, took: {took}")
                result = FAILED
        return CANCELLED if self.cancelled.is_set() else result

    async def _on_cancel(self, task: wire.Task) -> None:
        cancel = task.on_cancel
        if cancel is None:
            return
        self.console.line(
            tags.CANCEL_TASK_START, f"[go] On Cancel Task: {cancel.description or cancel.type}"
        )
        # Only an admin's kill request stops an on_cancel task, and at once (no grace).
        status = await self._task(cancel, self.killed, grace=0.0)
        tag = tags.CANCEL_TASK_PASS if status else tags.CANCEL_TASK_FAIL
        self.console.line(tag, f"[go] On Cancel Task completed: {'passed' if status else 'failed'}")

    async def _task(
        self, task: wire.Task, cancelled: asyncio.Event, *, grace: float = KILL_GRACE_SECONDS
    ) -> bool | None:
        """True passed, False failed, None cancelled."""
        try:
            if isinstance(task, wire.ExecTask):
                argv = [task.command, *task.args]
                return await self._exec(argv, task.working_directory, cancelled, grace)
            if isinstance(task, wire.ScriptTask):
                argv = ["sh", "-c", task.script]
                return await self._exec(argv, task.working_directory, cancelled, grace)
            if isinstance(task, wire.FetchTask):
                return await self._fetch(task)
        except Exception as error:
            self.console.line(tags.ERR, f"[go] {error}")
            return False
        self.console.line(tags.ERR, f"[go] {task.description}")
        return False

    async def _exec(
        self,
        argv: list[str],
        working_directory: str | None,
        cancelled: asyncio.Event,
        grace: float = KILL_GRACE_SECONDS,
    ) -> bool | None:
        cwd = _inside(self.root, working_directory or ".")
        if not cwd.is_dir():
            self.console.line(tags.ERR, f'[go] Working directory "{cwd}" does not exist')
            return False

        async def sink(tag: str, text: str) -> None:
            await self.console.write(tag, text)

        try:
            code = await run_command(
                argv, cwd=str(cwd), env=self.env, sink=sink, cancelled=cancelled, grace=grace
            )
        except (FileNotFoundError, PermissionError) as error:
            self.console.line(tags.ERR, f"[go] Could not run {argv[0]}: {error.strerror or error}")
            return False
        return None if code is None else code == 0

    # -- fetch ------------------------------------------------------------------------------

    async def _fetch(self, task: wire.FetchTask) -> bool:
        if task.error or task.locator is None:
            self.console.line(tags.ERR, f"[go] {task.error or 'Nothing to fetch from'}")
            return False
        self.console.line(tags.OUT, f"[go] {task.description}")
        source = task.source.strip("/")
        try:
            listing = await self.client.listing(task.locator, source)
        except Rejected as error:
            self.console.line(tags.ERR, f"[go] Could not fetch {source}: {error.text}")
            return False
        destination = _inside(self.root, task.destination or ".")
        parent = str(PurePosixPath(source).parent)
        for entry in listing.entries:
            relative = entry.path if parent in ("", ".") else entry.path.removeprefix(parent + "/")
            target = _inside(destination, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                md5 = await self._download(task.locator, entry.path, target)
            except NotModified:
                # GoCD's FileHandler: the server answered 304 to the local copy's SHA-1.
                self.console.line(tags.OUT, "[go] Artifact is not modified, skipped fetching it")
                md5 = await asyncio.to_thread(_md5_of, target)
            if entry.md5 is None:
                self.console.line(
                    tags.OUT,
                    f"[go] Fetched {entry.path} without verifying the integrity of its content.",
                )
            elif entry.md5 != md5:
                self.console.line(
                    tags.ERR,
                    f"[go] Verification of the integrity of the artifact [{entry.path}] failed. "
                    "The artifact file on the server may have changed since its original upload.",
                )
                return False
        self.console.line(
            tags.OUT, f"[go] Fetched {len(listing.entries)} file(s) from {task.locator}"
        )
        return True

    async def _download(self, locator: str, path: str, target: Path) -> str:
        """Fetch into a side file and move it over `target`: a local copy stays whole until
        the new one has arrived. Returns the MD5 of what arrived."""
        sha1 = await asyncio.to_thread(_sha1_base64, target)
        partial = target.with_name(target.name + ".pygocd-part")
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with partial.open("wb") as out:
                async for chunk in self.client.download(locator, path, sha1=sha1):
                    digest.update(chunk)
                    out.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return digest.hexdigest()

    # -- artifacts --------------------------------------------------------------------------

    async def _publish(self) -> bool:
        """Build artifacts must match something; test artifacts may not, and what they match
        is merged into `testoutput/index.html` as well (GoCD's `ArtifactPlan`)."""
        ok = True
        test_matches: list[Path] = []
        for plan in self.work.artifacts:
            matches = _glob(self.root, plan.source)
            if not matches:
                if plan.type == "test":
                    self.console.line(
                        tags.PUBLISH_ERROR,
                        f"[go] The directory {self.root / plan.source.strip().lstrip('/')} "
                        "specified as a test artifact was not found. Please check your "
                        "configuration",
                    )
                    continue
                self.console.line(
                    tags.PUBLISH_ERROR,
                    f"[go] The rule [{plan.source}] cannot match any resource under [{self.root}]",
                )
                ok = False
                continue
            if plan.type == "test":
                test_matches += matches
            for match in matches:
                for file, relative in _files_of(match):
                    dest = "/".join(p for p in (plan.destination.strip("/"), relative) if p)
                    ok = await self._upload(file, dest) and ok
        if any(plan.type == "test" for plan in self.work.artifacts):
            ok = await self._publish_test_report(test_matches) and ok
        return ok

    async def _upload(self, file: Path, dest: str) -> bool:
        md5 = await asyncio.to_thread(_md5_of, file)
        try:
            await self.client.upload(self.work.job_id, dest, file, md5)
        except Rejected as error:
            self.console.line(tags.PUBLISH_ERROR, f"[go] Failed to upload {dest}: {error.text}")
            return False
        self.console.line(tags.PUBLISH, f"[go] Uploaded {dest}")
        return True

    async def _publish_test_report(self, matches: list[Path]) -> bool:
        if not matches:
            self.console.line(
                tags.PUBLISH_ERROR, "[go] No files were found in the Test Results folders"
            )
            return True
        skipped: list[str] = []
        report = await asyncio.to_thread(
            test_reports.merge, test_reports.report_files(matches), skipped.append
        )
        for line in skipped:
            self.console.line(tags.OUT, f"[go] {line}")
        with tempfile.TemporaryDirectory(prefix="pygocd-tests-") as folder:
            page = Path(folder) / test_reports.REPORT_FILE
            await asyncio.to_thread(page.write_text, test_reports.render(report), "utf-8")
            dest = f"{test_reports.REPORT_FOLDER}/{test_reports.REPORT_FILE}"
            return await self._upload(page, dest)


class Reports:
    """The job's state reports, in order and without waiting: a report made while another is
    on its way is sent with the next call, together with any others made meanwhile."""

    def __init__(self, client: ServerClient, job_id: int, on_refused: Callable[[], None]) -> None:
        self._client = client
        self._job_id = job_id
        self._on_refused = on_refused
        self._queued: list[wire.JobStep] = []
        self._sender: asyncio.Task[None] | None = None
        self.answered = asyncio.Event()

    def add(self, state: wire.JobStateName, result: str | None = None) -> None:
        self._queued.append(wire.JobStep.model_validate({"state": state, "result": result}))
        if self._sender is None or (self._sender.done() and self._sender.exception() is None):
            self._sender = asyncio.create_task(self._send_queued(), name="job-reports")

    async def drain(self) -> None:
        """Wait until every report has been answered; raise what sending raised."""
        while self._sender is not None:
            sender = self._sender
            await sender
            if sender is self._sender:  # nothing was queued after it had finished
                return

    async def _send_queued(self) -> None:
        while self._queued:
            steps, self._queued = self._queued, []
            last = steps[-1]
            reply = await self._client.report(
                self._job_id,
                wire.JobReport(state=last.state, result=last.result, earlier=steps[:-1]),
            )
            self.answered.set()
            if not reply.applied:
                self._on_refused()  # cancelled or rescheduled meanwhile: stop the job


def _inside(root: Path, relative: str) -> Path:
    """`root/relative`, refusing anything that would leave `root`."""
    if os.path.isabs(relative):
        raise ValueError(f"Path {relative} must be relative")
    target = (root / relative).resolve()
    base = root.resolve()
    if target != base and base not in target.parents:
        raise ValueError(f"Path {relative} is outside the working directory")
    return target


def _glob(root: Path, pattern: str) -> list[Path]:
    pattern = pattern.strip().lstrip("/")
    if not any(ch in pattern for ch in "*?["):
        candidate = root / pattern
        return [candidate] if candidate.exists() else []
    return sorted(root.glob(pattern))


def _files_of(match: Path) -> list[tuple[Path, str]]:
    """A matched file → itself under its name; a folder → its files under `folder/...`."""
    if match.is_file():
        return [(match, match.name)]
    found = []
    for folder, _dirs, names in os.walk(match):
        for name in sorted(names):
            file = Path(folder) / name
            found.append((file, f"{match.name}/{file.relative_to(match).as_posix()}"))
    return found


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _sha1_base64(path: Path) -> str | None:
    """GoCD's `FileHandler.sha1Digest` of a local copy (base64 of the raw SHA-1, not hex),
    None when there is no copy."""
    if not path.is_file():
        return None
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def _took(seconds: float) -> str:
    return f"{seconds:.3f}s"
