"""Startup benchmarks: time to first response, time to ready, and the warm restart."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import Popen
from typing import Any

from . import procs
from .lab import Lab, all_terminal, settle, stage_states
from .report import Paired

START_TIMEOUT = 60.0
TERMINAL_TIMEOUT = 60.0
SERVERS = ("runserver", "gunicorn")


def server_cmd(server: str, port: int, *, bare: bool = False) -> list[str]:
    """Return the command that serves the project (or bare Django) on 127.0.0.1:port."""
    if server == "runserver":
        return [procs.PY, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    app = "django.core.wsgi:get_wsgi_application()" if bare else "project.wsgi:application"
    return [procs.GUNICORN, "--workers", "1", "--worker-class", "sync", "--bind",
            f"127.0.0.1:{port}", "--log-level", "warning", app]


def inline_cmd(server: str, port: int) -> list[str]:
    """Return `boot_run`, then the server (its own pipeline off: the work is done)."""
    run = shlex.join([procs.PY, "manage.py", "boot_run"])
    serve = shlex.join(server_cmd(server, port))
    return ["/bin/sh", "-c", f"{run} && BOOT_AUTOSTART=false exec {serve}"]


def _time_to(proc: Popen[bytes], start: float, check: Callable[[], bool], *, what: str,
             timeout: float = START_TIMEOUT, interval: float = 0.01) -> float:
    procs.wait_for(check, timeout=timeout, interval=interval, proc=proc, what=what)
    return time.perf_counter() - start


def first_response(lab: Lab, server: str, scenario: str) -> float:
    """Spawn one start of `scenario` (bare, project, inline); return seconds to /healthz/live."""
    port = procs.free_port()
    if scenario == "bare":
        cmd, env = server_cmd(server, port, bare=True), lab.bare_env(lab.fresh_bare_var())
    elif scenario == "project":
        cmd, env = server_cmd(server, port), lab.project_env(lab.fresh_var())
    elif scenario == "no-pipeline":  # diagnostic: the project's imports and checks, no runner
        cmd = server_cmd(server, port)
        env = lab.project_env(lab.fresh_var(), BOOT_AUTOSTART="false")
    else:
        cmd, env = inline_cmd(server, port), lab.project_env(lab.fresh_var())
    start = time.perf_counter()
    with procs.running(cmd, env=env, log=lab.log) as proc:
        return _time_to(proc, start, procs.status_is(port, "/healthz/live"),
                        what=f"{scenario} under {server}")


def bench_first_response(lab: Lab, pairs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Alternate bare, project and inline starts under each server; return the pairings.

    A fourth start, the project with its pipeline off, splits (b)/(a) into what the project's
    imports and checks cost and what the pipeline running beside the server costs.
    """
    out: dict[str, Any] = {}
    for server in SERVERS:
        project_vs_bare, inline_vs_project, quiet_vs_bare = Paired(), Paired(), Paired()
        for i in range(pairs):
            bare = first_response(lab, server, "bare")
            settle()
            quiet = first_response(lab, server, "no-pipeline")
            settle()
            project = first_response(lab, server, "project")
            settle()
            inline = first_response(lab, server, "inline")
            settle()
            project_vs_bare.add(bare, project)
            quiet_vs_bare.add(bare, quiet)
            inline_vs_project.add(project, inline)
            log(f"  {server} #{i + 1}: bare {bare:.3f} s, no pipeline {quiet:.3f} s, "
                f"project {project:.3f} s, inline {inline:.3f} s")
            lab.cleanup_dirs()
        out[server] = {"project_vs_bare": project_vs_bare.summary(),
                       "inline_vs_project": inline_vs_project.summary(),
                       "no_pipeline_vs_bare": quiet_vs_bare.summary()}
    return out


def _serve_with_worker(lab: Lab, var_dir: Path, port: int) -> tuple[list[str], list[str],
                                                                   dict[str, str]]:
    env = lab.project_env(var_dir)
    return (server_cmd("gunicorn", port), [procs.PY, "manage.py", "boot_worker"], env)


def ready_once(lab: Lab, *, migrated: bool) -> float:
    """Start gunicorn and a worker on a fresh VAR_DIR; return seconds to /healthz/ready 200."""
    port = procs.free_port()
    server, worker, env = _serve_with_worker(lab, lab.fresh_var(migrated=migrated), port)
    start = time.perf_counter()
    with procs.running(server, env=env, log=lab.log) as proc, \
            procs.running(worker, env=env, log=lab.log, grace=1.0):
        return _time_to(proc, start, procs.status_is(port, "/healthz/ready"),
                        what="ready", interval=0.02)


def bench_ready(lab: Lab, pairs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Alternate starts on an up-to-date database (A) and on an empty one (B)."""
    paired = Paired()
    for i in range(pairs):
        current = ready_once(lab, migrated=True)
        settle()
        fresh = ready_once(lab, migrated=False)
        settle()
        paired.add(current, fresh)
        log(f"  ready #{i + 1}: up-to-date {current:.3f} s, fresh {fresh:.3f} s")
        lab.cleanup_dirs()
    return paired.summary()


def terminal_once(lab: Lab, var_dir: Path) -> dict[str, Any]:
    """Start gunicorn and a worker on `var_dir`; return the time until every stage is terminal
    and the requests that reached OpenRouter and Azurite meanwhile."""
    port = procs.free_port()
    server, worker, env = _serve_with_worker(lab, var_dir, port)
    openrouter, azure = lab.openrouter_requests(), lab.azure_connections()
    start = time.perf_counter()
    with procs.running(server, env=env, log=lab.log) as proc, \
            procs.running(worker, env=env, log=lab.log, grace=1.0):
        seconds = _time_to(proc, start, lambda: all_terminal(port), what="every stage terminal",
                           timeout=TERMINAL_TIMEOUT, interval=0.05)
        states = stage_states(port) or {}
    return {"seconds": seconds, "openrouter": lab.openrouter_requests() - openrouter,
            "azure": lab.azure_connections() - azure, "states": states}


def bench_warm(lab: Lab, pairs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Alternate a cold start (empty startup cache, sync due) with a warm restart of it."""
    paired = Paired()
    cold_runs: list[dict[str, Any]] = []
    warm_runs: list[dict[str, Any]] = []
    for i in range(pairs):
        var_dir = lab.fresh_var()
        cold = terminal_once(lab, var_dir)
        settle()
        warm = terminal_once(lab, var_dir)
        settle()
        paired.add(cold["seconds"], warm["seconds"])
        cold_runs.append(cold)
        warm_runs.append(warm)
        log(f"  warm #{i + 1}: cold {cold['seconds']:.3f} s ({cold['openrouter']} OpenRouter, "
            f"{cold['azure']} Azure), warm {warm['seconds']:.3f} s ({warm['openrouter']} "
            f"OpenRouter, {warm['azure']} Azure) {warm['states']}")
        lab.cleanup_dirs()
    return {**paired.summary(), "cold": cold_runs, "warm": warm_runs,
            "warm_openrouter_max": max(run["openrouter"] for run in warm_runs),
            "warm_azure_max": max(run["azure"] for run in warm_runs),
            "cold_openrouter_min": min(run["openrouter"] for run in cold_runs),
            "cold_azure_min": min(run["azure"] for run in cold_runs)}
