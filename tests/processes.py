"""Run the project as real processes: each on its own VAR_DIR, with its own SQLite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def project_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Return an environment for a project process on its own fresh VAR_DIR."""
    # The trigger is the point here, not the backend: each process gets its own SQLite.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "PYTEST", "BOOT_"))
           and key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(VAR_DIR=str(tmp_path / "var"), OPENROUTER_BASE_URL="http://127.0.0.1:9",
               PYTHONWARNINGS="error::RuntimeWarning")
    env.update(extra)
    return env


def manage(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run a manage.py command as its own process; return what it printed and its code."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, text=True,
                          capture_output=True, env=project_env(tmp_path, **extra), timeout=120)


def free_port() -> int:
    """Return a loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    """Return the status and body of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(url: str, status: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if get(url)[0] == status:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer {status} within {timeout} s")
