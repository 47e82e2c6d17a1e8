"""Cluster-scope stages: one process does the work, the others say which one did."""

from __future__ import annotations

import threading
import time

import pytest
from django.utils import timezone

from apps.boot.locks import cluster_lock
from apps.boot.models import BootRun, StageRun
from apps.boot.registry import StageRegistry
from apps.boot.runner import Runner
from apps.boot.states import StageState

pytestmark = pytest.mark.django_db(transaction=True)


def _success_elsewhere(*, host: str, pid: int, detail: str) -> None:
    """Record another process's successful run of the stage 'work', finished now."""
    now = timezone.now()
    run = BootRun.objects.create(host=host, pid=pid, trigger="wsgi", state="complete",
                                 started_at=now, finished_at=now)
    StageRun.objects.create(run=run, name="work", state=StageState.SUCCEEDED, scope="cluster",
                            started_at=now, finished_at=now, detail=detail)


def _run_while_locked(stages: StageRegistry, detail_elsewhere: str) -> tuple[str, int]:
    """Run 'work' while the test holds its lock, record a success meanwhile; return its detail."""
    calls = [0]

    @stages.stage("work", scope="cluster")
    def work(ctx) -> str:  # type: ignore[no-untyped-def]
        calls[0] += 1
        return "did it here"

    runner = Runner(stages.all(), trigger="test")
    with cluster_lock("stage.work", wait=5):
        thread = threading.Thread(target=runner.run)
        thread.start()
        time.sleep(0.3)  # the runner is waiting for the lock now
        _success_elsewhere(host="web-a", pid=111, detail=detail_elsewhere)
    thread.join(10)
    assert runner.finished.is_set()
    return runner.status.stages["work"].detail, calls[0]


def test_cluster_stage__waiter_names_the_process_that_did_the_work(stages) -> None:
    """A process that waited for the lock records "succeeded in host:pid" and does nothing."""
    detail, calls = _run_while_locked(stages, "applied 3 migrations")
    assert calls == 0
    assert detail == "succeeded in web-a:111: applied 3 migrations"


def test_cluster_stage__relay_of_a_relay_keeps_the_original_process(stages) -> None:
    """When the newest success was itself relayed, the prefix is not nested (regression)."""
    detail, calls = _run_while_locked(stages, "succeeded in web-z:999: applied 3 migrations")
    assert calls == 0
    # It used to say "succeeded in web-a:111: succeeded in web-z:999: ...", one prefix more
    # per process, naming a process that did nothing.
    assert detail == "succeeded in web-z:999: applied 3 migrations"
