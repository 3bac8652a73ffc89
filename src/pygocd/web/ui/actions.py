"""The buttons of the pages: small form POSTs under `/go/ui/...` that call a service.

With htmx (`HX-Request`), the answer is a flash message fragment for the page's flash area
(GoCD's operation flash); a GoCD error becomes an alert message, never a 500. Without
JavaScript, the browser is sent back to the page it came from.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pygocd.domain.errors import DomainError
from pygocd.domain.runs import ANONYMOUS
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.scheduling import TriggerOptions
from pygocd.web.ui.dashboard import services_of
from pygocd.web.ui.pages import Flash, render_fragment

router = APIRouter()

# Security is not in place yet: operators act as GoCD's anonymous user.
USERNAME = ANONYMOUS


def flash_response(request: Request, flash: Flash) -> Response:
    if request.headers.get("HX-Request"):
        response = HTMLResponse(render_fragment("_flash.html", flash=flash))
        response.headers["X-Flash-Kind"] = flash.kind
        if flash.kind == "success":
            # A dialog's form shows errors inside the dialog; success goes to the page.
            response.headers["HX-Retarget"] = "#flash"
            response.headers["HX-Reswap"] = "afterbegin"
        return response
    back = request.headers.get("referer") or "/go/pipelines"
    return RedirectResponse(back, status_code=303)


async def act(request: Request, action: Callable[[], Awaitable[str]]) -> Response:
    try:
        message = await action()
    except DomainError as error:
        return flash_response(request, Flash("alert", error.message))
    return flash_response(request, Flash("success", message))


def _missing(what: str) -> DomainError:
    return DomainError(f"{what} is not available on this server.")


@router.post("/ui/pipelines/{pipeline}/trigger")
async def trigger(request: Request, pipeline: str) -> Response:
    services = services_of(request)

    async def run() -> str:
        if services.scheduling is None:
            raise _missing("Scheduling")
        instance = await services.scheduling.trigger_manual(pipeline, username=USERNAME)
        return f"Request to schedule pipeline {instance.name} accepted"

    return await act(request, run)


@router.post("/ui/pipelines/{pipeline}/trigger_with_options")
async def trigger_with_options(request: Request, pipeline: str) -> Response:
    services = services_of(request)
    form = await request.form()
    revisions: dict[str, str] = {}
    variables: list[EnvironmentVariable] = []
    config = services.config.current.runnable(pipeline)
    configured = {v.name: v for v in config.environment_variables} if config else {}
    for key, raw in form.multi_items():
        value = raw if isinstance(raw, str) else ""
        kind, _, name = key.partition(":")
        if kind == "material" and value.strip():
            revisions[name] = value.strip()
        elif kind == "var":
            known = configured.get(name)
            if known is None or known.value != value:
                variables.append(EnvironmentVariable(name=name, value=value))
        elif kind == "secure" and value:
            variables.append(EnvironmentVariable(name=name, value=value, secure=True))

    async def run() -> str:
        if services.scheduling is None:
            raise _missing("Scheduling")
        options = TriggerOptions(revisions=revisions, variables=tuple(variables))
        instance = await services.scheduling.trigger_manual(
            pipeline, username=USERNAME, options=options
        )
        return f"Request to schedule pipeline {instance.name} accepted"

    return await act(request, run)


@router.post("/ui/pipelines/{pipeline}/pause")
async def pause(request: Request, pipeline: str) -> Response:
    services = services_of(request)
    form = await request.form()
    reason = form.get("reason")

    async def run() -> str:
        if services.stages is None:
            raise _missing("Pausing")
        await services.stages.pause(
            pipeline, username=USERNAME, cause=reason if isinstance(reason, str) else None
        )
        return f"Pipeline '{pipeline}' paused successfully."

    return await act(request, run)


@router.post("/ui/pipelines/{pipeline}/unpause")
async def unpause(request: Request, pipeline: str) -> Response:
    services = services_of(request)

    async def run() -> str:
        if services.stages is None:
            raise _missing("Pausing")
        await services.stages.unpause(pipeline, username=USERNAME)
        return f"Pipeline '{pipeline}' unpaused successfully."

    return await act(request, run)


@router.post("/ui/pipelines/{pipeline}/unlock")
async def unlock(request: Request, pipeline: str) -> Response:
    services = services_of(request)

    async def run() -> str:
        if services.stages is None:
            raise _missing("Unlocking")
        await services.stages.unlock(pipeline)
        return f"Pipeline lock released for {pipeline}"

    return await act(request, run)


@router.post("/ui/stages/{pipeline}/{counter}/{stage}/run")
async def run_stage(request: Request, pipeline: str, counter: int, stage: str) -> Response:
    """Approve a manual stage, or rerun a stage."""
    services = services_of(request)

    async def run() -> str:
        if services.stages is None:
            raise _missing("Running stages")
        await services.stages.run_stage(pipeline, counter, stage, username=USERNAME)
        return f"Request to schedule stage {pipeline}/{counter}/{stage} accepted"

    return await act(request, run)


@router.post("/ui/stages/{pipeline}/{counter}/{stage}/{stage_counter}/rerun_jobs")
async def rerun_jobs(
    request: Request, pipeline: str, counter: int, stage: str, stage_counter: int
) -> Response:
    """Rerun the failed jobs (`failed=1`) or the selected ones (`job=...`)."""
    services = services_of(request)
    form = await request.form()
    failed = form.get("failed") == "1"
    selected = [j for j in form.getlist("job") if isinstance(j, str)]

    async def run() -> str:
        if services.stages is None:
            raise _missing("Rerunning jobs")
        await services.stages.rerun_jobs(
            pipeline,
            counter,
            stage,
            stage_counter,
            None if failed else selected,
            username=USERNAME,
        )
        return "Request to rerun job(s) is accepted"

    return await act(request, run)


@router.post("/ui/stages/{pipeline}/{counter}/{stage}/{stage_counter}/cancel")
async def cancel_stage(
    request: Request, pipeline: str, counter: int, stage: str, stage_counter: int
) -> Response:
    services = services_of(request)

    async def run() -> str:
        if services.stages is None:
            raise _missing("Cancelling")
        cancelled = await services.stages.cancel_stage(
            pipeline, counter, stage, stage_counter, username=USERNAME
        )
        return "Stage cancelled successfully." if cancelled else "Stage is not active."

    return await act(request, run)
