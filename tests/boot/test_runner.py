"""The runner, with real threads and a real database."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone
from model_bakery import baker

from apps.boot.errors import StageSkipped, TransientError
from apps.boot.models import BootRun, StageRun
from apps.boot.registry import StageRegistry
from apps.boot.runner import Runner
from apps.boot.states import RunState, StageState

pytestmark = pytest.mark.django_db(transaction=True)


def run(stages: StageRegistry, **options):
    return Runner(stages.all(), trigger="test", **options).run()


def test_runner__starts_runnable_stages_in_priority_order(stages, journal) -> None:
    for name, priority in (("low", 1), ("high", 9), ("mid", 5)):
        stages.stage(name, priority=priority)(lambda ctx: journal.log("start", ctx.name))
    run(stages, max_workers=1)
    assert journal.events("start") == ["high", "mid", "low"]


def test_runner__runs_independent_stages_in_parallel_on_named_threads(stages, journal) -> None:
    names: dict[str, str] = {}

    def slow(ctx):
        names[ctx.name] = threading.current_thread().name
        time.sleep(0.4)

    for name in ("a", "b", "c"):
        stages.stage(name)(slow)
    started = time.monotonic()
    status = run(stages, max_workers=3)
    assert time.monotonic() - started < 1.0  # three 0.4 s stages, not 1.2 s
    assert names == {"a": "boot:a", "b": "boot:b", "c": "boot:c"}
    assert status.state == RunState.COMPLETE


def test_runner__bounded_pool_limits_concurrency(stages) -> None:
    live, peak = [0], [0]
    lock = threading.Lock()

    def count(ctx):
        with lock:
            live[0] += 1
            peak[0] = max(peak[0], live[0])
        time.sleep(0.1)
        with lock:
            live[0] -= 1

    for index in range(6):
        stages.stage(f"s{index}")(count)
    run(stages, max_workers=2)
    assert peak[0] == 2


def test_runner__dependent_starts_after_its_dependency_ends(stages, journal) -> None:
    @stages.stage("second", depends_on=["first"], priority=100)
    def second(ctx):
        journal.log("start", ctx.name)

    @stages.stage("first")
    def first(ctx):
        time.sleep(0.2)
        journal.log("end", ctx.name)

    run(stages)
    assert journal.at("start", "second") >= journal.at("end", "first")


def test_runner__retries_transient_errors_with_backoff(stages, journal) -> None:
    @stages.stage("flaky", attempts=3, backoff=0.1, backoff_max=1)
    def flaky(ctx):
        journal.log("try", ctx.name)
        if ctx.attempt < 3:
            raise TransientError("not yet")
        return "third time lucky"

    status = run(stages).stages["flaky"]
    tries = [t for kind, _, t in journal if kind == "try"]
    assert status.state == StageState.SUCCEEDED
    assert status.attempts == 3
    assert status.detail == "third time lucky"
    assert tries[1] - tries[0] >= 0.1
    assert tries[2] - tries[1] >= 0.2  # exponential: the second wait doubles


def test_runner__gives_up_after_the_last_attempt(stages) -> None:
    @stages.stage("down", attempts=2, backoff=0.01)
    def down(ctx):
        raise ConnectionRefusedError("connection refused by 127.0.0.1:9")

    status = run(stages).stages["down"]
    assert (status.state, status.attempts) == (StageState.FAILED, 2)
    assert status.error.startswith("ConnectionRefusedError: connection refused")


def test_runner__does_not_retry_other_errors(stages) -> None:
    @stages.stage("bug", attempts=5, backoff=0.01)
    def bug(ctx):
        raise ValueError("bad input")

    status = run(stages).stages["bug"]
    assert (status.state, status.attempts) == (StageState.FAILED, 1)
    assert status.error == "ValueError: bad input (unexpected; the log has the traceback)"


def test_runner__times_out_a_hung_attempt_and_ignores_its_late_result(stages) -> None:
    release = threading.Event()

    @stages.stage("hangs", timeout=0.3)
    def hangs(ctx):
        release.wait(5)
        ctx.report("late news")
        return "late result"

    started = time.monotonic()
    status = run(stages)
    elapsed = time.monotonic() - started
    release.set()
    time.sleep(0.1)
    stage = status.stages["hangs"]
    assert elapsed < 1.5
    assert stage.state == StageState.TIMED_OUT
    assert "0.3 s timeout" in stage.error
    assert stage.detail not in {"late result", "late news"}
    assert StageRun.objects.get(name="hangs").state == StageState.TIMED_OUT


def test_runner__blocks_dependents_of_a_failed_stage(stages) -> None:
    stages.stage("a")(lambda ctx: 1 / 0)
    stages.stage("b", depends_on=["a"])(lambda ctx: "never")
    stages.stage("c", depends_on=["b"])(lambda ctx: "never")
    status = run(stages)
    assert status.stages["b"].state == StageState.BLOCKED
    assert status.stages["b"].error == "dependency 'a' ended failed"
    assert status.stages["c"].error == "dependency 'b' ended blocked"


def test_runner__skipped_and_cached_dependencies_count_as_done(stages) -> None:
    def skip(ctx):
        raise StageSkipped("nothing to do here")

    stages.stage("a")(skip)
    stages.stage("b", depends_on=["a"])(lambda ctx: "ran")
    status = run(stages)
    assert status.stages["a"].state == StageState.SKIPPED
    assert status.stages["a"].detail == "nothing to do here"
    assert status.stages["b"].state == StageState.SUCCEEDED


def test_runner__garbage_return_fails_with_what_to_do(stages) -> None:
    stages.stage("garbage")(lambda ctx: {"not": "a string"})
    stage = run(stages).stages["garbage"]
    assert stage.state == StageState.FAILED
    assert "returned dict, not a str: return a one-line detail or None" in stage.error


def test_runner__broken_declarations_end_without_stopping_the_run(stages) -> None:
    stages.stage("orphan", depends_on=["missing"])(lambda ctx: None)
    stages.stage("zero", timeout=0)(lambda ctx: None)
    stages.stage("x", depends_on=["y"])(lambda ctx: None)
    stages.stage("y", depends_on=["x"])(lambda ctx: None)
    stages.stage("fine")(lambda ctx: "ok")
    status = run(stages)
    assert status.stages["orphan"].state == StageState.BLOCKED
    assert "'missing', which no app declares" in status.stages["orphan"].error
    assert status.stages["zero"].state == StageState.FAILED
    assert "manage.py check" in status.stages["zero"].error
    assert status.stages["x"].state == StageState.BLOCKED
    assert "cycle" in status.stages["x"].error
    assert status.stages["fine"].state == StageState.SUCCEEDED


def test_runner__run_state_follows_critical_and_optional_stages(stages) -> None:
    stages.stage("core", critical=True)(lambda ctx: "ok")
    stages.stage("extra")(lambda ctx: 1 / 0)
    status = run(stages)
    assert status.state == RunState.DEGRADED
    assert status.ready_at is not None

    failing = StageRegistry()
    failing.stage("core", critical=True)(lambda ctx: 1 / 0)
    assert run(failing).state == RunState.FAILED


def test_runner__records_the_run_and_every_stage(stages) -> None:
    stages.stage("a", critical=True)(lambda ctx: "did a")
    stages.stage("b", depends_on=["a"])(lambda ctx: None)
    status = run(stages)
    row = BootRun.objects.get(id=status.id)
    assert (row.state, row.pid, row.trigger) == (RunState.COMPLETE, status.pid, "test")
    assert row.ready_at and row.finished_at
    recorded = {s.name: s for s in row.stages.all()}
    assert recorded["a"].detail == "did a"
    assert recorded["b"].depends_on == ["a"]
    assert recorded["a"].attempts == 1 and recorded["a"].duration_ms is not None


def test_runner__keeps_state_in_memory_until_the_tables_exist(stages) -> None:
    with connection.schema_editor() as editor:
        editor.delete_model(StageRun)
        editor.delete_model(BootRun)

    @stages.stage("early", critical=True)
    def early(ctx):
        return "ran before the tables"

    @stages.stage("make_tables", depends_on=["early"])
    def make_tables(ctx):
        with connection.schema_editor() as editor:
            editor.create_model(BootRun)
            editor.create_model(StageRun)
        return "tables made"

    status = run(stages)
    assert status.state == RunState.COMPLETE
    recorded = {s.name: s.state for s in StageRun.objects.filter(run_id=status.id)}
    assert recorded == {"early": StageState.SUCCEEDED, "make_tables": StageState.SUCCEEDED}


def test_runner__marks_a_dead_process_run_interrupted(stages) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    import socket

    orphan = baker.make(BootRun, host=socket.gethostname(), pid=int(dead.stdout),
                        state=RunState.STARTING, started_at=timezone.now(),
                        heartbeat_at=timezone.now())
    baker.make(StageRun, run=orphan, name="db.migrate", state=StageState.RUNNING)
    baker.make(StageRun, run=orphan, name="done", state=StageState.SUCCEEDED)
    stages.stage("a")(lambda ctx: None)
    run(stages)
    orphan.refresh_from_db()
    assert orphan.state == RunState.INTERRUPTED
    states = dict(orphan.stages.values_list("name", "state"))
    assert states == {"db.migrate": StageState.INTERRUPTED, "done": StageState.SUCCEEDED}
    assert "ended before this stage finished" in orphan.stages.get(name="db.migrate").error


def test_runner__leaves_a_live_process_run_alone(stages) -> None:
    import os
    import socket

    alive = baker.make(BootRun, host=socket.gethostname(), pid=os.getppid(),
                       state=RunState.READY, started_at=timezone.now(),
                       heartbeat_at=timezone.now())
    stages.stage("a")(lambda ctx: None)
    run(stages)
    alive.refresh_from_db()
    assert alive.state == RunState.READY


def test_runner__runs_only_once(stages) -> None:
    stages.stage("a")(lambda ctx: None)
    runner = Runner(stages.all())
    runner.run()
    with pytest.raises(RuntimeError, match="runs once"):
        runner.run()


def test_runner__stage_threads_close_their_connections(stages) -> None:
    seen: list[object] = []

    @stages.stage("query")
    def query(ctx):
        BootRun.objects.count()
        seen.append(connection)

    run(stages)
    assert seen and seen[0].connection is None


def test_runner__caches_a_success_before_the_run_ends(stages) -> None:
    from apps.boot.cache import startup_cache

    @stages.stage("remembered", cache_ttl=60)
    def remembered(ctx):
        return "worth remembering"

    startup_cache.clear("remembered")
    for _ in range(20):  # the entry must be there the moment the run returns, every time
        status = Runner(stages.all(), trigger="test").run()
        assert startup_cache.get(stages.get("remembered")) is not None
        startup_cache.clear("remembered")
    assert status.stages["remembered"].state == StageState.SUCCEEDED


def test_runner__cached_stage_is_not_redone_while_fresh(stages) -> None:
    from apps.boot.cache import startup_cache

    calls: list[int] = []

    @stages.stage("expensive", cache_ttl=60)
    def expensive(ctx):
        calls.append(1)
        return "did the work"

    startup_cache.clear("expensive")
    first = Runner(stages.all(), trigger="test").run().stages["expensive"]
    second = Runner(stages.all(), trigger="test").run().stages["expensive"]
    assert (first.state, second.state) == (StageState.SUCCEEDED, StageState.CACHED)
    assert second.detail.startswith("cached ") and second.detail.endswith(": did the work")
    assert calls == [1]


def test_runner__stale_while_revalidate_serves_stale_then_refreshes(stages) -> None:
    from apps.boot.cache import startup_cache

    gate = threading.Event()
    calls: list[int] = []

    @stages.stage("swr", cache_ttl=0.2, stale_while_revalidate=True)
    def swr(ctx):
        calls.append(1)
        if len(calls) > 1:
            gate.wait(5)  # the refresh is slow: dependents must not wait for it
        return f"result {len(calls)}"

    stages.stage("after", depends_on=["swr"])(lambda ctx: "went on")
    startup_cache.clear("swr")
    Runner(stages.all(), trigger="test").run()
    time.sleep(0.3)  # the entry is now stale, but kept
    started = time.monotonic()
    status = Runner(stages.all(), trigger="test").run()
    assert time.monotonic() - started < 2
    assert status.stages["swr"].state == StageState.CACHED
    assert "refreshing in the background: result 1" in status.stages["swr"].detail
    assert status.stages["after"].state == StageState.SUCCEEDED
    gate.set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        entry = startup_cache.get(stages.get("swr"))
        if entry is not None and entry.detail == "result 2":
            break
        time.sleep(0.05)
    assert entry is not None and entry.detail == "result 2" and entry.is_fresh()
