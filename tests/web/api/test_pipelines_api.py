"""Pipeline runtime API against GoCD's contract: schedule, status, pause/unpause/unlock,
history with cursors, instance, comment, compare, trigger options; and bad input."""

from __future__ import annotations

import httpx
import pytest

from pygocd.domain.pipelines import LockBehavior
from pygocd.domain.states import JobResult
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.registry import Services
from tests import builders as b

pytestmark = pytest.mark.db

V1 = {"Accept": "application/vnd.go.cd.v1+json"}
V2 = {"Accept": "application/vnd.go.cd.v2+json"}
CONFIRM = {**V1, "X-GoCD-Confirm": "true"}
JSON = {**V1, "Content-Type": "application/json"}
CT1 = "application/vnd.go.cd.v1+json;charset=utf-8"


@pytest.fixture
async def up42(services: Services) -> Services:
    await b.save(
        services,
        b.pipeline(
            "up42",
            b.stage("build", "compile"),
            b.stage("test", "unit"),
            variables=(EnvironmentVariable("USERNAME", "bob"),),
        ),
        b.pipeline("locked", b.stage("one"), b.stage("two"), lock=LockBehavior.LOCK_ON_FAILURE),
    )
    await b.commit(services)
    return services


async def counters(services: Services, name: str = "up42") -> list[int]:
    async with services.uow(read_only=True) as uow:
        return await uow.pipeline_instances.list_counters(name)


# -- schedule -----------------------------------------------------------------------------


async def test_schedule_without_body_needs_confirm_and_answers_202(
    client: httpx.AsyncClient, up42: Services
) -> None:
    refused = await client.post("/go/api/pipelines/up42/schedule", headers=V1)
    assert refused.status_code == 400
    assert refused.json() == {
        "message": "Missing required header 'X-GoCD-Confirm' with value 'true'"
    }
    assert refused.headers["content-type"] == CT1

    accepted = await client.post("/go/api/pipelines/up42/schedule", headers=CONFIRM)
    assert accepted.status_code == 202
    assert accepted.headers["content-type"] == CT1
    assert accepted.json() == {"message": "Request to schedule pipeline up42 accepted"}
    assert await counters(up42) == [1]


async def test_schedule_with_gocd_body_pins_revisions_and_overrides_variables(
    client: httpx.AsyncClient, up42: Services
) -> None:
    first = await b.commit(up42, revision="rev-1")
    await b.commit(up42, revision="rev-2")
    body = {
        "update_materials_before_scheduling": False,
        "materials": [{"fingerprint": b.git().fingerprint, "revision": "rev-1"}],
        "environment_variables": [{"name": "USERNAME", "value": "alice"}],
        "unknown_key": "ignored as GoCD does",
    }
    response = await client.post("/go/api/pipelines/up42/schedule", headers=JSON, json=body)
    assert response.status_code == 202, response.text
    created = await b.instance(up42, "up42", 1)
    [revision] = created.build_cause.material_revisions
    assert revision.revision == first.revision == "rev-1"
    assert [(v.name, v.value) for v in created.build_cause.trigger_variables] == [
        ("USERNAME", "alice")
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"materials": [{"fingerprint": "nope", "revision": "x"}]},
            "Request to schedule pipeline rejected { Pipeline 'up42' does not contain the "
            "following material(s): ['nope']. }",
        ),
        (
            {"environment_variables": [{"name": "NOPE", "value": "1"}]},
            "Request to schedule pipeline rejected { Variable 'NOPE' has not been configured "
            "for pipeline 'up42' }",
        ),
    ],
)
async def test_schedule_rejects_what_the_pipeline_does_not_have(
    client: httpx.AsyncClient, up42: Services, body: dict[str, object], message: str
) -> None:
    response = await client.post("/go/api/pipelines/up42/schedule", headers=JSON, json=body)
    assert response.status_code == 422
    assert response.json() == {"message": message}
    assert await counters(up42) == []


@pytest.mark.parametrize(
    "body",
    [
        {"materials": "abc"},
        {"materials": [1]},
        {"materials": [{"fingerprint": 1, "revision": "x"}]},
        {"environment_variables": {"a": 1}},
        {"environment_variables": [{"name": "USERNAME", "value": 5}]},
        {"environment_variables": [{"name": "USERNAME"}]},
        {"environment_variables": [{"name": "USERNAME", "value": "x", "secure": "yes"}]},
        {"update_materials_before_scheduling": "yes"},
        [1, 2],
        "text",
    ],
)
async def test_schedule_refuses_wrong_types_with_422_and_schedules_nothing(
    client: httpx.AsyncClient, up42: Services, body: object
) -> None:
    response = await client.post("/go/api/pipelines/up42/schedule", headers=JSON, json=body)
    assert response.status_code == 422
    assert response.json()["message"].startswith("Your request could not be processed.")
    assert await counters(up42) == []


