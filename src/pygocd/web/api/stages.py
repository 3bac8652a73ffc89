"""Stage API: instance and history (v3), run (v2), cancel and reruns (v3) — GoCD's
`StageInstanceControllerV3`, `StageOperationsControllerV2/V3`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.domain.runs import ANONYMOUS
from pygocd.services.stages import RerunError
from pygocd.web.api.pipelines import base_url, history_service, ok, services, stage_service
from pygocd.web.api.representers_runs import stage_json, stage_summary_json
from pygocd.web.api.requests import (
    confirmed,
    history_links,
    json_body,
    message,
    page_request,
    parse_int,
)
from pygocd.web.api.versioning import accepts, versioned_response

Response2 = versioned_response(2)
Response3 = versioned_response(3)

router = APIRouter(prefix="/api/stages", tags=["stages"])
V3 = [accepts(3)]


def counter_or_404(value: str, what: str) -> int:
    """Counters in stage paths: a positive integer, else the resource cannot exist (404)."""
    number = parse_int(value)
    if number is None or number < 1:
        raise message(f"The {what} counter '{value}' is not a positive integer.", 404)
    return number


@router.get(
    "/{pipeline}/{stage}/history",
    dependencies=V3,
    response_class=Response3,
    summary="A stage's runs across instances, newest first",
)
async def stage_history(pipeline: str, stage: str, request: Request) -> dict[str, Any]:
    page = page_request(request)
    runs, older, newer = await history_service(request).stage_history(
        pipeline, stage, page.page_size, page.after, page.before
    )
    url = f"{base_url(request)}/go/api/stages/{pipeline}/{stage}/history"
    body: dict[str, Any] = {}
    links = history_links(
        url, older, newer, runs[-1].stage.id if runs else None, runs[0].stage.id if runs else None
    )
    if links:
        body["_links"] = links
    body["stages"] = [stage_summary_json(r) for r in runs]
    return body


@router.get(
    "/{pipeline}/{pipeline_counter}/{stage}/{stage_counter}",
    dependencies=V3,
    response_class=Response3,
    summary="A stage instance",
)
async def stage_instance(
    pipeline: str, pipeline_counter: str, stage: str, stage_counter: str, request: Request
) -> dict[str, Any]:
    counter = counter_or_404(pipeline_counter, "pipeline")
    number = counter_or_404(stage_counter, "stage")
    instance, found = await history_service(request).stage(pipeline, counter, stage, number)
    return stage_json(instance.name, instance.counter, found)


@router.post(
    "/{pipeline}/{pipeline_counter}/{stage}/run",
    dependencies=[accepts(2)],
    response_class=Response2,
    status_code=202,
    summary="Run (approve) or rerun a stage; the counter may be `latest`",
)
async def run_stage(pipeline: str, pipeline_counter: str, stage: str, request: Request) -> Response:
    await confirmed(request)
    history = history_service(request)
    config = history.pipeline(pipeline)
    if pipeline_counter.lower() == "latest":
        async with services(request).uow(read_only=True) as uow:
            latest = await uow.pipeline_instances.latest(config.name, 1)
        counter = latest[0].counter if latest else 0
    else:
        counter = parse_int(pipeline_counter) or 0
    if counter < 1:
        raise message(
            f"Error while running [{pipeline}/{pipeline_counter}/{stage}]. Received "
            f"non-numeric pipeline counter '{pipeline_counter}'.",
            422,
        )
    try:
        await stage_service(request).run_stage(config.name, counter, stage, username=ANONYMOUS)
    except RerunError as error:
        raise message(error.message, 400) from None
    return ok(f"Request to schedule stage {config.name}/{counter}/{stage} accepted", 202, 2)


@router.post(
    "/{pipeline}/{pipeline_counter}/{stage}/{stage_counter}/cancel",
    dependencies=V3,
    response_class=Response3,
    summary="Cancel a stage",
)
async def cancel(
    pipeline: str, pipeline_counter: str, stage: str, stage_counter: str, request: Request
) -> Response:
    await confirmed(request)
    counter = counter_or_404(pipeline_counter, "pipeline")
    number = counter_or_404(stage_counter, "stage")
    config = history_service(request).pipeline(pipeline)
    cancelled = await stage_service(request).cancel_stage(
        config.name, counter, stage, number, username=ANONYMOUS
    )
    if cancelled:
        return ok("Stage cancelled successfully.", 200, 3)
    return ok("Stage is not active. Cancellation Ignored.", 200, 3)


async def _rerun(
    request: Request,
    pipeline: str,
    pipeline_counter: str,
    stage: str,
    stage_counter: str,
    jobs: list[str] | None,
) -> Response:
    counter = counter_or_404(pipeline_counter, "pipeline")
    number = counter_or_404(stage_counter, "stage")
    config = history_service(request).pipeline(pipeline)
    try:
        await stage_service(request).rerun_jobs(
            config.name, counter, stage, number, jobs, username=ANONYMOUS
        )
    except RerunError as error:
        raise message(error.message, 400) from None
    return ok(
        f"Request to rerun jobs for {config.name}/{counter}/{stage}/{number} accepted", 202, 3
    )


@router.post(
    "/{pipeline}/{pipeline_counter}/{stage}/{stage_counter}/run-failed-jobs",
    dependencies=V3,
    response_class=Response3,
    status_code=202,
    summary="Rerun the failed (or cancelled) jobs of a stage run",
)
async def run_failed_jobs(
    pipeline: str, pipeline_counter: str, stage: str, stage_counter: str, request: Request
) -> Response:
    await confirmed(request)
    return await _rerun(request, pipeline, pipeline_counter, stage, stage_counter, None)


@router.post(
    "/{pipeline}/{pipeline_counter}/{stage}/{stage_counter}/run-selected-jobs",
    dependencies=V3,
    response_class=Response3,
    status_code=202,
    summary='Rerun selected jobs of a stage run (`{"jobs": [...]}`)',
)
async def run_selected_jobs(
    pipeline: str, pipeline_counter: str, stage: str, stage_counter: str, request: Request
) -> Response:
    body = await json_body(request)
    jobs = body.get("jobs") if isinstance(body, dict) else None
    if not isinstance(jobs, list) or not all(isinstance(j, str) for j in jobs):
        raise message("Could not read property 'jobs' in request body", 422)
    return await _rerun(request, pipeline, pipeline_counter, stage, stage_counter, jobs)
