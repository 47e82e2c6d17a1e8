"""Four gunicorn workers and two qclusters boot one PostgreSQL + Redis deployment together.

Each worker imports the WSGI module itself (no --preload), so each runs the pipeline: the work
must still happen once, and every other process must say who did it.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter

import pytest

from tests.deployment.conftest import (
    BAD_STAGE_STATES,
    LIVE_STAGE_STATES,
    Deployment,
    children,
    http_get,
)

pytestmark = [pytest.mark.services, pytest.mark.timeout(120)]

WORKERS = 4
RELAYED = re.compile(r"^succeeded in [^:\s]+:(\d+): ")


def test_deployment__four_workers_two_qclusters_do_each_piece_of_work_once(
    deployment: Deployment,
) -> None:
    """Migrations applied once, one catalogue fetch, no stage error, one run per worker."""
    started = time.monotonic()
    web = deployment.gunicorn(WORKERS)
    deployment.worker()
    deployment.worker()

    def all_ready() -> list[dict[str, object]] | None:
        runs = [r for r in deployment.runs() if r["trigger"] == "wsgi" and r["ready_at"]]
        return runs if len(runs) >= WORKERS else None

    deployment.wait_until(all_ready, 60, f"{WORKERS} runs ready")
    all_ready_after = time.monotonic() - started
    # Every worker answers ready now; ask often enough to reach each of them.
    answers = Counter(http_get(web.port, "/healthz/ready")[0] for _ in range(40))  # type: ignore[arg-type]
    assert answers == {200: 40}

    runs = deployment.wait_runs_terminal(WORKERS, 60)
    stages = deployment.stages()
    report = deployment.report()

    # One run per serving process: exactly gunicorn's workers, none from the qclusters.
    assert len(runs) == WORKERS, report
    assert {r["pid"] for r in runs} == children(web.pid), report
    assert {r["trigger"] for r in runs} == {"wsgi"}
    assert {r["state"] for r in runs} == {"complete"}, report

    # No stage ended badly, and nothing is left in flight.
    assert [s for s in stages if s["state"] in BAD_STAGE_STATES + LIVE_STAGE_STATES] == [], report
    assert Counter(s["name"] for s in stages) == {
        name: WORKERS for name in ("db.migrate", "db.migrate_deferred", "pricing.refresh",
                                   "storage.container")
    }

    # Each migration applied once, by one process; the others say who did it, or found none.
    assert deployment.duplicate_migrations() == []
    migrate = [s for s in stages if s["name"] == "db.migrate"]
    appliers = [s for s in migrate if re.match(r"^applied \d+ migrations", s["detail"])]
    assert len(appliers) == 1, report
    applier = appliers[0]
    applied = [m["name"] for m in applier["facts"]["migrations"]]
    assert len(applied) == len(set(applied)) == len(deployment.sql(
        "SELECT 1 FROM django_migrations")), report
    for row in migrate:
        if row is applier:
            continue
        relayed = RELAYED.match(row["detail"])
        assert relayed or row["detail"].startswith("nothing to apply"), row
        if relayed:
            assert int(relayed.group(1)) == applier["pid"], row
            assert "succeeded in" not in row["detail"][relayed.end():], row

    # One catalogue fetch reached OpenRouter; one process synced, the others saw it.
    assert deployment.fetches() == 1
    refresh = [s for s in stages if s["name"] == "pricing.refresh"]
    synced = [s for s in refresh if s["detail"].startswith("414 models: 414 new")]
    assert len(synced) == 1, report
    for row in refresh:
        if row is not synced[0]:
            assert RELAYED.match(row["detail"]) or row["detail"].startswith("fresh: "), row
    assert deployment.sql("SELECT count(*) FROM pricing_pricesync WHERE outcome = 'succeeded'"
                          ) == [(1,)]
    assert deployment.sql("SELECT count(*) FROM pricing_openroutermodel") == [(414,)]
    assert deployment.sql("SELECT count(*) FROM django_q_schedule WHERE name = "
                          "'pricing.refresh'") == [(1,)]

    # Every cluster lock was let go; no stage thread kept a session open.
    assert deployment.advisory_locks() == []
    # Only the qclusters' own sessions stay (django-q2 keeps them); none from a boot thread.
    sessions = deployment.connections()
    assert [s for s in sessions if "boot_" in s[2] or "advisory" in s[2]] == [], sessions
    assert len(sessions) <= 2 * 3, sessions

    # The command line sees the same deployment.
    status = deployment.manage("boot_status", "--json")
    assert status.returncode == 0, status.stderr
    latest = json.loads(status.stdout)
    assert latest["run"]["id"] in {str(r["id"]) for r in runs}
    assert {s["state"] for s in latest["stages"]} <= {"succeeded", "skipped", "cached"}

    print(f"\n{WORKERS} workers + 2 qclusters: all ready {all_ready_after:.2f} s after spawn; "
          f"every run complete {time.monotonic() - started:.2f} s after; "
          f"fetches {deployment.fetches()}; database sessions left {len(sessions)}")
