"""Feeds (XML, no `Accept` needed): `GET /go/api/feed/jobs/scheduled.xml`, the jobs waiting
for an agent (GoCD's `FeedsControllerV1` / `ScheduledJobsXmlRepresenter`)."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.domain.pipelines import JobConfig
from pygocd.domain.runs import JobIdentifier
from pygocd.domain.variables import merge_variables
from pygocd.services.config import ConfigService
from pygocd.web.api.pipelines import base_url, history_service, services

router = APIRouter(prefix="/api/feed", tags=["feeds"])

XML = "application/xml;charset=utf-8"


def _job_config(config: ConfigService, identifier: JobIdentifier) -> JobConfig | None:
    pipeline = config.current.runnable(identifier.pipeline_name)
    stage = pipeline.find_stage(identifier.stage_name) if pipeline else None
    if stage is None:
        return None
    name = identifier.job_name
    for marker in ("-runInstance-", "-runOnAll-"):
        if marker in name:
            name = name.rsplit(marker, 1)[0]
    return stage.find_job(name)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@router.get(
    "/jobs/scheduled.xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "Scheduled jobs"}},
    summary="Jobs scheduled and waiting for an agent",
)
async def scheduled_jobs(request: Request) -> Response:
    config = services(request).config
    base = base_url(request)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<scheduledJobs>"]
    for job, identifier in await history_service(request).scheduled_jobs():
        locator = identifier.locator
        job_config = _job_config(config, identifier)
        lines.append(f"  <job name={quoteattr(job.name)} id={quoteattr(str(job.id))}>")
        feed = f"{base}/go/api/feed/pipelines/{locator}.xml"
        lines.append(f'    <link rel="self" href={quoteattr(feed)}/>')
        lines.append(
            f'    <link rel="alternate" href={quoteattr(f"{base}/go/tab/build/detail/{locator}")}'
            f' title={quoteattr(f"{job.name} Job Detail")} type="text/html"/>'
        )
        lines.append(f"    <buildLocator>{escape(locator)}</buildLocator>")
        environment = config.current.environment_of(identifier.pipeline_name)
        if environment is not None:
            lines.append(f"    <environment>{escape(environment.name)}</environment>")
        if job_config is not None and job_config.resources:
            lines.append("    <resources>")
            lines.extend(f"      <resource>{_cdata(r)}</resource>" for r in job_config.resources)
            lines.append("    </resources>")
        pipeline = config.current.runnable(identifier.pipeline_name)
        stage = pipeline.find_stage(identifier.stage_name) if pipeline else None
        variables = merge_variables(
            environment.environment_variables if environment else (),
            pipeline.environment_variables if pipeline else (),
            stage.environment_variables if stage else (),
            job_config.environment_variables if job_config else (),
        )
        if variables:
            lines.append("    <environmentVariables>")
            lines.extend(
                f"      <variable name={quoteattr(v.name)}>"
                f"{escape('****' if v.secure else (v.value or ''))}</variable>"
                for v in variables
            )
            lines.append("    </environmentVariables>")
        lines.append("  </job>")
    lines.append("</scheduledJobs>")
    return Response("\n".join(lines) + "\n", headers={"content-type": XML})
