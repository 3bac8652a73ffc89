"""The agent protocol's HTTP routes (`/go/api/agent/...`)."""

from pygocd.web.agent_api.routes import router

__all__ = ["router"]
