"""The agent protocol over HTTP (`/go/api/agent/...`), messages in `pygocd.protocol.messages`.

No GoCD `Accept` header here: this is our own protocol. Every call but `register` needs
`X-Agent-UUID` and `Authorization: Bearer <token>` (401 without, 403 when wrong), and every
call names the protocol version in `X-Pygocd-Agent-Protocol`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from pygocd.domain.agents import Agent
from pygocd.domain.errors import Conflict, InvalidTransition, NotFound
from pygocd.domain.runs import JobIdentifier, JobInstance
from pygocd.domain.states import AgentConfigState, AgentRuntimeStatus, JobResult, JobState
from pygocd.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    SUPPORTED_PROTOCOL_VERSIONS,
    UUID_HEADER,
)
from pygocd.protocol import messages as wire
from pygocd.services.agents import AgentAuthError, AgentService, Registration
from pygocd.services.artifacts import ArtifactService, ForbiddenPath, OffsetMismatch, safe_path
from pygocd.services.assignment import AssignmentService, next_event
from pygocd.services.events import AGENT_CHANGED, JOB_CHANGED
from pygocd.services.jobs import JobFate, JobService, NotYourJob, ReportOutcome
from pygocd.services.registry import Services
from pygocd.services.work import WorkBuilder

log = logging.getLogger("pygocd.agent_api")

router = APIRouter(prefix="/api/agent", tags=["agent protocol"], include_in_schema=False)

MAX_WAIT_SECONDS = 30.0


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


T = TypeVar("T")


def _need(value: T | None) -> T:
    if value is None:
        raise HTTPException(503, "Agents are not available on this server.")
    return value


def agents(request: Request) -> AgentService:
    return _need(_services(request).agents)


def check_protocol(
    version: Annotated[str | None, Header(alias=PROTOCOL_HEADER)] = None,
) -> None:
    if version not in {str(v) for v in SUPPORTED_PROTOCOL_VERSIONS}:
        raise HTTPException(
            400,
            f"This server speaks agent protocol {PROTOCOL_VERSION}; "
            f"the agent sent {version or 'none'}. Upgrade the agent or the server.",
        )


async def current_agent(
    request: Request,
    _protocol: Annotated[None, Depends(check_protocol)],
    uuid: Annotated[str | None, Header(alias=UUID_HEADER)] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Agent:
    token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
    try:
        return await agents(request).authenticate(uuid, token)
    except AgentAuthError as error:
        raise HTTPException(error.status, error.message) from None


CurrentAgent = Annotated[Agent, Depends(current_agent)]


def _wait_cap(request: Request, wanted: float) -> float:
    lost_after = agents(request).lost_contact_seconds
    return max(0.0, min(wanted, MAX_WAIT_SECONDS, lost_after / 3))


def _reply(message: wire.Message, status: int = 200) -> JSONResponse:
    return JSONResponse(message.model_dump(mode="json"), status_code=status)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


# -- registration, liveness, work ----------------------------------------------------------


@router.post("/register", dependencies=[Depends(check_protocol)])
async def register(request: Request, body: wire.RegisterRequest) -> JSONResponse:
    agent, token = await agents(request).register(
        Registration(
            uuid=body.uuid,
            hostname=body.hostname,
            ip_address=_client_ip(request),
            location=body.location,
            operating_system=body.operating_system,
            agent_version=body.agent_version,
            free_space=body.free_space,
            auto_register_key=body.auto_register_key,
            resources=tuple(body.resources),
            environments=tuple(body.environments),
        )
    )
    return _reply(
        wire.Registered(uuid=agent.uuid, token=token, config_state=agent.config_state.value)
    )


@router.post("/ping")
async def ping(request: Request, agent: CurrentAgent, body: wire.Ping) -> JSONResponse:
    service = agents(request)
    runtime = AgentRuntimeStatus(body.runtime_status)
    await service.heartbeat(
        agent.uuid, runtime, free_space=body.free_space, ip_address=_client_ip(request)
    )
    cancel = kill = False
    if body.job_id is not None and runtime is AgentRuntimeStatus.CANCELLED:
        # The agent is cancelling the job: hold the ping until an admin asks for a kill.
        cancel = True
        kill = service.kill_requested(agent.uuid) or await _wait_for_kill(
            request, service, agent.uuid, _wait_cap(request, body.wait_seconds)
        )
    elif body.job_id is not None:
        jobs = _need(_services(request).jobs)
        # Held, the ping reads the job once it listens, so no change slips between the two.
        fate = (
            await _wait_for_fate(
                request, jobs, body.job_id, agent.uuid, _wait_cap(request, body.wait_seconds)
            )
            if body.wait_seconds > 0
            else await jobs.fate(body.job_id, agent.uuid)
        )
        cancel = fate is JobFate.STOP
        if cancel:  # GoCD marks the agent Cancelled when its job is (`notifyJobCancelledEvent`)
            await service.heartbeat(agent.uuid, AgentRuntimeStatus.CANCELLED)
    return _reply(
        wire.PingReply(
            config_state=agent.config_state.value, cancel_job=cancel, kill_running_tasks=kill
        )
    )


async def _wait_for_kill(request: Request, service: AgentService, uuid: str, wait: float) -> bool:
    bus = _services(request).bus
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    async with bus.subscribe(AGENT_CHANGED) as events:
        while not service.kill_requested(uuid):
            event = await next_event(events, deadline - loop.time(), _stopping(request))
            if event is None:
                return False
    return True


async def _wait_for_fate(
    request: Request, jobs: JobService, job_id: int, uuid: str, wait: float
) -> JobFate:
    bus = _services(request).bus
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    async with bus.subscribe(JOB_CHANGED) as events:
        fate = await jobs.fate(job_id, uuid)
        while fate is JobFate.RUNNING:
            event = await next_event(events, deadline - loop.time(), _stopping(request))
            if event is None:
                break
            if event.payload.get("job_id") == job_id and event.payload.get("state") in _ENDED:
                fate = await jobs.fate(job_id, uuid)
    return fate


_ENDED = {JobState.COMPLETED.value, JobState.RESCHEDULED.value}
"""Job states that decide a held ping; other changes are the agent's own reports."""


