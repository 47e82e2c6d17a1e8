"""A queue stage links to its django-q2 task, whose admin pages stay available."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from model_bakery import baker

from apps.boot.dashboard import task_url
from apps.boot.states import StageState
from apps.boot.status import StageStatus

pytestmark = pytest.mark.django_db

# django-q2 has an admin page for its queue only when the queue is in the database.
ORM_BROKER = "orm" in settings.Q_CLUSTER


def test_task_url__points_at_the_task_by_its_outcome() -> None:
    done = StageStatus(name="q", task_id="abc123", state=StageState.SUCCEEDED)
    failed = StageStatus(name="q", task_id="abc123", state=StageState.FAILED)
    queued = StageStatus(name="q", task_id="abc123", state=StageState.QUEUED)
    assert task_url(done) == "/admin/django_q/success/abc123/change/"
    assert task_url(failed) == "/admin/django_q/failure/abc123/change/"
    assert task_url(queued) == ("/admin/django_q/ormq/" if ORM_BROKER else "")
    assert task_url(StageStatus(name="thread")) == ""


@pytest.mark.parametrize("page", [
    pytest.param("ormq", marks=pytest.mark.skipif(not ORM_BROKER, reason="Redis broker")),
    "success", "failure", "schedule",
])
def test_django_q_admin__pages_stay_available(client, page: str) -> None:
    client.force_login(baker.make("auth.User", is_staff=True, is_superuser=True))
    assert client.get(f"/admin/django_q/{page}/").status_code == 200


def test_status_page__links_a_queue_stage_to_its_task(client) -> None:
    from django.utils import timezone

    from apps.boot.models import BootRun, StageRun

    run = baker.make(BootRun, started_at=timezone.now(), pid=1)
    baker.make(StageRun, run=run, name="db.migrate_deferred", executor="queue",
               state=StageState.SUCCEEDED, task_id="f00d", started_at=timezone.now(),
               facts={"migrations": [{"name": "deferredapp.0002_note_slug", "state": "applied",
                                      "duration_ms": 12, "attempts": 1, "error": ""}]})
    user = baker.make("auth.User", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_bootrun"))
    client.force_login(user)
    page = client.get(f"/admin/boot/status/{run.id}/").content.decode()
    assert 'href="/admin/django_q/success/f00d/change/"' in page
    assert "deferredapp.0002_note_slug" in page
