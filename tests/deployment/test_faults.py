"""Faults while several processes boot one deployment: a killed worker, a late database,
a dead Redis, a failing OpenRouter. Every process ends ready, nothing is left running, nothing
is applied twice."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.deployment.conftest import (
    BAD_STAGE_STATES,
    LIVE_STAGE_STATES,
    Deployment,
    children,
    free_port,
    http_get,
)
from tests.fakes.gate_proxy import GateProxy

pytestmark = [pytest.mark.services, pytest.mark.timeout(120)]

RELAYED = re.compile(r"^succeeded in [^:\s]+:(\d+): ")
SLOW_SECONDS = 4.0


def _started(var_dir: Path) -> list[int]:
    """Return the pids that began the slow migration, in the order they began."""
    files = sorted((var_dir / "slowapp").glob("*.started")) if (var_dir / "slowapp").exists() \
        else []
    return [int(path.stem.rsplit("-", 1)[1]) for path in files]


def _stage(stages: list[dict[str, Any]], pid: int, name: str) -> dict[str, Any]:
    return next(s for s in stages if s["pid"] == pid and s["name"] == name)


def _assert_settled(deployment: Deployment) -> list[dict[str, Any]]:
    """Assert that no run or stage is left in flight; return the stages."""
    stages = deployment.stages()
    report = deployment.report()
    assert [r for r in deployment.runs() if r["state"] in ("starting", "ready")] == [], report
    assert [s for s in stages if s["state"] in LIVE_STAGE_STATES] == [], report
    assert deployment.duplicate_migrations() == []
    assert deployment.advisory_locks() == [], report
    return stages


def test_deployment__worker_killed_mid_migration_is_interrupted_and_another_finishes(
    deployment: Deployment,
) -> None:
    """SIGKILL the worker holding db.migrate's lock mid-migration: its transaction and lock
    die with it, a waiting worker applies the migration once, the respawned worker marks the
    dead run interrupted."""
    deployment.settings_module = "tests.deployment.settings"
    web = deployment.gunicorn(2, DEPLOY_SLOW_MIGRATION=str(SLOW_SECONDS))
    deployment.worker()

    victim = deployment.wait_until(lambda: _started(deployment.var_dir), 60,
                                   "a worker starting the slow migration")[0]
    assert victim in children(web.pid)
    # Its run is recorded, db.migrate running, before it dies.
    deployment.wait_until(
        lambda: any(s["pid"] == victim and s["name"] == "db.migrate" and s["state"] == "running"
                    for s in deployment.stages()), 3, "the victim's run recorded")
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()

    # gunicorn respawns a worker: three runs in all, the two live ones ending.
    runs = deployment.wait_runs_terminal(3, 60)
    settled_after = time.monotonic() - killed_at
    stages = _assert_settled(deployment)
    report = deployment.report()
    assert len(runs) == 3, report
    dead = next(r for r in runs if r["pid"] == victim)
    assert dead["state"] == "interrupted", report
    assert dead["ready_at"] is None
    migrate = _stage(stages, victim, "db.migrate")
    assert migrate["state"] == "interrupted", report
    assert f":{victim} ended before this stage finished" in migrate["error"]
    live = [r for r in runs if r["pid"] != victim]
    assert {r["pid"] for r in live} == children(web.pid), report
    assert {r["state"] for r in live} == {"complete"}, report

    # The migration's work was committed once, by the worker that took the lock next.
    applied = deployment.sql("SELECT pid FROM slowapp_applied")
    assert len(applied) == 1, report
    finisher = applied[0][0]
    assert finisher != victim
    assert _started(deployment.var_dir) == [victim, finisher]
    assert deployment.sql("SELECT count(*) FROM django_migrations WHERE app = 'slowapp' "
                          "AND name = '0002_slow'") == [(1,)]
    done = _stage(stages, finisher, "db.migrate")
    assert done["state"] == "succeeded" and done["detail"].startswith("applied "), report
    assert "slowapp.0002_slow" in [m["name"] for m in done["facts"]["migrations"]]
    for row in stages:
        if row["name"] == "db.migrate" and row["pid"] not in (victim, finisher):
            relayed = RELAYED.match(row["detail"])
            assert (relayed and int(relayed.group(1)) == finisher) \
                or row["detail"].startswith("nothing to apply"), row
    assert [s for s in stages if s["pid"] != victim and s["state"] in BAD_STAGE_STATES] == []
    assert deployment.fetches() == 1
    assert http_get(web.port, "/healthz/ready")[0] == 200  # type: ignore[arg-type]
    print(f"\nkilled {victim} mid-migration; {finisher} finished it; all settled "
          f"{settled_after:.2f} s after the kill")


def test_deployment__database_unreachable_at_first_every_process_gets_ready(
    deployment: Deployment,
) -> None:
    """PostgreSQL behind a shut gate for 3 s: processes serve /healthz/live at once, answer 503
    ready, and once the gate opens db.migrate's retries get every process ready."""
    with GateProxy(5432) as gate:
        url = deployment.database_url(gate.port)
        web = deployment.gunicorn(2, DATABASE_URL=url)
        deployment.worker(DATABASE_URL=url)
        deployment.wait_http(web, "/healthz/live", 200, 30)
        time.sleep(3.0)
        while_shut = Counter(http_get(web.port, "/healthz/ready")[0] for _ in range(10))  # type: ignore[arg-type]
        assert while_shut == {503: 10}
        assert gate.refused > 0
        workers = children(web.pid)
        gate.open()
        opened = time.monotonic()

        def all_ready() -> bool:
            runs = deployment.runs()
            return len(runs) == 2 and all(r["ready_at"] for r in runs)

        deployment.wait_until(all_ready, 40, "both workers ready after the gate opened")
        ready_after = time.monotonic() - opened
        runs = deployment.wait_runs_terminal(2, 40)
        stages = _assert_settled(deployment)
        report = deployment.report()
        assert {r["state"] for r in runs} == {"complete"}, report
        assert children(web.pid) == workers  # nobody crashed or was respawned
        assert [s for s in stages if s["state"] in BAD_STAGE_STATES] == [], report
        migrate = [s for s in stages if s["name"] == "db.migrate"]
        assert max(s["attempts"] for s in migrate) > 1, report  # it retried, then succeeded
        assert len([s for s in migrate if s["detail"].startswith("applied ")]) == 1, report
        assert deployment.fetches() == 1
        assert Counter(http_get(web.port, "/healthz/ready")[0] for _ in range(10)) == {200: 10}
    print(f"\nPostgreSQL gated 3 s ({gate.refused} connections refused): both workers ready "
          f"{ready_after:.2f} s after it opened")


