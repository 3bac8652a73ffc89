"""Agents API v7 (`/go/api/agents`) and agent job run history v1, GoCD's `AgentsControllerV7`.

Everything an admin changes goes through PATCH (enable/disable, resources, environments,
hostname), for one agent or, with `uuids` and add/remove operations, for several at once;
DELETE (one, or `uuids` in the body) needs Disabled agents that are not building, as in GoCD.
`kill_running_tasks` hard-kills what still runs of a cancelled job (a hanging on_cancel).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.domain.agents import Agent
from pygocd.domain.errors import NotFound
from pygocd.domain.runs import JobIdentifier, JobInstance
from pygocd.domain.states import AgentConfigState
from pygocd.services.agents import (
    AgentService,
    AgentUpdate,
    BulkAgentUpdate,
    KillNotApplicable,
    PendingAgentsNeedState,
)
from pygocd.web.api.representers import iso_time
from pygocd.web.api.requests import json_body
from pygocd.web.api.requests import message as rejected
from pygocd.web.api.versioning import NO_CACHE, accepts, media_type, versioned_response

VERSION = 7
Response7 = versioned_response(VERSION)
Response1 = versioned_response(1)
DOC = "https://api.gocd.org/current/#agents"
NO_OPERATION = "Bad Request. No operation is specified in the request to be performed on agent."
NO_BULK_OPERATION = (
    "Bad Request. No operation is specified in the request to be performed on agents."
)
BAD_STATE = "The value of `agent_config_state` can be one of `Enabled`, `Disabled` or null."

router = APIRouter(prefix="/api/agents", tags=["agents"])

Json = dict[str, Any]


def service(request: Request) -> AgentService:
    found: AgentService | None = request.app.state.services.agents
    if found is None:
        raise NotFound("Agents are not available on this server.")
    return found


def base_url(request: Request) -> str:
    site = getattr(request.app.state.settings, "site_url", None)
    return str(site or request.base_url).rstrip("/")


def agent_json(
    agent: Agent,
    base: str,
    known_environments: set[str],
    building: tuple[JobInstance, JobIdentifier] | None = None,
) -> Json:
    href = f"{base}/go/api/agents/{agent.uuid}"
    body: Json = {
        "_links": {
            "self": {"href": href},
            "doc": {"href": DOC},
            "find": {"href": f"{base}/go/api/agents/:uuid"},
        },
        "uuid": agent.uuid,
        "hostname": agent.hostname,
        "ip_address": agent.ip_address,
        "sandbox": agent.location or "",
        "operating_system": agent.operating_system or "",
        "agent_config_state": agent.config_state.value,
        "agent_state": agent.runtime_status.agent_state,
        "agent_version": agent.agent_version or "",
        "agent_bootstrapper_version": agent.agent_version or "",
        "environments": [
            {
                "name": name,
                "origin": {"type": "gocd" if name.lower() in known_environments else "unknown"},
            }
            for name in sorted(agent.environments, key=str.lower)
        ],
        "build_state": agent.runtime_status.build_state,
        "free_space": agent.free_space if agent.free_space is not None else "unknown",
        "resources": sorted(agent.resources, key=str.lower),
    }
    if building is not None:
        _job, identifier = building
        pipeline = f"{base}/go/pipeline/activity/{identifier.pipeline_name}"
        body["build_details"] = {
            "_links": {
                "job": {"href": f"{base}/go/tab/build/detail/{identifier.locator}"},
                "stage": {"href": f"{base}/go/pipelines/{identifier.stage_locator}"},
                "pipeline": {"href": pipeline},
            },
            "pipeline_name": identifier.pipeline_name,
            "stage_name": identifier.stage_name,
            "job_name": identifier.job_name,
        }
    return body


def _known_environments(request: Request) -> set[str]:
    config = request.app.state.services.config.current
    return {e.name.lower() for e in config.environments}


async def _one(request: Request, agent: Agent) -> Json:
    building = await service(request).building(agent.uuid)
    return agent_json(agent, base_url(request), _known_environments(request), building)


def message(text: str, status: int) -> Response:
    return Response7({"message": text}, status_code=status)


@router.get("", dependencies=[accepts(VERSION)], response_class=Response7)
async def list_agents(request: Request) -> Json:
    agents = await service(request).all()
    base = base_url(request)
    return {
        "_links": {"self": {"href": f"{base}/go/api/agents"}, "doc": {"href": DOC}},
        "_embedded": {"agents": [await _one(request, agent) for agent in agents]},
    }


@router.get("/{uuid}", dependencies=[accepts(VERSION)], response_class=Response7)
async def get_agent(request: Request, uuid: str) -> Json:
    return await _one(request, await service(request).get(uuid))


def _names(value: Any) -> tuple[str, ...] | None:
    """GoCD takes an array or a comma-separated string."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(v for v in (p.strip() for p in value.split(",")) if v)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError("must be an array of strings or a comma-separated string")


