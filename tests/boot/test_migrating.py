"""db.migrate and db.migrate_deferred on a real database, with a real qcluster."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from apps.boot.migrating import migration_plan
from apps.boot.registry import StageRegistry, registry
from apps.boot.runner import Runner
from apps.boot.states import StageState
from apps.boot.trigger import start_pipeline
from tests.fakes.qcluster import qcluster, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("isolated_runner")]


@pytest.fixture
def db_stages() -> StageRegistry:
    """Return a registry with just the project's two migration stages."""
    return StageRegistry([registry.get("db.migrate"), registry.get("db.migrate_deferred")])


@pytest.fixture
def deferred_unapplied() -> None:
    """Unapply the test app's deferred migrations, leaving one note to backfill."""
    call_command("migrate", "deferredapp", "0001", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO deferredapp_note (text) VALUES ('Hello World')")


def applied(name: str) -> bool:
    return MigrationRecorder.Migration.objects.filter(app="deferredapp", name=name).exists()


@pytest.mark.usefixtures("deferred_unapplied")
def test_migration_plan__splits_critical_and_deferred() -> None:
    plan = migration_plan()
    assert plan.critical == []
    assert [m.name for m in plan.deferred] == ["0002_note_slug", "0003_note_check"]
    assert plan.conflicts == []


@pytest.mark.usefixtures("deferred_unapplied")
def test_migrate_deferred__applied_after_readiness_while_ready_is_200(client, db_stages) -> None:
    with qcluster():
        runner = start_pipeline(stages=db_stages, trigger="test", force=True)
        assert wait_until(lambda: runner.status.ready, timeout=30)
        assert client.get("/healthz/ready").status_code == 200
        assert runner.finished.wait(60)
    status = runner.status
    deferred = status.stages["db.migrate_deferred"]
    assert deferred.state == StageState.SUCCEEDED
    assert deferred.started_at > status.ready_at
    assert applied("0002_note_slug") and applied("0003_note_check")
    with connection.cursor() as cursor:
        cursor.execute("SELECT slug FROM deferredapp_note")
        assert cursor.fetchone()[0] == "hello-world"
    names = [m["name"] for m in deferred.facts["migrations"]]
    assert names == ["deferredapp.0002_note_slug", "deferredapp.0003_note_check"]
    assert status.stages["db.migrate"].detail.startswith("nothing to apply")


@pytest.mark.usefixtures("deferred_unapplied")
def test_migrate_deferred__broken_migration_fails_and_serving_goes_on(client, db_stages) -> None:
    with qcluster(extra_env={"BREAK_DEFERRED_MIGRATION": "1"}):
        runner = start_pipeline(stages=db_stages, trigger="test", force=True)
        assert runner.finished.wait(60)
    deferred = runner.status.stages["db.migrate_deferred"]
    assert deferred.state == StageState.FAILED
    assert "deliberately broken deferred migration" in deferred.error
    records = {m["name"]: m for m in deferred.facts["migrations"]}
    assert records["deferredapp.0002_note_slug"]["state"] == "applied"
    assert records["deferredapp.0003_note_check"]["state"] == "failed"
    assert "deliberately broken" in records["deferredapp.0003_note_check"]["error"]
    assert applied("0002_note_slug") and not applied("0003_note_check")
    assert client.get("/healthz/ready").status_code == 200
    assert client.get("/healthz/live").status_code == 200


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's file lock")
def test_migrate__locked_sqlite_database_is_retried_and_succeeds() -> None:
    call_command("migrate", "deferredapp", "zero", verbosity=0)
    options = connection.settings_dict["OPTIONS"]
    busy_timeout = options["timeout"]
    options["timeout"] = 0.1  # fail fast on the lock instead of waiting it out
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.0, holder.execute, args=["ROLLBACK"])
    release.start()
    try:
        stages = StageRegistry([registry.get("db.migrate")])
        started = time.monotonic()
        stage = Runner(stages.all(), trigger="test").run().stages["db.migrate"]
    finally:
        release.join()
        holder.close()
        options["timeout"] = busy_timeout
    assert stage.state == StageState.SUCCEEDED, stage.error
    assert stage.attempts >= 2
    assert time.monotonic() - started < 30
    assert applied("0001_initial")


@pytest.mark.usefixtures("deferred_unapplied")
def test_boot_migrations__lists_critical_and_deferred() -> None:
    from io import StringIO

    out = StringIO()
    call_command("boot_migrations", stdout=out)
    lines = out.getvalue().splitlines()
    assert "deferred  deferredapp.0002_note_slug" in lines
    assert "deferred  deferredapp.0003_note_check" in lines
    assert lines[-1].endswith("0 needed to serve, 2 deferred")


@pytest.mark.usefixtures("deferred_unapplied")
def test_boot_run__runs_queue_stages_in_process(settings) -> None:
    from io import StringIO

    settings.OPENROUTER_BASE_URL = "http://127.0.0.1:9"
    settings.PRICING_FETCH_ATTEMPTS = 1
    out = StringIO()
    call_command("boot_run", stdout=out)
    assert applied("0002_note_slug")
    assert "db.migrate_deferred" in out.getvalue()


@pytest.mark.usefixtures("deferred_unapplied")
def test_boot_status__shows_each_migration_with_verbosity_2(client) -> None:
    from io import StringIO

    Runner(StageRegistry([registry.get("db.migrate"), registry.get("db.migrate_deferred")])
           .all(), trigger="test", queue_inline=True).run()
    out = StringIO()
    call_command("boot_status", "-v", "2", stdout=out)
    assert "  -> deferredapp.0002_note_slug applied in" in out.getvalue()
    body = json.loads(call_command_json())
    [deferred] = [s for s in body["stages"] if s["name"] == "db.migrate_deferred"]
    assert [m["name"] for m in deferred["migrations"]] == [
        "deferredapp.0002_note_slug", "deferredapp.0003_note_check"]


@pytest.mark.usefixtures("deferred_unapplied")
def test_boot_status__lists_a_failed_migration_under_its_stage(monkeypatch) -> None:
    from io import StringIO

    monkeypatch.setenv("BREAK_DEFERRED_MIGRATION", "1")
    Runner(StageRegistry([registry.get("db.migrate"), registry.get("db.migrate_deferred")])
           .all(), trigger="test", queue_inline=True).run()
    out = StringIO()
    call_command("boot_status", stdout=out)
    text = out.getvalue()
    assert "  -> deferredapp.0003_note_check failed in" in text
    assert "deliberately broken deferred migration" in text
    assert "0002_note_slug applied" not in text


def call_command_json() -> str:
    from io import StringIO

    out = StringIO()
    call_command("boot_status", "--json", stdout=out)
    return out.getvalue()


def test_migrate__refuses_a_needed_migration_that_depends_on_a_deferred_one() -> None:
    from django.test import override_settings

    from apps.boot.errors import StageError
    from apps.boot.migrating import migrations_apply

    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "tests.conflictapp"]):
        plan = migration_plan()
        assert plan.conflicts == [
            "conflictapp.0002_needed must be applied before serving (deferred = False) but "
            "depends on deferred conflictapp.0001_initial: remove that dependency, or defer it too"
        ]
        with pytest.raises(StageError, match="must be applied before serving"):
            migrations_apply(deferred=False, record=lambda entry: None, report=lambda line: None)
    assert not MigrationRecorder.Migration.objects.filter(app="conflictapp").exists()