def _stopping(request: Request) -> asyncio.Event | None:
    """Set by the server when it shuts down, so held requests answer at once."""
    stopping: asyncio.Event | None = getattr(request.app.state, "stopping", None)
    return stopping


@router.post("/work")
async def work(request: Request, agent: CurrentAgent, body: wire.WorkRequest) -> JSONResponse:
    service = agents(request)
    assignment: AssignmentService = _need(_services(request).assignment)
    builder: WorkBuilder = _need(_services(request).work)
    runtime = AgentRuntimeStatus(body.runtime_status)
    await service.heartbeat(
        agent.uuid, runtime, free_space=body.free_space, ip_address=_client_ip(request)
    )
    if agent.config_state is not AgentConfigState.ENABLED:
        return _reply(wire.NoWork(reason=agent.config_state.value))
    if runtime is AgentRuntimeStatus.IDLE:
        await service.reschedule_leftovers(agent.uuid)
    claimed = await assignment.wait_for_work(
        agent.uuid, _wait_cap(request, body.wait_seconds), _stopping(request)
    )
    if claimed is None:
        await service.heartbeat(agent.uuid, runtime)
        return _reply(wire.NoWork())
    job, _identifier = claimed
    assert job.id is not None
    server_url = f"{str(request.base_url).rstrip('/')}/go"
    try:
        message = await builder.build(job.id, await service.get(agent.uuid), server_url)
    except NotFound as error:
        log.warning("cannot build work for job %s: %s; cancelling it", job.id, error)
        await _need(_services(request).jobs).cancel(job.id)
        return _reply(wire.NoWork(reason=str(error)))
    return _reply(message)


# -- job reports, console, artifacts -------------------------------------------------------


async def _own_job(
    request: Request, job_id: int, agent: Agent
) -> tuple[JobInstance, JobIdentifier]:
    jobs = _need(_services(request).jobs)
    try:
        job, identifier = await jobs.get(job_id, with_transitions=False)
    except NotFound as error:
        raise HTTPException(404, error.message) from None
    if job.agent_uuid != agent.uuid:
        raise HTTPException(403, f"Job {job_id} is not assigned to this agent.")
    return job, identifier