async def _body(request: Request, *, need_json_type: bool) -> Any:
    """The request's JSON ({} without a body, which GoCD takes here without a confirm)."""
    body = await json_body(request, need_confirm=False, need_json_type=need_json_type)
    return {} if body is None else body


def _config_state(value: Any) -> AgentConfigState | None:
    """GoCD's `toTriState`: blank is unset, else `Enabled` or `Disabled` in any case."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    wanted = str(value).lower() if isinstance(value, str) else ""
    if wanted not in ("enabled", "disabled"):
        raise rejected(BAD_STATE, 422)
    return AgentConfigState.ENABLED if wanted == "enabled" else AgentConfigState.DISABLED


def _strings(body: Json, key: str) -> tuple[str, ...]:
    """An optional array of strings at `body[key]`, with GoCD's 422 for anything else."""
    value = body.get(key)
    if value is None:
        return ()
    shown = json.dumps(body, separators=(",", ":"))
    if not isinstance(value, list):
        raise rejected(f"Could not read property '{key}' as a JsonArray in json `{shown}`", 422)
    if not all(isinstance(v, str) for v in value):
        raise rejected(
            f"Could not read property '{key}' as a JsonArray containing string in `{shown}`", 422
        )
    return tuple(value)


def _operation(operations: Json, key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    value = operations.get(key)
    if value is None:
        return (), ()
    if not isinstance(value, dict):
        shown = json.dumps(operations, separators=(",", ":"))
        raise rejected(f"Could not read property '{key}' as a JsonObject in json `{shown}`", 422)
    return _strings(value, "add"), _strings(value, "remove")


@router.patch("/{uuid}", dependencies=[accepts(VERSION)])
async def update_agent(request: Request, uuid: str) -> Response:
    body = await _body(request, need_json_type=True)
    if not isinstance(body, dict):
        return message(NO_OPERATION, 400)
    state = _config_state(body.get("agent_config_state"))
    try:
        resources = _names(body.get("resources"))
        environments = _names(body.get("environments"))
    except ValueError as error:
        return message(f"Your request could not be processed. {error}", 422)
    hostname = body.get("hostname")
    if hostname is not None and not isinstance(hostname, str):
        return message("Your request could not be processed. hostname must be a string", 422)
    change = AgentUpdate(
        hostname=hostname, config_state=state, resources=resources, environments=environments
    )
    if change == AgentUpdate():
        return message(NO_OPERATION, 400)
    agent = await service(request).update(uuid, change)
    return Response7(await _one(request, agent))


@router.patch("", dependencies=[accepts(VERSION)])
async def bulk_update_agents(request: Request) -> Response:
    """GoCD's bulk update: `uuids`, `operations.{resources,environments}.{add,remove}` and
    `agent_config_state`, applied to every agent or to none."""
    body = await _body(request, need_json_type=True)
    if not isinstance(body, dict):
        body = {}
    uuids = _strings(body, "uuids")
    if not uuids:
        return message("Must specify agent 'uuids' for bulk update.", 422)
    state = _config_state(body.get("agent_config_state"))
    operations = body.get("operations")
    if operations is None:
        operations = {}
    if not isinstance(operations, dict):
        shown = json.dumps(body, separators=(",", ":"))
        return message(
            f"Could not read property 'operations' as a JsonObject in json `{shown}`", 422
        )
    add_environments, remove_environments = _operation(operations, "environments")
    add_resources, remove_resources = _operation(operations, "resources")
    change = BulkAgentUpdate(
        uuids=uuids,
        config_state=state,
        add_resources=add_resources,
        remove_resources=remove_resources,
        add_environments=add_environments,
        remove_environments=remove_environments,
    )
    if not change.has_operation:
        return message(NO_BULK_OPERATION, 400)
    try:
        await service(request).bulk_update(change)
    except PendingAgentsNeedState as error:
        return message(error.message, 400)
    return message(f"Updated agent(s) with uuid(s): [{', '.join(uuids)}].", 200)


@router.post(
    "/{uuid}/kill_running_tasks",
    dependencies=[accepts(VERSION)],
    status_code=202,
    summary="Kill what still runs of a cancelled job on the agent (GoCD's kill_running_tasks)",
)
async def kill_running_tasks(request: Request, uuid: str) -> Response:
    """GoCD answers 202 with an empty body; 409 unless the agent is cancelling a job."""
    await json_body(request)
    try:
        await service(request).kill_running_tasks(uuid)
    except KillNotApplicable as error:
        return message(error.message, 409)
    return Response(
        status_code=202,
        headers={"content-type": f"{media_type(VERSION)};charset=utf-8", "cache-control": NO_CACHE},
    )


@router.delete("/{uuid}", dependencies=[accepts(VERSION)])
async def delete_agent(request: Request, uuid: str) -> Response:
    await service(request).delete(uuid)
    return message("Deleted 1 agent(s).", 200)


@router.delete("", dependencies=[accepts(VERSION)])
async def bulk_delete_agents(request: Request) -> Response:
    """GoCD's bulk delete: `{"uuids": [...]}`; no body or an empty list deletes nothing."""
    body = await _body(request, need_json_type=False)
    uuids = _strings(body, "uuids") if isinstance(body, dict) else ()
    deleted = await service(request).delete_many(list(uuids))
    return message(f"Deleted {deleted} agent(s).", 200)


SORTABLE = {"pipeline", "stage", "job", "result", "completed"}


@router.get("/{uuid}/job_run_history", dependencies=[accepts(1)])
async def job_run_history(
    request: Request,
    uuid: str,
    offset: int = 0,
    page_size: int = 50,
    sort_column: str = "completed",
    sort_order: str = "DESC",
) -> Response:
    if offset < 0:
        return Response1({"message": "The query parameter 'offset' must be >= 0."}, 400)
    if not 10 <= page_size <= 100:
        return Response1(
            {
                "message": "The query parameter 'page_size', if specified must be a number "
                "between 10 and 100."
            },
            400,
        )
    if sort_column not in SORTABLE or sort_order.upper() not in ("ASC", "DESC"):
        return Response1({"message": "Invalid sort column or order."}, 400)
    found, total = await service(request).job_history(uuid, offset, page_size)
    if sort_order.upper() == "ASC":
        found = list(reversed(found))
    base = base_url(request)
    return Response1(
        {
            "_links": {"self": {"href": f"{base}/go/api/agents/{uuid}/job_run_history"}},
            "uuid": uuid,
            "jobs": [
                {
                    "job_state_transitions": [
                        {"state_change_time": iso_time(t.changed_at), "state": t.state.value}
                        for t in job.transitions
                    ],
                    "job_name": identifier.job_name,
                    "stage_name": identifier.stage_name,
                    "stage_counter": str(identifier.stage_counter),
                    "pipeline_name": identifier.pipeline_name,
                    "pipeline_counter": identifier.pipeline_counter,
                    "result": job.result.value,
                    "rerun": job.rerun,
                }
                for job, identifier in found
            ],
            "pagination": {"page_size": page_size, "offset": offset, "total": total},
        }
    )
