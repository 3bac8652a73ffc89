"""Job API v1: a job instance and a job's history (GoCD's `JobInstanceControllerV1`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from pygocd.web.api.pipelines import base_url, history_service
from pygocd.web.api.representers_runs import job_json
from pygocd.web.api.requests import history_links, page_request
from pygocd.web.api.stages import counter_or_404
from pygocd.web.api.versioning import accepts, versioned_response

Response1 = versioned_response(1)

router = APIRouter(prefix="/api/jobs", tags=["jobs"], dependencies=[accepts(1)])


@router.get(
    "/{pipeline}/{stage}/{job}/history",
    response_class=Response1,
    summary="A job's runs, newest first (cursors are job ids)",
)
async def job_history(pipeline: str, stage: str, job: str, request: Request) -> dict[str, Any]:
    page = page_request(request)
    found, older, newer = await history_service(request).job_history(
        pipeline, stage, job, page.page_size, page.after, page.before
    )
    url = f"{base_url(request)}/go/api/jobs/{pipeline}/{stage}/{job}/history"
    body: dict[str, Any] = {}
    links = history_links(
        url, older, newer, found[-1][0].id if found else None, found[0][0].id if found else None
    )
    if links:
        body["_links"] = links
    body["jobs"] = [job_json(j, i) for j, i in found]
    return body


@router.get(
    "/{pipeline}/{pipeline_counter}/{stage}/{stage_counter}/{job}",
    response_class=Response1,
    summary="A job instance",
)
async def job_instance(
    pipeline: str,
    pipeline_counter: str,
    stage: str,
    stage_counter: str,
    job: str,
    request: Request,
) -> dict[str, Any]:
    counter = counter_or_404(pipeline_counter, "pipeline")
    number = counter_or_404(stage_counter, "stage")
    found, identifier = await history_service(request).job(pipeline, counter, stage, number, job)
    return job_json(found, identifier)