async def test_schedule_bad_bodies_get_gocd_400_and_415(
    client: httpx.AsyncClient, up42: Services
) -> None:
    malformed = await client.post(
        "/go/api/pipelines/up42/schedule", headers=JSON, content=b"{not json"
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"].startswith("Payload data is not valid JSON: ")

    wrong_type = await client.post(
        "/go/api/pipelines/up42/schedule",
        headers={**V1, "Content-Type": "text/plain"},
        content=b"{}",
    )
    assert wrong_type.status_code == 415
    assert wrong_type.json() == {
        "message": "You must specify a 'Content-Type' of 'application/json'"
    }

    with_charset = await client.post(
        "/go/api/pipelines/up42/schedule",
        headers={**V1, "Content-Type": "application/json; charset=utf-8"},
        content=b"{}",
    )
    assert with_charset.status_code == 202

    huge = await client.post(
        "/go/api/pipelines/up42/schedule",
        headers=JSON,
        content=b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}',
    )
    assert huge.status_code == 413
    assert await counters(up42) == [1]


async def test_schedule_conflicts_and_unknown_pipeline(
    client: httpx.AsyncClient, up42: Services
) -> None:
    unknown = await client.post("/go/api/pipelines/nope/schedule", headers=CONFIRM)
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Pipeline 'nope' not found."}

    assert (await client.post("/go/api/pipelines/up42/schedule", headers=CONFIRM)).is_success
    busy = await client.post("/go/api/pipelines/up42/schedule", headers=CONFIRM)
    assert busy.status_code == 409
    assert busy.json() == {
        "message": "Failed to trigger pipeline [up42] { Stage [build] in pipeline [up42] is "
        "still in progress }"
    }


