"""One typed settings object for the server, read once (CLI flags over `PYGOCD_*` variables).

`create_app(settings)` and `bootstrap(settings)` take it explicitly; nothing reads `os.environ`
after start-up.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8153


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PYGOCD_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="Port the server listens on.")
    data_dir: Path = Field(
        Path("data"),
        description="Folder for the SQLite database, console logs, artifacts and caches.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the database, e.g. postgresql://user:pass@host/db; "
            "default: SQLite file pygocd.db in the data dir."
        ),
    )
    site_url: str | None = Field(
        None, description="Public URL of the server (for links in API answers and agents)."
    )
    agent_auto_register_key: str | None = Field(
        None, description="Agents presenting this key are enabled at registration."
    )
    webhook_secret: str | None = Field(
        None, description="Secret that GitHub/GitLab/Bitbucket webhooks are signed with."
    )
    config_repos: tuple[str, ...] = Field(
        (), description="Config repos to register at start-up: URL[#branch], repeatable."
    )
    material_poll_interval: float = Field(
        60.0, gt=0, description="Seconds between polls of each auto-update material (jittered)."
    )
    agent_lost_contact_seconds: float = Field(
        300.0, gt=0, description="Seconds of silence after which an agent is LostContact."
    )
    default_job_timeout_minutes: float = Field(
        0,
        ge=0,
        description=(
            "Cancel a job after this many minutes without console output (GoCD's jobTimeout); "
            "0 = never. A job's own timeout wins."
        ),
    )
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return value.lower()

    @property
    def effective_database_url(self) -> str:
        """The async SQLAlchemy URL: SQLite in the data dir unless a URL was given."""
        if self.database_url:
            return async_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'pygocd.db').resolve()}"


class DatabaseUrlError(ValueError):
    pass


_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def async_database_url(url: str) -> str:
    """Map a plain database URL to the async driver we use; reject anything else clearly."""
    scheme, sep, rest = url.partition("://")
    if not sep or not rest:
        raise DatabaseUrlError(
            f"invalid database URL {url!r}: expected postgresql://user:pass@host:port/db "
            "or sqlite:///path/to/file.db"
        )
    driver = _ASYNC_DRIVERS.get(scheme.lower())
    if driver is None:
        raise DatabaseUrlError(
            f"unsupported database URL scheme {scheme!r}: pygocd supports postgresql and sqlite"
        )
    return f"{driver}://{rest}"
