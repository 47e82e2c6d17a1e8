"""The queue executor, with a real qcluster process on the test database."""

from __future__ import annotations

import os
import threading

import pytest

from apps.boot.models import StageRun
from apps.boot.runner import Runner
from apps.boot.states import StageState
from tests.boot import queue_stages
from tests.fakes.qcluster import qcluster, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def run_bounded(runner: Runner, worker, seconds: float = 60):  # type: ignore[no-untyped-def]
    """Run the pipeline, failing with the worker's log if it hasn't ended within `seconds`."""
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    if not runner.finished.wait(seconds):
        runner.stop()
        states = {name: (s.state, s.detail) for name, s in runner.status.stages.items()}
        pytest.fail(f"run still going after {seconds} s: {states}\nqcluster log tail:\n"
                    + worker.log.read_text()[-3000:])
    return runner.status


def test_queue__stage_runs_in_a_worker_between_its_thread_neighbours() -> None:
    with qcluster() as worker:
        status = run_bounded(Runner(queue_stages.chain.all(), trigger="test"), worker)
    rows = {row.name: row for row in StageRun.objects.filter(run_id=status.id)}
    assert {name: row.state for name, row in rows.items()} == {
        "prepare": "succeeded", "q.work": "succeeded", "after": "succeeded"}
    worker_pid = int(rows["q.work"].detail.rsplit(" ", 1)[1])
    assert worker_pid != os.getpid()
    assert rows["q.work"].started_at >= rows["prepare"].finished_at
    assert rows["after"].started_at >= rows["q.work"].finished_at
    assert rows["q.work"].task_id
    assert status.stages["q.work"].state == StageState.SUCCEEDED


def test_queue__failed_stage_blocks_its_dependents() -> None:
    with qcluster() as worker:
        status = run_bounded(Runner(queue_stages.failing.all(), trigger="test"), worker)
    assert status.stages["q.fails"].state == StageState.FAILED
    assert status.stages["q.fails"].error == "broken on purpose: nothing to fix"
    assert status.stages["needs_fails"].state == StageState.BLOCKED


def test_queue__no_worker_says_so_in_the_detail(settings) -> None:
    settings.BOOT = {**settings.BOOT, "QUEUE_PICKUP_WARNING": 0.3}
    runner = Runner(queue_stages.chain.all(), trigger="test")
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: "no worker has taken it" in
                          runner.status.stages["q.work"].detail, timeout=10)
        row = StageRun.objects.get(run_id=runner.status.id, name="q.work")
        assert row.state == StageState.QUEUED
        assert "is `manage.py qcluster` running?" in row.detail
    finally:
        runner.stop()
        thread.join(5)


def test_queue__django_q_timeout_really_stops_the_stage() -> None:
    with qcluster() as worker:
        status = run_bounded(Runner(queue_stages.hanging.all(), trigger="test"), worker)
    stage = status.stages["q.hangs"]
    assert stage.state in {StageState.TIMED_OUT, StageState.FAILED}
    assert "qcluster worker stopped it" in stage.error