def test_deployment__redis_down_the_cache_misses_and_queue_stages_say_why(
    deployment: Deployment,
) -> None:
    """REDIS_URL on a closed port: the startup cache is a miss, readiness is 200, and the queue
    stages (whose broker is that Redis) fail in one clear line instead of crashing anything."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    web = deployment.gunicorn(2, REDIS_URL=dead_redis)
    runs = deployment.wait_runs_terminal(2, 60)
    stages = _assert_settled(deployment)
    report = deployment.report()
    workers = children(web.pid)
    assert {r["pid"] for r in runs} == workers, report
    assert all(r["ready_at"] for r in runs), report
    assert Counter(http_get(web.port, "/healthz/ready")[0] for _ in range(10)) == {200: 10}  # type: ignore[arg-type]
    for run in runs:
        pid = run["pid"]
        assert run["state"] == "degraded", report
        assert _stage(stages, pid, "db.migrate")["state"] == "succeeded"
        deferred = _stage(stages, pid, "db.migrate_deferred")
        assert deferred["state"] == "failed", report
        assert deferred["error"].startswith("could not hand the stage to django-q2 (")
        assert "check Q_CLUSTER's broker" in deferred["error"]
        assert "\n" not in deferred["error"]
        refresh = _stage(stages, pid, "pricing.refresh")
        assert refresh["state"] == "blocked"
        assert refresh["error"] == "dependency 'db.migrate_deferred' ended failed"
    assert deployment.fetches() == 0
    log = "\n".join(p.log.read_text() for p in deployment.processes)
    assert "startup cache unavailable" in log
    assert "Traceback" not in log, log
    assert children(web.pid) == workers  # no worker died
    assert web.alive()


def _prices(deployment: Deployment) -> tuple[int, str, Any]:
    """Return (model count, a digest of every price, the last successful sync's id)."""
    rows = deployment.sql("SELECT id, pricing::text FROM pricing_openroutermodel ORDER BY id")
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    last = deployment.sql("SELECT max(id) FROM pricing_pricesync WHERE outcome = 'succeeded'")
    return len(rows), digest, last[0][0]


def _age_last_sync(deployment: Deployment) -> None:
    """Make the last sync a day old, in the database and the startup cache, so boots fetch."""
    import redis

    deployment.sql("UPDATE pricing_pricesync SET started_at = started_at - interval '1 day', "
                   "finished_at = finished_at - interval '1 day'")
    client = redis.Redis.from_url(deployment.redis_url)
    try:
        for key in client.scan_iter(match="*pricing:last_sync*"):
            client.delete(key)
    finally:
        client.close()


def test_deployment__openrouter_failing_while_workers_boot_keeps_prices(
    deployment: Deployment,
) -> None:
    """With OpenRouter answering 500 or hanging, two booting workers get ready, pricing.refresh
    fails in one line in each, the previous prices stay as they were, and nothing crashes."""
    pricing_env = {"PRICING_FETCH_ATTEMPTS": "2", "PRICING_BACKOFF": "0.1",
                   "PRICING_BACKOFF_MAX": "0.2", "PRICING_READ_TIMEOUT": "1",
                   "PRICING_CONNECT_TIMEOUT": "1", "PRICING_FETCH_DEADLINE": "5"}
    deployment.env_extra.update(pricing_env)
    queue = deployment.worker()
    web = deployment.gunicorn(2)
    deployment.wait_runs_terminal(2, 60)
    assert deployment.fetches() == 1
    before = _prices(deployment)
    assert before[0] == 414
    openrouter = deployment.openrouter
    openrouter.fail_times = 10**6
    openrouter.hang_seconds = 3.0
    figures: dict[str, int] = {}

    for mode in ("error", "hang"):
        web.signal(signal.SIGTERM, group=False)
        deployment.wait_until(web.gone, 15, "gunicorn stopping")
        _age_last_sync(deployment)
        openrouter.mode = mode
        openrouter.reset()
        seen = {r["id"] for r in deployment.runs()}
        web = deployment.gunicorn(2)

        def new_runs_ended(seen: set[Any] = seen) -> list[dict[str, Any]] | None:
            runs = [r for r in deployment.runs() if r["id"] not in seen]
            done = len(runs) == 2 and all(r["state"] not in ("starting", "ready") for r in runs)
            return runs if done else None

        runs = deployment.wait_until(new_runs_ended, 60, f"two runs ending ({mode})")
        stages = _assert_settled(deployment)
        report = deployment.report()
        workers = children(web.pid)
        assert {r["pid"] for r in runs} == workers, report
        assert {r["state"] for r in runs} == {"degraded"}, report
        assert all(r["ready_at"] for r in runs)
        for run in runs:
            refresh = _stage(stages, run["pid"], "pricing.refresh")
            assert refresh["state"] == "failed", report
            error = refresh["error"]
            assert "\n" not in error and len(error) < 400, error
            assert "prices unchanged, next try at" in error, error
            assert _stage(stages, run["pid"], "db.migrate")["state"] == "succeeded"
        assert _prices(deployment) == before
        status, _, body = http_get(web.port, "/api/prices/")  # type: ignore[arg-type]
        assert status == 200 and len(json.loads(body)["models"]) == 414
        assert Counter(http_get(web.port, "/healthz/ready")[0] for _ in range(10)) == {200: 10}  # type: ignore[arg-type]
        assert children(web.pid) == workers and queue.alive()
        figures[mode] = deployment.fetches()
    print(f"\nOpenRouter failing while 2 workers boot: requests per boot {figures} "
          "(every process retries the failing fetch: successes are shared, failures are not)")
