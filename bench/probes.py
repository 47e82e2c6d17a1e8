"""Probe throughput: /healthz/ready of the project against a trivial view of bare Django."""

from __future__ import annotations

import contextlib
import http.client
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import procs
from .lab import Lab, all_terminal
from .report import Paired
from .startup import server_cmd

THREADS = 3
MAX_REQUESTS = 200_000  # a bound on each run, far above what a few seconds allow


def load(port: int, path: str, *, seconds: float, threads: int = THREADS) -> dict[str, Any]:
    """GET `path` from a few keep-alive clients for `seconds`; return requests/s and errors."""
    done = [0] * threads
    errors = [0] * threads
    bad = [0] * threads
    stop_at = time.perf_counter() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(procs.HOST, port, timeout=5)
        try:
            while time.perf_counter() < stop_at and done[index] < MAX_REQUESTS:
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    response.read()
                    if response.status != 200:
                        bad[index] += 1
                    done[index] += 1
                    if response.will_close:
                        conn.close()  # gunicorn's sync worker closes; reopen on the next request
                except (OSError, http.client.HTTPException):
                    errors[index] += 1
                    conn.close()
        finally:
            conn.close()

    workers = [threading.Thread(target=client, args=(i,), name=f"load-{i}")
               for i in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 10)
    elapsed = time.perf_counter() - start
    return {"requests": sum(done), "rps": sum(done) / elapsed, "errors": sum(errors),
            "non_200": sum(bad), "seconds": elapsed}


def worker_cpu(master: int) -> float:
    """Return the CPU seconds (user + system) used so far by gunicorn's worker(s) of `master`."""
    total = 0.0
    children = Path(f"/proc/{master}/task/{master}/children")
    for pid in children.read_text().split() if children.exists() else ():
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _measured(master: int, port: int, path: str, seconds: float) -> dict[str, Any]:
    before = worker_cpu(master)
    result = load(port, path, seconds=seconds)
    cpu = worker_cpu(master) - before
    result["cpu_per_request"] = cpu / result["requests"] if result["requests"] else None
    return result


def bench_probes(lab: Lab, *, pairs: int, seconds: float,
                 log: Callable[[str], None]) -> dict[str, Any]:
    """Serve both under gunicorn (1 sync worker); alternate short load runs on each.

    Short runs, many pairs: on a shared machine the load of others drifts, and a pair measured
    within two seconds sees the same drift. Beside requests/s, the worker's own CPU time per
    request (from /proc) says what a request costs the server, whatever else runs.
    """
    bare_port, project_port = procs.free_port(), procs.free_port()
    project_env = lab.project_env(lab.fresh_var())
    paired, cpu = Paired(), Paired()
    runs: list[dict[str, Any]] = []
    with procs.running(server_cmd("gunicorn", bare_port, bare=True),
                       env=lab.bare_env(lab.fresh_bare_var()), log=lab.log) as bare, \
            procs.running(server_cmd("gunicorn", project_port), env=project_env,
                          log=lab.log) as project:
        procs.wait_for(procs.status_is(bare_port, "/healthz/live"), timeout=60, proc=bare,
                       what="bare gunicorn")
        # Let the project's pipeline finish (a worker takes its queue stages), then stop the
        # worker, so neither server does anything but answer the load.
        with procs.running([procs.PY, "manage.py", "boot_worker"], env=project_env,
                           log=lab.log):
            procs.wait_for(lambda: all_terminal(project_port), timeout=60, interval=0.1,
                           proc=project, what="project pipeline")
        procs.wait_for(procs.status_is(project_port, "/healthz/ready"), timeout=10,
                       proc=project, what="project ready")
        load(bare_port, "/healthz/live", seconds=0.5)  # warm both up
        load(project_port, "/healthz/ready", seconds=0.5)
        for i in range(pairs):
            a = _measured(bare.pid, bare_port, "/healthz/live", seconds)
            b = _measured(project.pid, project_port, "/healthz/ready", seconds)
            paired.add(a["rps"], b["rps"])
            if a["cpu_per_request"] and b["cpu_per_request"]:
                cpu.add(a["cpu_per_request"], b["cpu_per_request"])
            runs.append({"bare": a, "project": b})
            if i % 5 == 4:
                log(f"  probes #{i + 1}: bare live {a['rps']:.0f}/s, project ready "
                    f"{b['rps']:.0f}/s ({b['errors']} errors, {b['non_200']} non-200)")
    return {**paired.summary(), "runs": runs, "cpu": cpu.summary(),
            "errors": sum(r["bare"]["errors"] + r["project"]["errors"] for r in runs),
            "non_200": sum(r["bare"]["non_200"] + r["project"]["non_200"] for r in runs)}
