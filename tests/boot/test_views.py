"""The health probes: answered from memory, never from the database."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Permission
from model_bakery import baker

from apps.boot.registry import StageRegistry
from apps.boot.trigger import start_pipeline

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("isolated_runner")]


def test_live__answers_200_with_no_query(client, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz/live")
    assert response.status_code == 200
    assert response.json() == {"status": "live"}


def test_ready__503_before_the_pipeline_starts(client) -> None:
    from apps.boot.readiness import set_current_runner

    set_current_runner(None)
    response = client.get("/healthz/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "not_started"


def test_ready__flips_to_200_when_critical_stages_end_well(client, stages: StageRegistry,
                                                          django_assert_num_queries) -> None:
    gate = threading.Event()
    stages.stage("core", critical=True)(lambda ctx: gate.wait(5) and "ok")
    stages.stage("slow_optional")(lambda ctx: gate.wait(5) and "ok")
    runner = start_pipeline(stages=stages, trigger="test", force=True)
    with django_assert_num_queries(0):
        before = client.get("/healthz/ready")
    assert before.status_code == 503
    assert before.json()["stages"]["core"]["state"] in {"pending", "running"}
    gate.set()
    runner.finished.wait(5)
    with django_assert_num_queries(0):
        after = client.get("/healthz/ready")
    assert after.status_code == 200
    assert after.json()["status"] == "ready"


def test_ready__503_after_a_critical_failure_without_errors_for_anonymous(
        client, stages: StageRegistry) -> None:
    def broken(ctx):
        raise RuntimeError("secret internals at db-7.internal")

    stages.stage("core", critical=True)(broken)
    start_pipeline(stages=stages, trigger="test", force=True).finished.wait(5)
    response = client.get("/healthz/ready")
    assert response.status_code == 503
    assert response.json()["state"] == "failed"
    assert "db-7.internal" not in response.content.decode()


def test_ready__shows_errors_to_users_allowed_to_see_the_boot_status(
        client, stages: StageRegistry) -> None:
    stages.stage("core", critical=True)(lambda ctx: 1 / 0)
    start_pipeline(stages=stages, trigger="test", force=True).finished.wait(5)
    user = baker.make("auth.User", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_bootrun"))
    client.force_login(user)
    body = client.get("/healthz/ready").json()
    assert body["stages"]["core"]["error"].startswith("ZeroDivisionError")


def test_ready__a_stage_that_hangs_never_stops_serving(client, stages: StageRegistry) -> None:
    gate = threading.Event()
    stages.stage("hangs", critical=True, timeout=30)(lambda ctx: gate.wait(10))
    runner = start_pipeline(stages=stages, trigger="test", force=True)
    assert client.get("/healthz/live").status_code == 200
    assert client.get("/healthz/ready").status_code == 503
    gate.set()
    runner.finished.wait(5)
