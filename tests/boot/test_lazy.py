"""Lazy stages: skipped at boot, run once on first use, recorded like any other stage."""

from __future__ import annotations

import threading
import time

import pytest

from apps.boot.errors import StageError
from apps.boot.lazy import require
from apps.boot.models import StageRun
from apps.boot.runner import Runner
from apps.boot.states import StageState

pytestmark = pytest.mark.django_db(transaction=True)


def test_lazy__does_not_run_at_boot(stages) -> None:
    stages.stage("eager")(lambda ctx: "ran")
    stages.stage("later", lazy=True)(lambda ctx: "ran lazily")
    status = Runner(stages.all(), trigger="test").run()
    assert list(status.stages) == ["eager"]


def test_lazy__runs_once_under_concurrent_first_use(stages) -> None:
    calls: list[int] = []

    @stages.stage("report.fonts", lazy=True)
    def fonts(ctx):
        calls.append(1)
        time.sleep(0.3)
        return "fonts loaded"

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(
        require("report.fonts", stages=stages).detail)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert calls == [1]
    assert results == ["fonts loaded"] * 8
    row = StageRun.objects.get(name="report.fonts")
    assert (row.state, row.run.trigger) == (StageState.SUCCEEDED, "lazy:report.fonts")
    assert require("report.fonts", stages=stages).detail == "fonts loaded"
    assert calls == [1]


def test_lazy__failure_raises_and_the_next_caller_tries_again(stages) -> None:
    attempts: list[int] = []

    @stages.stage("flaky.lazy", lazy=True)
    def flaky(ctx):
        attempts.append(1)
        if len(attempts) == 1:
            raise StageError("not yet: try again")
        return "ok now"

    with pytest.raises(StageError, match="not yet"):
        require("flaky.lazy", stages=stages)
    assert require("flaky.lazy", stages=stages).detail == "ok now"