async def test_wrong_or_missing_accept_is_gocd_404_text(
    client: httpx.AsyncClient, up42: Services
) -> None:
    for headers in ({}, {"Accept": "application/json"}, V2, {"Accept": "*/*"}):
        response = await client.get("/go/api/pipelines/up42/status", headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == "The url you are trying to reach appears to be incorrect.\r\n"
    latest = await client.get(
        "/go/api/pipelines/up42/status", headers={"Accept": "application/vnd.go.cd+json"}
    )
    assert latest.status_code == 200
    assert latest.headers["content-type"] == CT1


# -- status, pause, unpause, unlock -------------------------------------------------------


async def test_status_pause_and_unpause(client: httpx.AsyncClient, up42: Services) -> None:
    status = await client.get("/go/api/pipelines/up42/status", headers=V1)
    assert status.status_code == 200
    assert status.json() == {
        "paused": False,
        "paused_cause": None,
        "paused_by": None,
        "locked": False,
        "schedulable": True,
    }
    paused = await client.post(
        "/go/api/pipelines/up42/pause", headers=JSON, json={"pause_cause": "release freeze"}
    )
    assert paused.status_code == 200
    assert paused.json() == {"message": "Pipeline 'up42' paused successfully."}
    status = (await client.get("/go/api/pipelines/UP42/status", headers=V1)).json()
    assert status == {
        "paused": True,
        "paused_cause": "release freeze",
        "paused_by": "anonymous",
        "locked": False,
        "schedulable": False,
    }
    again = await client.post("/go/api/pipelines/up42/pause", headers=CONFIRM)
    assert again.status_code == 409
    assert again.json() == {
        "message": "Failed to pause pipeline 'up42'. Pipeline 'up42' is already paused."
    }
    refused = await client.post("/go/api/pipelines/up42/schedule", headers=CONFIRM)
    assert refused.status_code == 409
    assert refused.json() == {
        "message": "Failed to trigger pipeline [up42] { Pipeline up42 is paused }"
    }

    unpaused = await client.post("/go/api/pipelines/up42/unpause", headers=CONFIRM)
    assert unpaused.json() == {"message": "Pipeline 'up42' unpaused successfully."}
    again = await client.post("/go/api/pipelines/up42/unpause", headers=CONFIRM)
    assert again.status_code == 409
    assert again.json() == {
        "message": "Failed to unpause pipeline 'up42'. Pipeline 'up42' is already unpaused."
    }


async def test_pause_bad_input_changes_nothing(client: httpx.AsyncClient, up42: Services) -> None:
    for response in (
        await client.post("/go/api/pipelines/up42/pause", headers=V1),
        await client.post("/go/api/pipelines/up42/pause", headers=JSON, content=b"{"),
        await client.post("/go/api/pipelines/up42/pause", headers=JSON, json={"pause_cause": 3}),
        await client.post("/go/api/pipelines/up42/pause", headers=JSON, json=["x"]),
        await client.post("/go/api/pipelines/nope/pause", headers=CONFIRM),
    ):
        assert 400 <= response.status_code < 500
    unknown = await client.post("/go/api/pipelines/nope/pause", headers=CONFIRM)
    assert unknown.json() == {"message": "Pipeline with name 'nope' was not found!"}
    status = (await client.get("/go/api/pipelines/up42/status", headers=V1)).json()
    assert status["paused"] is False


async def test_unlock_messages(client: httpx.AsyncClient, up42: Services) -> None:
    no_lock = await client.post("/go/api/pipelines/up42/unlock", headers=CONFIRM)
    assert no_lock.status_code == 409
    assert no_lock.json() == {
        "message": "No lock exists within the pipeline configuration for up42"
    }
    unknown = await client.post("/go/api/pipelines/nope/unlock", headers=CONFIRM)
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "pipeline name nope is incorrect"}

    not_locked = await client.post("/go/api/pipelines/locked/unlock", headers=CONFIRM)
    assert not_locked.status_code == 409
    assert not_locked.json() == {
        "message": "Lock exists within the pipeline configuration but no pipeline instance "
        "is currently in progress"
    }
    await b.run_to_end(up42, "locked", JobResult.FAILED)
    status = (await client.get("/go/api/pipelines/locked/status", headers=V1)).json()
    assert status["locked"] is True
    assert status["schedulable"] is False
    released = await client.post("/go/api/pipelines/locked/unlock", headers=CONFIRM)
    assert released.status_code == 200
    assert released.json() == {"message": "Pipeline lock released for locked"}


# -- history and instance -----------------------------------------------------------------


async def test_instance_has_gocd_shape(client: httpx.AsyncClient, up42: Services) -> None:
    created = await b.run_to_end(up42, "up42")
    response = await client.get("/go/api/pipelines/up42/1", headers=V1)
    assert response.status_code == 200
    assert response.headers["content-type"] == CT1
    body = response.json()
    assert list(body) == [
        "name",
        "counter",
        "label",
        "natural_order",
        "can_run",
        "preparing_to_schedule",
        "comment",
        "scheduled_date",
        "build_cause",
        "stages",
    ]
    assert (body["name"], body["counter"], body["label"], body["natural_order"]) == (
        "up42",
        1,
        "1",
        1.0,
    )
    assert created.created_at is not None
    assert body["scheduled_date"] == int(created.created_at.timestamp() * 1000)
    cause = body["build_cause"]
    assert cause["trigger_forced"] is True
    assert cause["approver"] == "admin"
    assert cause["trigger_message"] == "Forced by admin"
    [revision] = cause["material_revisions"]
    assert revision["material"] == {
        "name": "https://example.com/app.git",
        "fingerprint": b.git().fingerprint,
        "type": "Git",
        "description": "URL: https://example.com/app.git, Branch: main",
    }
    [modification] = revision["modifications"]
    assert modification["revision"] == "abc123"
    assert isinstance(modification["modified_time"], int)
    assert modification["user_name"] == "alice <alice@example.com>"

    build, test = body["stages"]
    assert build["name"] == "build"
    assert build["counter"] == "1"
    assert (build["status"], build["result"], build["scheduled"]) == ("Passed", "Passed", True)
    assert build["approved_by"] == "admin"
    assert build["jobs"] == [
        {
            "name": "compile",
            "scheduled_date": build["jobs"][0]["scheduled_date"],
            "state": "Completed",
            "result": "Passed",
        }
    ]
    # The next stage started on success; a stage that has not run is a placeholder.
    assert test["status"] == "Building"


