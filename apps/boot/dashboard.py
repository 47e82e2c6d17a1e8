"""The admin's startup status page: live runs, their stages and timeline, a JSON poll, actions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST, require_safe

from . import actions, timeline
from .humanize import span
from .models import BootRun
from .readiness import current_runner
from .render import stage_duration
from .selectors import run_statuses
from .states import LIVE_RUN_STATES, RunState, StageState
from .status import RunStatus, StageStatus

VIEW_PERM = "boot.view_bootrun"
CHANGE_PERM = "boot.change_bootrun"
HISTORY_LENGTH = 10

View = Callable[..., HttpResponse]


def staff_required(perm: str) -> Callable[[View], View]:
    """Send anonymous users to the admin login; refuse (403) users without `perm`."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            # Unlike admin_view, a signed-in user who may not see this gets a 403, not a
            # login form that invites signing in as someone else.
            if not (user.is_active and user.is_staff and user.has_perm(perm)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return never_cache(csrf_protect(wrapped))

    return decorator


# -- reads ---------------------------------------------------------------------------------


def runs_shown(*, run_id: uuid.UUID | None = None) -> list[RunStatus]:
    """Return the run asked for, or every live run (the newest finished one if none is live)."""
    if run_id is not None:
        found = run_statuses(BootRun.objects.filter(id=run_id))
        status = found[0] if found else actions.started_status(run_id)
        if status is None:
            raise Http404(f"no boot run {run_id}")
        return [status]
    shown = run_statuses(BootRun.objects.filter(state__in=LIVE_RUN_STATES))
    # This process's run may not have reached the database yet (its tables may be migrating).
    runner = current_runner()
    if (runner is not None and runner.status.state in LIVE_RUN_STATES
            and runner.status.id not in {s.id for s in shown}):
        shown.insert(0, runner.status)
    if not shown:
        shown = run_statuses(BootRun.objects.order_by("-started_at")[:1])
    return shown


def runs_history(*, limit: int = HISTORY_LENGTH) -> list[dict[str, Any]]:
    """Return the latest runs, one per process start, with their outcome and durations."""
    return [
        {"id": run.id, "host": run.host, "pid": run.pid, "trigger": run.trigger,
         "state": run.state, "started_at": run.started_at,
         "interrupted": run.state == RunState.INTERRUPTED,
         "to_ready": span(run.started_at, run.ready_at),
         "total": span(run.started_at, run.finished_at)}
        for run in BootRun.objects.order_by("-started_at")[:limit]
    ]


def task_url(stage: StageStatus) -> str:
    """Return the django-q2 admin page of a queue stage's task, or ''."""
    if not stage.task_id:
        return ""
    try:
        if stage.state == StageState.SUCCEEDED:
            return reverse("admin:django_q_success_change", args=[stage.task_id])
        if stage.terminal:
            return reverse("admin:django_q_failure_change", args=[stage.task_id])
        # The queue's own admin page exists only with the ORM broker.
        return reverse("admin:django_q_ormq_changelist")
    except NoReverseMatch:
        return ""


def run_payload(status: RunStatus, *, now: datetime | None = None) -> dict[str, Any]:
    """Return a run as the page draws it and the JSON poll sends it."""
    now = now or timezone.now()
    body = status.as_dict()
    stages = timeline.ordered(status)
    body["stages"] = [stage.as_dict() for stage in stages]
    done = sum(1 for s in stages if s.terminal)
    body["run"].update(
        started=timezone.localtime(status.started_at).strftime("%Y-%m-%d %H:%M:%S %Z"),
        time_to_ready=span(status.started_at, status.ready_at),
        total=span(status.started_at, status.finished_at),
        interrupted=status.state == RunState.INTERRUPTED,
    )
    for shape, stage in zip(body["stages"], stages, strict=True):
        shape.update(
            queued_at=stage.queued_at.isoformat() if stage.queued_at else None,
            duration=stage_duration(stage), terminal=stage.terminal,
            rerunnable=stage.state in actions.RERUNNABLE,
            task_url=task_url(stage),
        )
    drawn = timeline.build(status, now=now)
    body["progress"] = {"done": done, "total": len(stages),
                        "percent": round(100 * done / len(stages)) if stages else 100}
    body["terminal"] = status.terminal
    body["critical_path"] = list(drawn.critical_path)
    body["timeline"] = str(drawn.svg)
    return body


def _run_param(request: HttpRequest) -> uuid.UUID | None:
    return _run_id(request.GET.get("run", ""))


def _run_id(value: str) -> uuid.UUID | None:
    """Return the run id a query or form gave, None for none, 404 for a malformed one."""
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404("run is not a run id") from None


# -- views ---------------------------------------------------------------------------------


@staff_required(VIEW_PERM)
@require_safe
def status_page(request: HttpRequest, run_id: uuid.UUID | None = None) -> HttpResponse:
    """Show the live runs (or one run): progress, stages, timeline, and recent history."""
    run_id = run_id or _run_param(request)
    now = timezone.now()
    runs = [run_payload(status, now=now) for status in runs_shown(run_id=run_id)]
    context = {
        **admin.site.each_context(request),
        "title": "Startup status" if run_id is None else f"Boot run {run_id}",
        "runs": runs,
        "one_run": run_id is not None,
        "history": runs_history(),
        "can_change": request.user.has_perm(CHANGE_PERM),
    }
    return TemplateResponse(request, "admin/boot/status.html", context)


@staff_required(VIEW_PERM)
@require_safe
def status_json(request: HttpRequest) -> JsonResponse:
    """Answer the page's poll: one run (?run=<id>) or the live runs, with their timeline."""
    run_id = _run_param(request)
    now = timezone.now()
    return JsonResponse({"runs": [run_payload(s, now=now) for s in runs_shown(run_id=run_id)]})


@staff_required(CHANGE_PERM)
@require_POST
def rerun(request: HttpRequest) -> HttpResponseRedirect:
    """Re-run one stage that ended badly (`stage` and `run` given) or the whole pipeline."""
    name = request.POST.get("stage", "")
    shown = _form_run(request)
    try:
        if name:
            if shown is None:
                raise Http404("re-running a stage needs the run it ended badly in")
            runner = actions.stage_rerun(run_id=shown, name=name)
            messages.success(request, f"Stage {name} is running again as run {runner.status.id}.")
        else:
            runner = actions.pipeline_rerun()
            messages.success(request, f"The pipeline is running again as run {runner.status.id}.")
    except actions.ActionRefused as refused:
        messages.error(request, str(refused))
        back = reverse("boot-status-run", args=[shown]) if shown else reverse("boot-status")
        return HttpResponseRedirect(back)
    return HttpResponseRedirect(reverse("boot-status-run", args=[runner.status.id]))


def _form_run(request: HttpRequest) -> uuid.UUID | None:
    return _run_id(request.POST.get("run", ""))
