"""The `queue` executor: hand a stage to django-q2, and run it in a qcluster worker."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings

from .conf import boot_settings
from .models import StageRun
from .registry import registry
from .selectors import stage_status
from .stage import Stage
from .states import StageState
from .status import RunStatus


def task_timeout(stage: Stage) -> int:
    """Return django-q2's timeout for a stage: all its attempts and waits, within the cluster's."""
    retry = stage.retry
    bound = stage.timeout * retry.attempts + retry.backoff_max * (retry.attempts - 1) + 5
    return int(min(bound, settings.Q_CLUSTER.get("timeout", bound)))


def stage_enqueue(*, run_id: uuid.UUID, stage: Stage) -> str:
    """Queue one stage of a run for a qcluster worker; return django-q2's task id."""
    from django_q.tasks import async_task

    return async_task(
        "apps.boot.queue.stage_task", str(run_id), stage.name, stage.label,
        task_name=f"boot {stage.name} {str(run_id)[:8]}", group="boot",
        timeout=task_timeout(stage),
    )


def stage_task(run_id: str, name: str, label: str) -> str:
    """Run a queued stage in this worker, recording into the run that queued it (a q2 task)."""
    from django.utils.module_loading import import_string

    from .runner import Runner

    row = StageRun.objects.select_related("run").filter(run_id=run_id, name=name).first()
    if row is None or row.state != StageState.QUEUED:
        # Delivered twice, or the run is gone: the stage is someone else's now.
        return f"not run: stage is {row.state if row else 'not recorded'}"
    run = row.run
    status = RunStatus(id=run.id, host=run.host, pid=run.pid, trigger=run.trigger,
                       started_at=run.started_at)
    status.stages[name] = stage_status(row)
    # The function knows its own declaration, so stages of any registry run here.
    declared = getattr(import_string(label), "stage", None) or registry.get(name)
    runner = Runner([boot_settings.apply_overrides(declared)], status=status, record_run=False)
    result = runner.run_here(name)
    return f"{result.state}: {result.error or result.detail}"


def task_outcome(task_id: str) -> dict[str, Any] | None:
    """Return django-q2's record of a finished task ({"success", "result"}), or None."""
    from django_q.models import Task

    task = Task.objects.filter(id=task_id).values("success", "result").first()
    return task
