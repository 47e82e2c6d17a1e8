"""The trigger, end to end: real processes start the pipeline from the WSGI application only."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.processes import ROOT, free_port, get, manage, project_env, wait_for


def test_check__no_runtime_warning_about_database_access(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "manage.py", "check"],
        cwd=ROOT, text=True, capture_output=True, env=project_env(tmp_path), timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "RuntimeWarning" not in result.stderr


def test_trigger__management_commands_never_start_the_pipeline(tmp_path: Path) -> None:
    assert manage(tmp_path, "migrate", "--verbosity", "0").returncode == 0
    assert manage(tmp_path, "check").returncode == 0
    result = manage(tmp_path, "boot_status")
    assert result.returncode == 2
    assert "no boot run recorded" in result.stderr


def test_trigger__runserver_serves_at_once_and_runs_the_pipeline_once(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
        cwd=ROOT, env=project_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz/live", 200, timeout=30)
        wait_for(f"http://127.0.0.1:{port}/healthz/ready", 200, timeout=60)
        code, body = get(f"http://127.0.0.1:{port}/admin/login/")
        assert code == 200 and "Django" in body
        status = manage(tmp_path, "boot_status", "--json")
        run = json.loads(status.stdout)["run"]
        # The autoreloader's parent never builds the application, so one run: the child's.
        assert run["trigger"] == "wsgi" and run["pid"] != server.pid
        runs = manage(tmp_path, "shell", "--no-imports", "-c",
                      "from apps.boot.models import BootRun; print(BootRun.objects.count())")
        assert runs.stdout.strip().splitlines()[-1] == "1"
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize("module", ["project.wsgi", "project.asgi"])
def test_trigger__creating_the_application_starts_the_pipeline(tmp_path: Path, module: str) -> None:
    script = (
        f"import {module}; from apps.boot.readiness import current_runner; "
        "import time; deadline = time.monotonic() + 60\n"
        "while current_runner() is None and time.monotonic() < deadline: time.sleep(0.01)\n"
        "r = current_runner()\n"
        "while not r.status.ready and time.monotonic() < deadline: time.sleep(0.05)\n"
        "print(r.status.trigger, r.status.ready)"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, text=True,
                            capture_output=True, env={**project_env(tmp_path),
                            "DJANGO_SETTINGS_MODULE": "project.settings"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [module.split(".")[1], "True"]


def test_make_run__procfile_serves_first_then_every_stage_ends_fine(tmp_path: Path) -> None:
    import signal

    from tests.fakes.openrouter import FakeOpenRouter

    port = free_port()
    bin_dir = Path(sys.executable).parent
    with FakeOpenRouter(fixture="models-414.json") as openrouter:
        env = project_env(tmp_path, WEB_PORT=str(port), OPENROUTER_BASE_URL=openrouter.base_url,
                          PATH=f"{bin_dir}:{os.environ['PATH']}")
        honcho = subprocess.Popen([str(bin_dir / "honcho"), "start", "--procfile", "Procfile"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz/live", 200, timeout=30)
            first_live = datetime.now(UTC)
            done = manage(tmp_path, "boot_status", "--wait", "--timeout", "90", "--json")
            assert done.returncode == 0, done.stderr
            stages = {s["name"]: s for s in json.loads(done.stdout)["stages"]}
            deferred_done = datetime.fromisoformat(stages["db.migrate_deferred"]["finished_at"])
            assert first_live < deferred_done  # it served before the deferred work ended
            states = {name: stage["state"] for name, stage in stages.items()}
            assert states == {"db.migrate": "succeeded", "db.migrate_deferred": "succeeded",
                              "storage.container": "skipped", "pricing.refresh": "succeeded"}
            assert openrouter.requests == 1
        finally:
            # honcho passes SIGTERM on to each process (qcluster ignores it sent to its group).
            honcho.send_signal(signal.SIGTERM)
            try:
                honcho.wait(15)
            except subprocess.TimeoutExpired:
                honcho.kill()
                honcho.wait(5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(honcho.pid, signal.SIGKILL)  # anything that outlived honcho
