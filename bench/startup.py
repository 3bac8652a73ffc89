"""Cold start to first healthy response, and idle RSS, of a real `pygocd server` process.

Run: .venv/bin/python bench/startup.py [--runs 5]
Budget (DESIGN §6): cold start < 2 s, idle RSS < 120 MB.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def one_run(fresh_data_dir: bool, data_dir: Path) -> tuple[float, float]:
    port = free_port()
    if fresh_data_dir:
        data_dir = Path(tempfile.mkdtemp(prefix="pygocd-bench-"))
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pygocd",
            "server",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/go/api/v1/health", timeout=1)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise RuntimeError("server exited")
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        httpx.get(f"http://127.0.0.1:{port}/go/pipelines", timeout=5)
        time.sleep(2)
        rss = rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    return elapsed, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    warm_dir = Path(tempfile.mkdtemp(prefix="pygocd-bench-warm-"))
    fresh = [one_run(True, warm_dir) for _ in range(args.runs)]
    existing = [one_run(False, warm_dir) for _ in range(args.runs)]
    for title, runs in (("new data dir (migrations run)", fresh), ("existing data dir", existing)):
        times = [t for t, _ in runs]
        rss = [r for _, r in runs]
        print(
            f"{title}: start to healthy median {statistics.median(times) * 1000:.0f} ms "
            f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); "
            f"idle RSS median {statistics.median(rss):.1f} MB (max {max(rss):.1f})"
        )
    start_ms = statistics.median(t for t, _ in existing) * 1000
    print(
        f"budget: start < 2000 ms -> {start_ms / 2000:.2f}x of budget; "
        f"idle RSS < 120 MB -> {max(r for _, r in existing) / 120:.2f}x of budget"
    )


if __name__ == "__main__":
    main()
