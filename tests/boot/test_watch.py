"""`boot_status --watch`: it follows a recorded run and ends with the run's exit code."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from model_bakery import baker

from apps.boot.models import BootRun, StageRun
from apps.boot.states import RunState, StageState

pytestmark = pytest.mark.django_db


def watch(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("boot_status", "--watch", "--interval", "0.01", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def recorded(run_state: str, *stages: tuple[str, str, bool]) -> BootRun:
    now = timezone.now()
    run = baker.make(BootRun, state=run_state, started_at=now - timedelta(seconds=5))
    for name, state, critical in stages:
        baker.make(StageRun, run=run, name=name, state=state, critical=critical,
                   depends_on=[], error="ConnectionError: refused" if state == "failed" else "")
    return run


def test_watch__a_fine_run_exits_0() -> None:
    recorded(RunState.DEGRADED, ("db.migrate", StageState.SUCCEEDED, True),
             ("pricing.refresh", StageState.FAILED, False))
    code, out = watch()
    assert code == 0
    assert "db.migrate: succeeded" in out
    assert "pricing.refresh: failed - ConnectionError: refused" in out
    assert "degraded, 2/2 stages done" in out


def test_watch__a_failed_critical_stage_exits_1() -> None:
    recorded(RunState.FAILED, ("db.migrate", StageState.FAILED, True),
             ("pricing.refresh", StageState.BLOCKED, False))
    code, out = watch()
    assert code == 1
    assert "db.migrate: failed" in out


def test_watch__follows_the_run_asked_for() -> None:
    old = recorded(RunState.FAILED, ("db.migrate", StageState.TIMED_OUT, True))
    recorded(RunState.COMPLETE, ("db.migrate", StageState.SUCCEEDED, True))
    assert watch("--run", str(old.id))[0] == 1
    assert watch()[0] == 0


def test_watch__a_run_still_going_when_time_runs_out_exits_3() -> None:
    recorded(RunState.STARTING, ("db.migrate", StageState.RUNNING, True))
    code, out = watch("--timeout", "0.1")
    assert code == 3
    assert "db.migrate: running" in out


def test_watch__no_run_recorded_exits_2() -> None:
    assert watch("--timeout", "0.05")[0] == 2
