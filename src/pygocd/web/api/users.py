"""Users API v3 and current user v1, as GoCD answers them with security off.

pygocd has no authentication yet, so every request is GoCD's anonymous user, who is a full
admin while security is off (gocd-api.md §1.4):

* `GET /go/api/current_user` (v1) needs a non-anonymous user (`checkNonAnonymousUser`), so
  GoCD answers 403 `You are not authorized to perform this action.` — and so do we.
* `GET /go/api/users` (v3) is admin-only, which anonymous is; GoCD lists the `users` table,
  which only logins fill, so with security off it is empty. `GET /go/api/users/:login` is 404.

Left for when security exists: a users table filled at login, the user shape
(`login_name`, `display_name`, `enabled`, `email`, `email_me`, `checkin_aliases`, `admin`,
`roles`), current user GET/HEAD/PATCH, users POST/PATCH/DELETE and bulk
`operations/state`, roles and system admins.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.web.api.config_repos import base_url
from pygocd.web.api.versioning import accepts, versioned_response

Response1 = versioned_response(1)
Response3 = versioned_response(3)
USERS_DOC = "https://api.gocd.org/current/#users"
FORBIDDEN = "You are not authorized to perform this action."

current_user_router = APIRouter(
    prefix="/api/current_user", tags=["users"], dependencies=[accepts(1)]
)
users_router = APIRouter(prefix="/api/users", tags=["users"], dependencies=[accepts(3)])


@current_user_router.get("", summary="The logged-in user (403 for anonymous, as GoCD)")
async def current_user() -> Response:
    return Response1({"message": FORBIDDEN}, status_code=403)


@users_router.get("", summary="Users known to the server (none while security is off)")
async def list_users(request: Request) -> Response:
    base = base_url(request)
    return Response3(
        {
            "_links": {"self": {"href": f"{base}/go/api/users"}, "doc": {"href": USERS_DOC}},
            "_embedded": {"users": []},
        }
    )


@users_router.get("/{login}", summary="One user")
async def get_user(login: str) -> Response:
    return Response3({"message": f"User '{login}' was not found!"}, status_code=404)
