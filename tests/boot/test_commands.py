"""`boot_status` and `boot_run`: output, JSON shape and exit codes."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from model_bakery import baker

from apps.boot.models import BootRun, StageRun
from apps.boot.registry import StageRegistry
from apps.boot.runner import Runner
from apps.boot.states import RunState, StageState

pytestmark = pytest.mark.django_db(transaction=True)

RUN_KEYS = {"id", "state", "host", "pid", "trigger", "started_at", "ready_at", "finished_at"}
STAGE_KEYS = {"name", "state", "critical", "executor", "scope", "depends_on", "priority",
              "attempts", "started_at", "finished_at", "duration_ms", "detail", "error"}


def status(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("boot_status", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def record_run(stages: StageRegistry) -> None:
    Runner(stages.all(), trigger="test").run()


def test_boot_status__no_run_recorded_exits_2() -> None:
    code, _ = status()
    assert code == 2


def test_boot_status__json_has_the_documented_shape(stages: StageRegistry) -> None:
    stages.stage("a", critical=True)(lambda ctx: "fine")
    stages.stage("b", depends_on=["a"])(lambda ctx: None)
    record_run(stages)
    code, out = status("--json")
    body = json.loads(out)
    assert code == 0
    assert set(body) == {"run", "stages"}
    assert set(body["run"]) >= RUN_KEYS
    assert body["run"]["state"] == "complete"
    assert all(set(s) >= STAGE_KEYS for s in body["stages"]) and len(body["stages"]) == 2
    assert body["stages"][0]["detail"] == "fine"


def test_boot_status__table_marks_critical_stages(stages: StageRegistry) -> None:
    stages.stage("core", critical=True)(lambda ctx: "all good")
    record_run(stages)
    code, out = status()
    assert code == 0
    assert "core *" in out and "succeeded" in out and "all good" in out


def test_boot_status__critical_failure_exits_1(stages: StageRegistry) -> None:
    stages.stage("core", critical=True)(lambda ctx: 1 / 0)
    record_run(stages)
    code, out = status()
    assert code == 1
    assert "ZeroDivisionError" in out


def test_boot_status__optional_failure_exits_0(stages: StageRegistry) -> None:
    stages.stage("extra")(lambda ctx: 1 / 0)
    record_run(stages)
    assert status()[0] == 0


def test_boot_status__wait_times_out_with_3() -> None:
    run = baker.make(BootRun, state=RunState.STARTING, started_at=timezone.now(), pid=1)
    baker.make(StageRun, run=run, name="slow", state=StageState.RUNNING)
    code, _ = status("--wait", "--timeout", "0.3", "--interval", "0.05")
    assert code == 3


def test_boot_status__wait_returns_once_terminal(stages: StageRegistry) -> None:
    stages.stage("a")(lambda ctx: None)
    record_run(stages)
    assert status("--wait", "--timeout", "5")[0] == 0


def test_boot_run__runs_the_project_pipeline_in_the_foreground(settings) -> None:
    settings.OPENROUTER_BASE_URL = "http://127.0.0.1:9"
    settings.PRICING_FETCH_ATTEMPTS = 1
    out = StringIO()
    try:
        call_command("boot_run", stdout=out)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    assert code == 0
    assert "db.migrate *" in out.getvalue()
    run = BootRun.objects.get(trigger="boot_run")
    assert run.stages.get(name="db.migrate").state == StageState.SUCCEEDED


def test_boot_run__queue_without_a_worker_times_out_with_3(settings) -> None:
    settings.OPENROUTER_BASE_URL = "http://127.0.0.1:9"
    settings.PRICING_FETCH_ATTEMPTS = 1
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("boot_run", "--queue", "--timeout", "3", stdout=out)
    assert error.value.returncode == 3
    assert "queued" in out.getvalue()
