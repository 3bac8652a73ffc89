"""`pygocd agent --server URL ...`: parse options, run the agent until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pygocd.agent.main import Agent, AgentOptions


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pygocd agent", description="Run jobs for a server.")
    parser.add_argument("--server", required=True, help="server URL, e.g. http://host:8153/go")
    parser.add_argument("--work-dir", type=Path, default=Path("agent-work"))
    parser.add_argument("--auto-register-key", help="the server's key: enabled at once")
    parser.add_argument("--resources", type=_names, default=[], help="comma-separated")
    parser.add_argument("--environments", type=_names, default=[], help="comma-separated")
    parser.add_argument("--hostname", help="name to register with (default: this host's)")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    return parser


def main(argv: Sequence[str]) -> int:
    arguments = build_parser().parse_args(argv)
    server = arguments.server.rstrip("/")
    if not server.startswith(("http://", "https://")):
        sys.stderr.write(f"pygocd: error: --server must be an http(s) URL, got {server!r}\n")
        return 1
    if not server.endswith("/go"):
        server += "/go"
    logging.basicConfig(
        level=arguments.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    agent = Agent(
        AgentOptions(
            server_url=server,
            work_dir=arguments.work_dir,
            auto_register_key=arguments.auto_register_key,
            resources=arguments.resources,
            environments=arguments.environments,
            hostname=arguments.hostname,
        )
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(agent))
    return 0


async def _serve(agent: Agent) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(agent.run())
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
