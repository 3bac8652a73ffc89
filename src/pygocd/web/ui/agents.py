"""The agents page (`/go/agents`): GoCD's static-agents table with its filter, counts, bulk
Enable / Disable / Delete, the Resources and Environments drop-downs, and pending agents to
approve (Enable). Live: the table is re-rendered and pushed over SSE when an agent changes
(`AGENT_CHANGED`) or a job moves (an agent starts or stops building).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sse_starlette.sse import EventSourceResponse

from pygocd.domain.agents import Agent
from pygocd.domain.errors import DomainError, Invalid
from pygocd.domain.states import AgentConfigState, AgentRuntimeStatus
from pygocd.services.agents import AgentService, AgentUpdate
from pygocd.services.events import AGENT_CHANGED, JOB_CHANGED
from pygocd.services.registry import Services
from pygocd.web.ui.actions import act
from pygocd.web.ui.dashboard import job_url, services_of
from pygocd.web.ui.live import fragment_stream, sse
from pygocd.web.ui.pages import PageContext, render_fragment, render_page

router = APIRouter()

NONE_SPECIFIED = "none specified"


@dataclass(frozen=True, slots=True)
class BuildingJob:
    pipeline: str
    stage: str
    job: str
    url: str


@dataclass(frozen=True, slots=True)
class AgentRow:
    uuid: str
    hostname: str
    sandbox: str
    operating_system: str
    ip_address: str
    status: str
    free_space: str
    resources: tuple[str, ...]
    environments: tuple[str, ...]
    building: BuildingJob | None = None

    @property
    def kind(self) -> str:
        """The row's look: building (tinted), disabled (grey italic), pending, or ''."""
        if self.status.startswith("Disabled"):
            return "disabled"
        if self.building is not None:
            return "building"
        return "pending" if self.status == "Pending" else ""

    @property
    def search_text(self) -> str:
        """What the filter box matches, as GoCD's text filter across columns."""
        return " ".join(
            (
                self.hostname,
                self.sandbox,
                self.operating_system,
                self.ip_address,
                self.status,
                self.free_space,
                *self.resources,
                *self.environments,
            )
        ).lower()


@dataclass(frozen=True, slots=True)
class AgentCounts:
    total: int = 0
    pending: int = 0
    enabled: int = 0
    disabled: int = 0


@dataclass(frozen=True, kw_only=True)
class AgentsContext(PageContext):
    rows: Sequence[AgentRow] = ()
    counts: AgentCounts = field(default_factory=AgentCounts)
    resources: Sequence[str] = ()
    environments: Sequence[str] = ()
    available: bool = True


def human_size(size: int | None) -> str:
    """GoCD's free space: `29.97 GB` (1024-based), `Unknown` when the agent has not said."""
    if size is None or size < 0:
        return "Unknown"
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} TB"  # pragma: no cover - loop always returns


async def agent_row(service: AgentService, agent: Agent) -> AgentRow:
    status = agent.status
    building = None
    if agent.runtime_status is AgentRuntimeStatus.BUILDING:
        found = await service.building(agent.uuid)
        if found is not None:
            job, at = found
            building = BuildingJob(
                at.pipeline_name,
                at.stage_name,
                job.name,
                job_url(
                    at.pipeline_name,
                    at.pipeline_counter,
                    at.stage_name,
                    at.stage_counter,
                    at.job_name,
                ),
            )
        elif agent.is_enabled:
            status = AgentRuntimeStatus.IDLE.value  # the job ended before the agent said so
    return AgentRow(
        uuid=agent.uuid,
        hostname=agent.hostname,
        sandbox=agent.location or "",
        operating_system=agent.operating_system or "",
        ip_address=agent.ip_address,
        status=status,
        free_space=human_size(agent.free_space),
        resources=agent.resources,
        environments=agent.environments,
        building=building,
    )