@router.post("/jobs/{job_id}/status")
async def report(
    request: Request, job_id: int, agent: CurrentAgent, body: wire.JobReport
) -> JSONResponse:
    jobs = _need(_services(request).jobs)
    try:
        outcome = await jobs.report_steps(
            job_id,
            agent.uuid,
            [
                (JobState(step.state), JobResult(step.result) if step.result else None)
                for step in (*body.earlier, wire.JobStep(state=body.state, result=body.result))
            ],
        )
    except NotYourJob as error:
        raise HTTPException(403, error.message) from None
    except InvalidTransition as error:
        raise HTTPException(409, error.message) from None
    return _reply(wire.JobReportReply(applied=outcome is ReportOutcome.APPLIED))


def _artifacts(request: Request) -> ArtifactService:
    return _need(_services(request).artifacts)


@router.put("/jobs/{job_id}/console")
@router.post("/jobs/{job_id}/console")
async def console(request: Request, job_id: int, agent: CurrentAgent, offset: int = 0) -> Response:
    job, identifier = await _own_job(request, job_id, agent)
    if offset < 0:
        raise HTTPException(400, "offset must not be negative")
    try:
        size = await _artifacts(request).append_console(
            identifier.locator, offset, request.stream()
        )
    except OffsetMismatch as error:
        return _reply(wire.ConsoleAppended(size=error.size), status=409)
    cancelled = job.ignored or not job.state.is_active
    return _reply(wire.ConsoleAppended(size=size, cancelled=cancelled))


async def _upload_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(64 * 1024):
        yield chunk


@router.post("/jobs/{job_id}/artifacts")
async def upload(request: Request, job_id: int, agent: CurrentAgent) -> JSONResponse:
    _job, identifier = await _own_job(request, job_id, agent)
    async with request.form(max_files=1, max_fields=10) as form:
        file = form.get("file")
        path = form.get("path")
        md5 = form.get("md5")
        if not isinstance(file, UploadFile) or not isinstance(path, str):
            raise HTTPException(
                400, "Invalid request: a 'file' part and a 'path' field are needed."
            )
        try:
            stored, size = await _artifacts(request).upload(
                identifier.locator,
                path,
                _upload_chunks(file),
                md5 if isinstance(md5, str) and md5 else None,
            )
        except ForbiddenPath as error:
            raise HTTPException(403, error.message) from None
        except Conflict as error:
            raise HTTPException(409, error.message) from None
    return _reply(wire.ArtifactUploaded(path=stored, size=size), status=201)


@router.get("/files/{pipeline}/{counter}/{stage}/{stage_counter}/{job}/{path:path}")
async def download(
    request: Request,
    pipeline: str,
    counter: int,
    stage: str,
    stage_counter: int,
    job: str,
    path: str,
    _agent: CurrentAgent,
    listing: Annotated[bool, Query(alias="list")] = False,
    sha1: str | None = None,
) -> Response:
    artifacts = _artifacts(request)
    locator = f"{pipeline}/{counter}/{stage}/{stage_counter}/{job}"
    try:
        clean = safe_path(path, allow_empty=True)
    except ForbiddenPath as error:
        raise HTTPException(403, error.message) from None
    kind = await artifacts.store.kind(locator, clean)
    if kind is None:
        raise HTTPException(404, f"Artifact '{path}' is unavailable.")
    if listing:
        checksums = await artifacts.checksums(locator)
        entries = [
            wire.ArtifactEntry(path=name, size=size, md5=checksums.get(name))
            for name, size in await artifacts.store.files(locator, clean)
        ]
        return _reply(wire.ArtifactListing(entries=entries))
    if kind != "file":
        raise HTTPException(404, f"Artifact '{path}' is a folder; list it instead.")
    if await artifacts.not_modified(locator, clean, sha1):
        return Response(status_code=304)
    return StreamingResponse(
        artifacts.store.read(locator, clean), media_type="application/octet-stream"
    )
