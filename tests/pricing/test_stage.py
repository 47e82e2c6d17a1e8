"""The pricing.refresh stage, its django-q2 schedule and task, and `manage.py prices_sync`."""

from __future__ import annotations

import logging
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_q.models import Schedule, Task
from django_q.tasks import async_task

from apps.boot.registry import registry
from apps.boot.stage import StageContext
from apps.pricing.models import PriceSync
from apps.pricing.services import SCHEDULE_NAME, prices_sync, schedule_ensure
from apps.pricing.stages import refresh
from tests.fakes.openrouter import FakeOpenRouter


def context() -> StageContext:
    return StageContext(name="pricing.refresh", logger=logging.getLogger("test"), settings={})


def test_stage__declared_as_the_contract_says() -> None:
    declared = registry.get("pricing.refresh")

    assert declared.func is refresh
    assert declared.depends_on == ("db.migrate_deferred",)
    assert (declared.executor, declared.scope, declared.critical, declared.timeout) == (
        "queue", "cluster", False, 120)


@pytest.mark.django_db
def test_stage__syncs_then_reports_fresh(openrouter: FakeOpenRouter) -> None:
    assert refresh(context()) == "414 models: 414 new, 0 changed, 0 retired"

    detail = refresh(context())

    assert re.match(r"fresh: synced \d+ ms ago, next in 2 h 59 min", detail)
    assert openrouter.requests == 1
    assert Schedule.objects.filter(name=SCHEDULE_NAME).count() == 1


@pytest.mark.django_db
def test_schedule_ensure__is_idempotent_and_follows_the_interval() -> None:
    assert schedule_ensure() is True
    assert schedule_ensure() is False
    with override_settings(PRICING_REFRESH_SECONDS=3600):
        schedule_ensure()

    schedule = Schedule.objects.get(name=SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "apps.pricing.tasks.refresh_prices", Schedule.MINUTES, 60, -1)


@pytest.mark.django_db
def test_schedule_ensure__removes_duplicates_left_by_old_races() -> None:
    for _ in range(2):
        Schedule.objects.create(name=SCHEDULE_NAME, func="apps.pricing.tasks.refresh_prices")

    schedule_ensure()

    assert Schedule.objects.filter(name=SCHEDULE_NAME).count() == 1


@pytest.mark.django_db
def test_task__scheduled_run_obeys_freshness(openrouter: FakeOpenRouter) -> None:
    prices_sync()
    schedule_ensure()
    func = Schedule.objects.get(name=SCHEDULE_NAME).func

    # Run it the way a qcluster worker does, synchronously, through django-q2 itself.
    task_id = async_task(func, sync=True)

    task = Task.objects.get(id=task_id)
    assert task.success and re.match(r"fresh: synced \d+ ms ago", task.result)
    assert openrouter.requests == 1


@pytest.mark.django_db
def test_task__scheduled_run_syncs_when_due(openrouter: FakeOpenRouter) -> None:
    task_id = async_task("apps.pricing.tasks.refresh_prices", sync=True)

    assert Task.objects.get(id=task_id).result == "414 models: 414 new, 0 changed, 0 retired"
    assert PriceSync.objects.get().trigger == "schedule"


@pytest.mark.django_db
def test_prices_sync_command__syncs_then_fresh_then_forced(openrouter: FakeOpenRouter) -> None:
    out = StringIO()
    call_command("prices_sync", stdout=out)
    call_command("prices_sync", stdout=out)
    call_command("prices_sync", "--force", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "414 models: 414 new, 0 changed, 0 retired"
    assert re.match(r"fresh: synced \d+ ms ago", lines[1])
    assert lines[2] == "414 models: 0 new, 0 changed, 0 retired"
    assert openrouter.requests == 2


@pytest.mark.django_db
def test_prices_sync_command__failure_exits_1(openrouter: FakeOpenRouter) -> None:
    openrouter.mode = "empty"

    with pytest.raises(CommandError) as caught:
        call_command("prices_sync", stdout=StringIO())

    assert caught.value.returncode == 1
    assert str(caught.value).startswith("OpenRouter listed no models; prices unchanged")


@pytest.mark.django_db
def test_prices_sync_command__misconfigured_exits_2() -> None:
    with override_settings(OPENROUTER_BASE_URL="not a url"), pytest.raises(CommandError) as caught:
        call_command("prices_sync", stdout=StringIO())

    assert caught.value.returncode == 2
    assert "OPENROUTER_BASE_URL" in str(caught.value)