async def agents_context(services: Services) -> AgentsContext:
    if services.agents is None:
        return AgentsContext(title="Agents", active="agents", path="/go/agents", available=False)
    agents = await services.agents.all()
    rows = [await agent_row(services.agents, a) for a in agents]
    config = services.config.current
    resources = {r.lower(): r for a in agents for r in a.resources}
    for pipeline in config.all_pipelines():
        for stage in pipeline.stages:
            for job in stage.jobs:
                for resource in job.resources:
                    resources.setdefault(resource.lower(), resource)
    environments = {e.name.lower(): e.name for e in config.environments}
    for a in agents:
        for e in a.environments:
            environments.setdefault(e.lower(), e)
    states = [a.config_state for a in agents]
    return AgentsContext(
        title="Agents",
        active="agents",
        path="/go/agents",
        rows=rows,
        counts=AgentCounts(
            total=len(agents),
            pending=states.count(AgentConfigState.PENDING),
            enabled=states.count(AgentConfigState.ENABLED),
            disabled=states.count(AgentConfigState.DISABLED),
        ),
        resources=sorted(resources.values(), key=str.lower),
        environments=sorted(environments.values(), key=str.lower),
    )


@router.get("/agents", name="ui.agents")
async def agents_page(request: Request) -> HTMLResponse:
    return render_page(request, "agents.html", await agents_context(services_of(request)))


def render_agents(page: AgentsContext) -> str:
    """The live part of the page (counts, drop-down choices, table), marked for an
    out-of-band swap."""
    return render_fragment("agents/_live.html", page=page, oob=True)


@router.get("/ui/events/agents")
async def agents_events(request: Request) -> EventSourceResponse:
    services = services_of(request)

    async def render(_names: set[str] | None) -> str:
        return render_agents(await agents_context(services))

    # The page is small, so the stream always starts with a fresh copy: a change between
    # rendering the page and connecting (an agent registering) is never missed.
    return sse(
        request,
        fragment_stream(services.bus, render, topics=(AGENT_CHANGED, JOB_CHANGED), resume=True),
    )


def _values(form: object, key: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    if getlist is None:
        return []
    return [v.strip() for v in getlist(key) if isinstance(v, str) and v.strip()]


def _merge(
    current: tuple[str, ...], shown: list[str], checked: list[str], keep: list[str]
) -> tuple[str, ...]:
    """GoCD's tri-state apply: a checked value is added, an unchecked one removed, an
    indeterminate one (`keep`) left as each agent has it; values not offered stay."""
    offered = {v.lower() for v in shown} | {v.lower() for v in checked}
    kept = {v.lower() for v in keep}
    out = [v for v in current if v.lower() not in offered or v.lower() in kept]
    out += checked
    return tuple(out)


async def apply(services: Services, form: object) -> str:
    if services.agents is None:
        raise DomainError("Agents are not available on this server.")
    uuids = _values(form, "uuid")
    op = next(iter(_values(form, "op")), "")
    if not uuids:
        raise Invalid("Select at least one agent.")
    agents = services.agents
    if op in ("enable", "disable"):
        state = AgentConfigState.ENABLED if op == "enable" else AgentConfigState.DISABLED
        for uuid in uuids:
            await agents.update(uuid, AgentUpdate(config_state=state))
        return f"{op.capitalize()}d {len(uuids)} agent(s)"
    if op == "delete":
        for uuid in uuids:
            await agents.delete(uuid)
        return f"Deleted {len(uuids)} agent(s)"
    if op in ("resources", "environments"):
        kind = op.removesuffix("s")  # the drop-down's fields: resource, resource_shown, ...
        checked = _values(form, kind) + _values(form, f"{kind}_new")
        shown, keep = _values(form, f"{kind}_shown"), _values(form, f"{kind}_keep")
        for uuid in uuids:
            agent = await agents.get(uuid)
            if op == "resources":
                change = AgentUpdate(resources=_merge(agent.resources, shown, checked, keep))
            else:
                merged = _merge(agent.environments, shown, checked, keep)
                change = AgentUpdate(environments=merged)
            await agents.update(uuid, change)
        return f"{op.capitalize()} modified on {len(uuids)} agent(s)"
    raise Invalid(f"Unknown operation '{op}'.")


@router.post("/ui/agents")
async def agents_action(request: Request) -> Response:
    services = services_of(request)
    form = await request.form()

    async def run() -> str:
        return await apply(services, form)

    return await act(request, run)
