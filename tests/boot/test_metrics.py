"""`/metrics`: the Prometheus text format of this process's run, and who may read it."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from apps.boot.registry import StageRegistry
from apps.boot.trigger import start_pipeline

URL = "/metrics"
TOKEN = "scrape-token-for-tests"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(token: str = TOKEN) -> str:
    response = Client().get(URL, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def token(settings) -> str:
    settings.BOOT = {**settings.BOOT, "METRICS_TOKEN": TOKEN}
    return TOKEN


@pytest.fixture
def finished_run(stages: StageRegistry, isolated_runner: None):
    """Run a pipeline in this process: one critical stage that works, one that fails twice."""
    stages.stage("db.migrate", critical=True)(lambda ctx: None)

    @stages.stage("pricing.refresh", depends_on=["db.migrate"], attempts=2, backoff=0.01)
    def refresh(ctx):
        raise ConnectionError("refused")

    runner = start_pipeline(stages=stages, trigger="test", force=True)
    assert runner.finished.wait(10)
    return runner


@pytest.mark.django_db(transaction=True)
def test_metrics__describe_the_current_run_in_the_text_format(finished_run, token) -> None:
    response = Client().get(URL, headers={"Authorization": f"Bearer {token}"})
    assert response["Content-Type"].startswith("text/plain; version=")
    found = samples(response.content.decode())
    status = finished_run.status
    assert found[("boot_ready", ())] == 1.0
    assert found[("boot_time_to_ready_seconds", ())] == pytest.approx(
        (status.ready_at - status.started_at).total_seconds())
    assert found[("boot_stage_attempts", (("stage", "pricing.refresh"),))] == 2.0
    assert found[("boot_stage_duration_seconds", (("stage", "db.migrate"),))] == pytest.approx(
        status.stages["db.migrate"].duration_ms / 1000)
    assert found[("boot_stage_critical", (("stage", "db.migrate"),))] == 1.0
    states = {labels: value for (name, labels), value in found.items()
              if name == "boot_stage_state" and ("stage", "pricing.refresh") in labels}
    assert len(states) == 10 and sum(states.values()) == 1.0
    assert states[(("stage", "pricing.refresh"), ("state", "failed"))] == 1.0
    assert found[("boot_run_state", (("state", "degraded"),))] == 1.0
    assert found[("boot_run_info", (("run", str(status.id)), ("trigger", "test")))] == 1.0


@pytest.mark.django_db(transaction=True)
def test_metrics__a_running_stage_reports_not_ready_and_its_time_so_far(
    stages: StageRegistry, isolated_runner: None, token: str,
) -> None:
    release, started = threading.Event(), threading.Event()

    @stages.stage("slow", critical=True)
    def slow(ctx):
        started.set()
        release.wait(10)

    runner = start_pipeline(stages=stages, trigger="test", force=True)
    try:
        assert started.wait(10)
        found = samples(scrape())
    finally:
        release.set()
        runner.finished.wait(10)
    assert found[("boot_ready", ())] == 0.0
    assert ("boot_time_to_ready_seconds", ()) not in found
    assert found[("boot_stage_state", (("stage", "slow"), ("state", "running")))] == 1.0
    assert found[("boot_stage_duration_seconds", (("stage", "slow"),))] >= 0.0


def test_metrics__without_a_run_say_not_ready(token: str, monkeypatch) -> None:
    monkeypatch.setattr("apps.boot.metrics.current_runner", lambda: None)
    assert samples(scrape()) == {("boot_ready", ()): 0.0}


def test_metrics__use_a_registry_of_their_own(token: str) -> None:
    text = scrape()
    # The global default registry's process and platform collectors are not in it.
    assert "python_info" not in text and "process_cpu_seconds_total" not in text


def test_metrics__ask_who_is_asking(client: Client, token: str) -> None:
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert TOKEN not in response.content.decode()


def test_metrics__refuse_a_wrong_token(client: Client, token: str) -> None:
    assert client.get(URL, headers={"Authorization": "Bearer nope"}).status_code == 403


@pytest.mark.django_db
def test_metrics__an_empty_bearer_is_no_token_when_none_is_configured(client: Client) -> None:
    assert client.get(URL, headers={"Authorization": "Bearer "}).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(("staff", "perm", "code"), [
    (True, True, 200), (True, False, 403), (False, True, 403)])
def test_metrics__staff_who_may_view_runs_read_them_signed_in(
    client: Client, django_user_model, staff: bool, perm: bool, code: int,
) -> None:
    user = django_user_model.objects.create_user("ops", password="pw-for-tests-only",
                                                 is_staff=staff)
    if perm:
        user.user_permissions.add(Permission.objects.get(codename="view_bootrun"))
    client.force_login(user)
    assert client.get(URL).status_code == code
