"""Spawn and stop processes (always their whole group), find ports, poll HTTP on loopback."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
GUNICORN = str(Path(PY).parent / "gunicorn")
HOST = "127.0.0.1"

# Started process groups, so an interrupted run can still stop them all.
_live: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    """Return a small, explicit environment for a child process."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR")
           if key in os.environ}
    env.update({"PYTHONUNBUFFERED": "1", "DJANGO_SECRET_KEY": "bench-not-secret",
                "BOOT_LOG_LEVEL": "WARNING"})
    env.update(extra)
    return env


def spawn(cmd: list[str], *, env: Mapping[str, str], log: Path,
          cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """Start `cmd` in a new process group (session), its output appended to `log`."""
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=dict(env), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    _live[proc.pid] = proc
    return proc


def kill_group(proc: subprocess.Popen[bytes], *, grace: float = 5.0) -> None:
    """Stop the whole process group of `proc`: SIGTERM, then SIGKILL after `grace` seconds."""
    _live.pop(proc.pid, None)
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure nothing else of the group survives it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return


def kill_all() -> None:
    """Stop every process group still running (used on interruption)."""
    for proc in list(_live.values()):
        kill_group(proc, grace=2.0)


@contextlib.contextmanager
def running(cmd: list[str], *, env: Mapping[str, str], log: Path,
            grace: float = 5.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` for the length of the block; its process group is killed in `finally`."""
    proc = spawn(cmd, env=env, log=log)
    try:
        yield proc
    finally:
        kill_group(proc, grace=grace)


def http_get(port: int, path: str, *, timeout: float = 2.0) -> tuple[int, bytes] | None:
    """GET http://127.0.0.1:port/path once; return (status, body), None if it can't connect."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def http_post(port: int, path: str, *, timeout: float = 2.0) -> int | None:
    """POST an empty body to http://127.0.0.1:port/path; return the status or None."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", path, body=b"")
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def get_json(port: int, path: str) -> Any:
    """GET a JSON document; None when it can't be had."""
    answer = http_get(port, path)
    if answer is None:
        return None
    try:
        return json.loads(answer[1])
    except ValueError:
        return None


class Timeout(Exception):
    """A bounded wait ran out."""


def wait_for(check: Callable[[], bool], *, timeout: float, interval: float = 0.01,
             proc: subprocess.Popen[bytes] | None = None, what: str = "condition") -> float:
    """Poll `check` until true; return the seconds waited. Raise Timeout (or if `proc` dies)."""
    start = time.perf_counter()
    deadline = start + timeout
    while True:
        if check():
            return time.perf_counter() - start
        if proc is not None and proc.poll() is not None:
            raise Timeout(f"{what}: process exited with {proc.returncode} first")
        if time.perf_counter() > deadline:
            raise Timeout(f"{what}: not within {timeout:g} s")
        time.sleep(interval)


def status_is(port: int, path: str, status: int = 200) -> Callable[[], bool]:
    """Return a check that GET path answers `status`."""
    def check() -> bool:
        answer = http_get(port, path, timeout=1.0)
        return answer is not None and answer[0] == status
    return check


def port_open(port: int) -> bool:
    """Say whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def run(cmd: list[str], *, env: Mapping[str, str], log: Path, timeout: float) -> int:
    """Run `cmd` to completion in its own group (killed if it overruns); return its exit code."""
    proc = spawn(cmd, env=env, log=log)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return -1
    finally:
        kill_group(proc, grace=1.0)
