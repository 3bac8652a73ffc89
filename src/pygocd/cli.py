"""The `pygocd` command: server, demo, config check/export, db upgrade.

Every failure a user can cause (bad URL, unwritable dir, busy port, bad config file) ends as one
clear line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from pygocd import __version__

if TYPE_CHECKING:
    from pygocd.settings import Settings

# `pygocd agent` must stay light (DESIGN §1: an idle agent under 40 MB), so server modules,
# pydantic-settings included, are imported only by the commands that need them.

EXIT_USAGE = 2


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    from pygocd.settings import DEFAULT_PORT

    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--data-dir", type=Path, help="data folder (default ./data)")
    parser.add_argument("--database-url", help="database URL (default: SQLite in the data dir)")
    parser.add_argument("--agent-auto-register-key", help="key that enables agents at once")
    parser.add_argument("--webhook-secret", help="secret webhooks are signed with")
    parser.add_argument(
        "--config-repo",
        action="append",
        dest="config_repos",
        metavar="URL[#BRANCH]",
        help="register a config repo at start-up (repeatable)",
    )
    parser.add_argument("--log-level", help="debug, info, warning or error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pygocd", description="GoCD, rewritten in Python.")
    parser.add_argument("--version", action="version", version=f"pygocd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    server = commands.add_parser("server", help="run the server")
    _server_arguments(server)

    commands.add_parser("agent", help="run an agent (pygocd agent --help)", add_help=False)

    demo = commands.add_parser("demo", help="run a server with sample pipelines")
    _server_arguments(demo)

    config = commands.add_parser("config", help="pipeline config files")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="validate GoCD YAML/JSON config files")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    export = config_commands.add_parser(
        "export", help="write the server's stored pipelines as GoCD YAML"
    )
    export.add_argument("--pipeline", help="only this pipeline")
    export.add_argument("--data-dir", type=Path)
    export.add_argument("--database-url")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="apply migrations")
    upgrade.add_argument("--data-dir", type=Path)
    upgrade.add_argument("--database-url")
    return parser


def load_settings(arguments: argparse.Namespace) -> Settings:
    from pygocd.settings import Settings

    names = (
        "host",
        "port",
        "data_dir",
        "database_url",
        "agent_auto_register_key",
        "webhook_secret",
        "config_repos",
        "log_level",
    )
    overrides: dict[str, Any] = {
        name: getattr(arguments, name)
        for name in names
        if getattr(arguments, name, None) is not None
    }
    return Settings(**overrides)


def fail(message: str) -> int:
    print(f"pygocd: error: {message}", file=sys.stderr)
    return 1


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose proto says
    # TCP, and without it every response on a kept-alive connection waits ~40 ms (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from error
    sock.set_inheritable(True)
    return sock


async def serve(settings: Settings, sock: socket.socket) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, which turns a
        requested stop into a death by signal; a requested stop is a clean exit here."""

        stopping: asyncio.Event | None = None

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True
            if self.stopping is not None:
                # Held requests (agents' long-polls) answer now instead of delaying the stop.
                asyncio.get_running_loop().call_soon_threadsafe(self.stopping.set)

    from pygocd import bootstrap
    from pygocd.web.app import create_app

    container = await bootstrap.start(settings)
    try:
        app = create_app(container.services, settings)
        # What start-up built lives as long as the server: out of the collector's sight, or
        # every full collection walks all of it again (100-150 ms pauses, measured).
        gc.collect()
        gc.freeze()
        config = uvicorn.Config(
            app,
            log_level=settings.log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        server = Server(config)
        server.stopping = app.state.stopping = asyncio.Event()
        host, port = sock.getsockname()[:2]
        print(f"pygocd {__version__} serving http://{host}:{port}/go", file=sys.stderr)
        await server.serve(sockets=[sock])
    finally:
        await container.close()


def run_demo(arguments: argparse.Namespace) -> int:
    """A server, one local agent and a sample config repo whose pipelines run at once."""
    import secrets
    import subprocess

    from pygocd import demo

    settings = load_settings(arguments)
    try:
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        repo = demo.prepare_repo(data_dir)
    except (OSError, subprocess.CalledProcessError) as error:
        return fail(f"cannot create the demo repository: {error}")
    key = settings.agent_auto_register_key or secrets.token_urlsafe(16)
    settings = settings.model_copy(
        update={
            "agent_auto_register_key": key,
            "config_repos": (*settings.config_repos, f"{repo}#{demo.BRANCH}"),
        }
    )
    wildcard = settings.host in ("0.0.0.0", "::")  # noqa: S104 - only compared, never bound
    host = "127.0.0.1" if wildcard else settings.host
    agent = demo.start_agent(f"http://{host}:{settings.port}/go", data_dir, key)
    try:
        return run_server(arguments, settings)
    finally:
        demo.stop_agent(agent)


def run_server(arguments: argparse.Namespace, settings: Settings | None = None) -> int:
    from pygocd.bootstrap import StartupError

    settings = settings or load_settings(arguments)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        sock = bind_socket(settings.host, settings.port)
    except OSError as error:
        return fail(str(error))
    try:
        with asyncio.Runner(loop_factory=_fast_loop()) as runner:
            runner.run(serve(settings, sock))
    except StartupError as error:
        return fail(str(error))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


def _fast_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (it comes with `uvicorn[standard]`): each request costs
    the server less on the loop than with asyncio's own."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a dependency, but optional to uvicorn
        return None
    return uvloop.new_event_loop


def run_config_check(arguments: argparse.Namespace) -> int:
    from pygocd.configrepo.check import run_check

    code: int
    lines: list[str]
    code, lines = run_check(arguments.paths)
    stream = sys.stdout if code == 0 else sys.stderr
    for line in lines:
        print(line, file=stream)
    return code


def run_config_export(arguments: argparse.Namespace) -> int:
    from pygocd import bootstrap
    from pygocd.configrepo.export import export_yaml
    from pygocd.domain.config import CruiseConfig

    settings = load_settings(arguments)

    async def stored() -> CruiseConfig:
        container = await bootstrap.start(settings)
        try:
            return container.services.config.stored
        finally:
            await container.close()

    try:
        config = asyncio.run(stored())
    except bootstrap.StartupError as error:
        return fail(str(error))
    pipelines = list(config.all_pipelines())
    environments = list(config.environments)
    if arguments.pipeline:
        pipelines = [p for p in pipelines if p.name.lower() == arguments.pipeline.lower()]
        if not pipelines:
            return fail(f"no pipeline named {arguments.pipeline!r} in the stored config")
        environments = []
    sys.stdout.write(export_yaml(pipelines, environments))
    return 0


def run_db_upgrade(arguments: argparse.Namespace) -> int:
    from pygocd import bootstrap

    settings = load_settings(arguments)

    async def upgrade() -> None:
        container = await bootstrap.start(settings)
        await container.close()

    try:
        asyncio.run(upgrade())
    except bootstrap.StartupError as error:
        return fail(str(error))
    print("database is up to date")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["agent"]:
        from pygocd.agent.cli import main as agent_main

        return agent_main(args[1:])
    from pydantic import ValidationError

    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "server":
            return run_server(arguments)
        if arguments.command == "demo":
            return run_demo(arguments)
        if arguments.command == "config":
            if arguments.config_command == "export":
                return run_config_export(arguments)
            return run_config_check(arguments)
        return run_db_upgrade(arguments)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        return fail(f"invalid setting: {problems}")