async def test_instance_placeholders_and_counter_errors(
    client: httpx.AsyncClient, up42: Services
) -> None:
    await b.trigger(up42, "up42")
    body = (await client.get("/go/api/pipelines/up42/1", headers=V1)).json()
    placeholder = body["stages"][1]
    assert placeholder == {
        "status": "Unknown",
        "rerun_of_counter": None,
        "name": "test",
        "counter": "1",
        "scheduled": False,
        "approval_type": "success",
        "approved_by": None,
        "operate_permission": True,
        "can_run": False,
        "jobs": [],
    }
    assert "result" not in placeholder
    for counter, status, text in [
        ("0", 422, "The pipeline counter cannot be less than 1."),
        ("-3", 422, "The pipeline counter cannot be less than 1."),
        ("abc", 422, "The pipeline counter should be an integer."),
        ("7", 404, "Pipeline 'up42' with counter '7' not found!"),
    ]:
        response = await client.get(f"/go/api/pipelines/up42/{counter}", headers=V1)
        assert response.status_code == status
        assert response.json() == {"message": text}
    unknown = await client.get("/go/api/pipelines/nope/1", headers=V1)
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Pipeline with name 'nope' was not found!"}


async def test_history_pages_with_cursors(client: httpx.AsyncClient, up42: Services) -> None:
    for _ in range(12):
        await b.run_to_end(up42, "up42", JobResult.FAILED)
    first = await client.get("/go/api/pipelines/up42/history", headers=V1)
    assert first.status_code == 200
    body = first.json()
    assert [p["counter"] for p in body["pipelines"]] == list(range(12, 2, -1))
    assert set(body["_links"]) == {"next"}
    next_href = body["_links"]["next"]["href"]
    assert next_href.startswith("http://127.0.0.1:8153/go/api/pipelines/up42/history?after=")

    second = (await client.get(next_href, headers=V1)).json()
    assert [p["counter"] for p in second["pipelines"]] == [2, 1]
    assert set(second["_links"]) == {"previous"}
    back = (await client.get(second["_links"]["previous"]["href"], headers=V1)).json()
    assert [p["counter"] for p in back["pipelines"]] == list(range(12, 2, -1))

    big = (await client.get("/go/api/pipelines/up42/history?page_size=100", headers=V1)).json()
    assert len(big["pipelines"]) == 12
    assert "_links" not in big


async def test_history_of_a_pipeline_that_never_ran(
    client: httpx.AsyncClient, up42: Services
) -> None:
    response = await client.get("/go/api/pipelines/up42/history", headers=V1)
    assert response.json() == {"pipelines": []}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "page_size=9",
            "The query parameter 'page_size', if specified must be a number between 10 and 100.",
        ),
        (
            "page_size=101",
            "The query parameter 'page_size', if specified must be a number between 10 and 100.",
        ),
        (
            "page_size=ten",
            "The query parameter 'page_size', if specified must be a number between 10 and 100.",
        ),
        ("after=-1", "The query parameter 'after', if specified, must be a positive integer."),
        ("after=x", "The query parameter 'after', if specified, must be a positive integer."),
        ("before=1.5", "The query parameter 'before', if specified, must be a positive integer."),
    ],
)
async def test_history_bad_parameters(
    client: httpx.AsyncClient, up42: Services, query: str, message: str
) -> None:
    response = await client.get(f"/go/api/pipelines/up42/history?{query}", headers=V1)
    assert response.status_code == 400
    assert response.json() == {"message": message}
    assert response.headers["content-type"] == CT1


async def test_history_of_unknown_pipeline(client: httpx.AsyncClient, up42: Services) -> None:
    response = await client.get("/go/api/pipelines/nope/history", headers=V1)
    assert response.status_code == 404


# -- comment, compare, trigger options ----------------------------------------------------


async def test_comment(client: httpx.AsyncClient, up42: Services) -> None:
    await b.trigger(up42, "up42")
    response = await client.post(
        "/go/api/pipelines/up42/1/comment", headers=JSON, json={"comment": "ship it"}
    )
    assert response.status_code == 200
    assert response.json() == {"message": "Comment successfully updated."}
    assert (await b.instance(up42, "up42", 1)).comment == "ship it"

    for bad in (
        await client.post("/go/api/pipelines/up42/1/comment", headers=JSON, json={"c": 1}),
        await client.post("/go/api/pipelines/up42/1/comment", headers=JSON, json={"comment": 1}),
        await client.post("/go/api/pipelines/up42/9/comment", headers=JSON, json={"comment": "x"}),
        await client.post("/go/api/pipelines/up42/x/comment", headers=JSON, json={"comment": "x"}),
        await client.post("/go/api/pipelines/up42/1/comment", headers=CONFIRM),
    ):
        assert 400 <= bad.status_code < 500
    assert (await b.instance(up42, "up42", 1)).comment == "ship it"


