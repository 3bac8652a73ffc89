"""Server health messages v1 (`GET /go/api/server_health_messages`): a bare JSON array."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.services.health import ServerHealth
from pygocd.web.api.representers import iso_time
from pygocd.web.api.versioning import accepts, versioned_response

router = APIRouter()


@router.get(
    "/api/server_health_messages",
    tags=["server"],
    summary="Problems the server wants an admin to see",
    dependencies=[accepts(1)],
)
async def server_health_messages(request: Request) -> Response:
    health: ServerHealth | None = request.app.state.services.health
    messages = health.messages() if health is not None else []
    return versioned_response(1)(
        [
            {
                "message": m.message,
                "detail": m.detail,
                "level": m.level.value,
                "time": iso_time(m.time),
            }
            for m in messages
        ]
    )
