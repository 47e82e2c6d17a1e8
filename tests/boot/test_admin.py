"""The admin's startup status page: permissions, what it shows, its JSON poll, its actions."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from model_bakery import baker

from apps.boot import actions
from apps.boot.errors import StageError
from apps.boot.models import BootRun, StageRun
from apps.boot.registry import StageRegistry
from apps.boot.states import RunState, StageState

PAGE = "/admin/boot/status/"
JSON = "/admin/boot/status.json"
RERUN = "/admin/boot/status/rerun/"


def user_with(django_user_model, *codenames: str, staff: bool = True, name: str = "watcher"):
    user = django_user_model.objects.create_user(name, password="pw-for-tests-only",
                                                 is_staff=staff)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="boot",
                                                        codename__in=codenames))
    return user


def record(state: str = RunState.COMPLETE, *, started: float = 30.0,
           stages: tuple[tuple[str, str], ...] = (("db.migrate", StageState.SUCCEEDED),
                                                  ("pricing.refresh", StageState.FAILED)),
           **fields) -> BootRun:
    """Record a run started `started` seconds ago whose stages ran one after the other."""
    begin = timezone.now() - timedelta(seconds=started)
    finished = state not in (RunState.STARTING, RunState.READY)
    fields = {"host": "web-1", "pid": 4242, "trigger": "wsgi", **fields}
    run = baker.make(BootRun, state=state, started_at=begin,
                     ready_at=begin + timedelta(seconds=2),
                     finished_at=begin + timedelta(seconds=5) if finished else None, **fields)
    previous: list[str] = []
    for index, (name, stage_state) in enumerate(stages):
        terminal = stage_state not in (StageState.PENDING, StageState.RUNNING)
        baker.make(
            StageRun, run=run, name=name, state=stage_state, critical=index == 0,
            depends_on=previous[-1:], attempts=1 if stage_state != StageState.PENDING else 0,
            started_at=begin + timedelta(seconds=index),
            finished_at=begin + timedelta(seconds=index + 1) if terminal else None,
            duration_ms=1000 if terminal else None,
            detail="applied 3 migrations" if stage_state == StageState.SUCCEEDED else "",
            error="ConnectionError: refused" if stage_state == StageState.FAILED else "",
        )
        previous.append(name)
    return run


@pytest.fixture
def viewer(client: Client, django_user_model) -> Client:
    client.force_login(user_with(django_user_model, "view_bootrun"))
    return client


@pytest.fixture
def operator(client: Client, django_user_model) -> Client:
    client.force_login(user_with(django_user_model, "view_bootrun", "change_bootrun"))
    return client


# -- permissions ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [PAGE, JSON])
def test_status_page__anonymous_goes_to_the_admin_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={url}"


@pytest.mark.django_db
@pytest.mark.parametrize(("staff", "codenames"), [(False, ("view_bootrun",)), (True, ())])
@pytest.mark.parametrize("url", [PAGE, JSON])
def test_status_page__signed_in_without_the_right_gets_403(
    client: Client, django_user_model, staff: bool, codenames: tuple[str, ...], url: str,
) -> None:
    client.force_login(user_with(django_user_model, *codenames, staff=staff))
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_status_page__staff_with_view_permission_sees_it(viewer: Client) -> None:
    record()
    response = viewer.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="site-name"' in html  # the admin's own header: it extends admin/base_site.html
    assert "db.migrate" in html and "pricing.refresh" in html
    assert 'class="boot-state state-failed"' in html
    assert "ConnectionError: refused" in html
    assert 'aria-valuenow="100"' in html
    assert "<svg" in html and "tl-critical-path" in html
    assert "Re-run" not in html  # viewing is not changing


@pytest.mark.django_db
def test_status_page__never_renders_the_secret_key(viewer: Client, settings) -> None:
    record()
    html = viewer.get(PAGE).content.decode()
    assert settings.SECRET_KEY not in html


# -- what it shows -------------------------------------------------------------------------


@pytest.mark.django_db
def test_status_page__shows_every_live_run_and_not_finished_ones(viewer: Client) -> None:
    live_a = record(RunState.STARTING, stages=(("db.migrate", StageState.RUNNING),))
    live_b = record(RunState.READY, host="web-2")
    done = record(RunState.COMPLETE, started=300)
    runs = [run["run"]["id"] for run in viewer.get(PAGE).context["runs"]]
    assert sorted(runs) == sorted([str(live_a.id), str(live_b.id)])
    assert str(done.id) not in runs


@pytest.mark.django_db
def test_status_page__shows_the_newest_finished_run_when_none_is_live(viewer: Client) -> None:
    record(RunState.COMPLETE, started=300)
    newest = record(RunState.DEGRADED, started=30)
    runs = viewer.get(PAGE).context["runs"]
    assert [run["run"]["id"] for run in runs] == [str(newest.id)]


@pytest.mark.django_db
def test_status_page__a_run_page_shows_that_run_and_marks_it_interrupted(viewer: Client) -> None:
    old = record(RunState.INTERRUPTED, started=600,
                 stages=(("db.migrate", StageState.INTERRUPTED),))
    record(RunState.STARTING)
    response = viewer.get(f"{PAGE}{old.id}/")
    assert [run["run"]["id"] for run in response.context["runs"]] == [str(old.id)]
    assert "⚠ interrupted" in response.content.decode()
    assert viewer.get(f"{PAGE}?run={old.id}").context["runs"][0]["run"]["id"] == str(old.id)


@pytest.mark.django_db
def test_status_page__unknown_or_malformed_run_is_404(viewer: Client) -> None:
    assert viewer.get(f"{PAGE}{uuid.uuid4()}/").status_code == 404
    assert viewer.get(f"{PAGE}?run=not-a-uuid").status_code == 404


@pytest.mark.django_db
def test_status_page__history_lists_runs_with_durations(viewer: Client) -> None:
    record(RunState.INTERRUPTED, started=600)
    record(RunState.COMPLETE, started=60)
    history = viewer.get(PAGE).context["history"]
    assert [h["state"] for h in history] == ["complete", "interrupted"]
    assert history[0]["to_ready"] == "2.0 s" and history[0]["total"] == "5.0 s"
    assert history[1]["interrupted"] is True


@pytest.mark.django_db
def test_bootrun_changelist__links_the_status_page_and_each_run(viewer: Client) -> None:
    run = record(RunState.INTERRUPTED)
    html = viewer.get("/admin/boot/bootrun/").content.decode()
    assert f'href="{PAGE}"' in html
    assert f'href="{PAGE}{run.id}/"' in html
    assert "⚠ interrupted" in html
    detail = viewer.get(f"/admin/boot/bootrun/{run.id}/change/")
    assert detail.status_code == 200
    assert "db.migrate" in detail.content.decode()


# -- the JSON poll -------------------------------------------------------------------------


@pytest.mark.django_db
def test_status_json__has_the_documented_shape(viewer: Client) -> None:
    run = record(RunState.STARTING, stages=(("db.migrate", StageState.SUCCEEDED),
                                           ("pricing.refresh", StageState.RUNNING)))
    response = viewer.get(JSON, {"run": str(run.id)})
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    [body] = response.json()["runs"]
    assert set(body) == {"run", "stages", "progress", "terminal", "critical_path", "timeline"}
    assert body["run"]["id"] == str(run.id) and body["run"]["state"] == "starting"
    assert body["progress"] == {"done": 1, "total": 2, "percent": 50}
    assert body["terminal"] is False
    assert body["timeline"].startswith("<svg")
    assert [s["name"] for s in body["stages"]] == ["db.migrate", "pricing.refresh"]
    assert {"state", "attempts", "duration", "detail", "error", "depends_on", "executor",
            "scope", "queued_at", "rerunnable"} <= set(body["stages"][1])
    assert body["stages"][1]["depends_on"] == ["db.migrate"]


@pytest.mark.django_db
def test_status_json__costs_a_fixed_number_of_queries(viewer: Client,
                                                      django_assert_max_num_queries) -> None:
    runs = [record(RunState.STARTING, host=f"web-{i}") for i in range(5)]
    # session, user, its two permission lookups, runs, their stages: however many runs
    with django_assert_max_num_queries(6):
        body = viewer.get(JSON).json()
    assert len(body["runs"]) == len(runs)


# -- actions -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rerun__refuses_a_post_without_the_csrf_token(django_user_model) -> None:
    run = record()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with(django_user_model, "view_bootrun", "change_bootrun"))
    response = client.post(RERUN, {"run": str(run.id), "stage": "pricing.refresh"})
    assert response.status_code == 403
    assert BootRun.objects.count() == 1


@pytest.mark.django_db
def test_rerun__needs_the_change_permission(viewer: Client) -> None:
    run = record()
    assert viewer.post(RERUN, {"run": str(run.id), "stage": "pricing.refresh"}).status_code == 403
    assert viewer.get(RERUN).status_code == 403  # and only POST would do, anyway


@pytest.mark.django_db
def test_rerun__refuses_a_stage_that_ended_well(operator: Client) -> None:
    run = record()
    response = operator.post(RERUN, {"run": str(run.id), "stage": "db.migrate"})
    assert response.status_code == 302 and response["Location"] == f"{PAGE}{run.id}/"
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "only a failed, timed out or interrupted stage" in message
    assert BootRun.objects.count() == 1


@pytest.fixture
def admin_registry(monkeypatch, stages: StageRegistry) -> StageRegistry:
    """Make the admin's actions run the test's stages instead of the project's."""
    monkeypatch.setattr(actions, "registry", stages)
    return stages


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_rerun__runs_a_failed_stage_again_as_a_new_run(operator: Client,
                                                       admin_registry: StageRegistry) -> None:
    admin_registry.stage("db.migrate", critical=True)(lambda ctx: None)
    admin_registry.stage("pricing.refresh", depends_on=["db.migrate"])(lambda ctx: "42 prices")
    failed = record()
    response = operator.post(RERUN, {"run": str(failed.id), "stage": "pricing.refresh"})
    again = BootRun.objects.exclude(id=failed.id)
    wait_for(lambda: again.filter(state=RunState.COMPLETE).exists())
    [run] = again
    assert response.status_code == 302 and response["Location"] == f"{PAGE}{run.id}/"
    assert run.trigger == "admin"
    [stage] = run.stages.all()
    assert (stage.name, stage.state, stage.attempts, stage.detail) == (
        "pricing.refresh", StageState.SUCCEEDED, 1, "42 prices")
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"running again as run {run.id}" in message


@pytest.mark.django_db(transaction=True)
def test_rerun__starts_the_whole_pipeline_again(operator: Client, admin_registry: StageRegistry,
                                                isolated_runner: None) -> None:
    admin_registry.stage("db.migrate", critical=True)(lambda ctx: None)

    @admin_registry.stage("pricing.refresh", depends_on=["db.migrate"])
    def refresh(ctx):
        raise StageError("price list unreachable: check OPENROUTER_BASE_URL")

    response = operator.post(RERUN)
    wait_for(lambda: BootRun.objects.filter(state=RunState.DEGRADED).exists())
    run = BootRun.objects.get()
    assert response["Location"] == f"{PAGE}{run.id}/"
    assert run.trigger == "admin"
    assert {s.name: s.state for s in run.stages.all()} == {
        "db.migrate": StageState.SUCCEEDED, "pricing.refresh": StageState.FAILED}
    page = operator.get(response["Location"]).content.decode()
    assert "price list unreachable" in page
    assert 'name="stage" value="pricing.refresh"' in page