async def test_compare_lists_the_commits_between_two_runs(
    client: httpx.AsyncClient, up42: Services
) -> None:
    await b.run_to_end(up42, "up42")
    await b.commit(up42, revision="def456", comment="second change")
    await b.commit(up42, revision="fed789", comment="third change")
    await b.run_to_end(up42, "up42")
    response = await client.get("/go/api/pipelines/up42/compare/1/2", headers=V2)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.go.cd.v2+json;charset=utf-8"
    body = response.json()
    assert (body["pipeline_name"], body["from_counter"], body["to_counter"]) == ("up42", 1, 2)
    assert body["is_bisect"] is False
    [change] = body["changes"]
    assert change["material"]["type"] == "git"
    assert change["material"]["attributes"]["display_type"] == "Git"
    assert [r["revision_sha"] for r in change["revision"]] == ["fed789", "def456"]
    assert change["revision"][0]["commit_message"] == "third change"
    assert change["revision"][0]["modified_at"].endswith("Z")

    v1 = await client.get("/go/api/pipelines/up42/compare/1/2", headers=V1)
    assert v1.status_code == 404
    missing = await client.get("/go/api/pipelines/up42/compare/1/5", headers=V2)
    assert missing.status_code == 404
    negative = await client.get("/go/api/pipelines/up42/compare/-1/2", headers=V2)
    assert negative.status_code == 422


async def test_trigger_options(client: httpx.AsyncClient, up42: Services) -> None:
    response = await client.get("/go/api/pipelines/up42/trigger_options", headers=V1)
    assert response.status_code == 200
    body = response.json()
    assert body["variables"] == [{"name": "USERNAME", "secure": False, "value": "bob"}]
    [material] = body["materials"]
    assert material["type"] == "Git"
    assert material["fingerprint"] == b.git().fingerprint
    assert material["revision"]["last_run_revision"] is None


@pytest.mark.parametrize(
    ("path", "accept", "status"),
    [
        ("/go/api/pipelines/up42/99999999999999999999", V1, 422),
        ("/go/api/pipelines/up42/3000000000", V1, 422),
        ("/go/api/pipelines/up42/compare/1/3000000000", V2, 422),
        ("/go/api/pipelines/up42/history?after=99999999999999999999", V1, 400),
        ("/go/api/pipelines/up42/history?before=3000000000", V1, 200),
        (
            "/go/api/stages/up42/1/build/3000000000",
            {"Accept": "application/vnd.go.cd.v3+json"},
            404,
        ),
        (
            "/go/api/stages/up42/99999999999999999999/build/1",
            {"Accept": "application/vnd.go.cd.v3+json"},
            404,
        ),
        ("/go/api/jobs/up42/1/build/3000000000/compile", V1, 404),
        ("/go/api/jobs/up42/build/compile/history?after=3000000000", V1, 200),
    ],
)
async def test_counters_too_large_for_gocd_are_4xx_not_5xx(
    client: httpx.AsyncClient, up42: Services, path: str, accept: dict[str, str], status: int
) -> None:
    await b.trigger(up42, "up42")
    response = await client.get(path, headers=accept)
    assert response.status_code == status


async def test_huge_counters_on_writes_change_nothing(
    client: httpx.AsyncClient, up42: Services
) -> None:
    await b.trigger(up42, "up42")
    big = "99999999999999999999"
    v3 = {"Accept": "application/vnd.go.cd.v3+json", "X-GoCD-Confirm": "true"}
    for path, headers, status in [
        (f"/go/api/pipelines/up42/{big}/comment", JSON, 422),
        (f"/go/api/stages/up42/{big}/build/run", {**V2, "X-GoCD-Confirm": "true"}, 422),
        (f"/go/api/stages/up42/1/build/{big}/cancel", v3, 404),
        (f"/go/api/stages/up42/1/build/{big}/run-failed-jobs", v3, 404),
    ]:
        response = await client.post(path, headers=headers, json={"comment": "x"})
        assert response.status_code == status, path
    assert (await b.instance(up42, "up42", 1)).comment is None
