"""Reads of the boot records: runs as statuses, and outcomes other processes recorded."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import DatabaseError

from .models import BootRun, StageRun
from .states import RunState, StageState
from .status import RunStatus, StageStatus


def run_status(run: BootRun) -> RunStatus:
    """Return a recorded run as a status, its stages in their declared order of priority."""
    status = RunStatus(
        id=run.id, host=run.host, pid=run.pid, trigger=run.trigger,
        state=RunState(run.state), started_at=run.started_at, ready_at=run.ready_at,
        finished_at=run.finished_at,
    )
    for row in run.stages.all().order_by("-priority", "started_at", "name"):
        status.stages[row.name] = stage_status(row)
    return status


def stage_status(row: StageRun) -> StageStatus:
    """Return a recorded stage run as a status."""
    return StageStatus(
        name=row.name, critical=row.critical, executor=row.executor, scope=row.scope,
        depends_on=tuple(row.depends_on), priority=row.priority, state=StageState(row.state),
        attempts=row.attempts, queued_at=row.queued_at, started_at=row.started_at,
        finished_at=row.finished_at, duration_ms=row.duration_ms, detail=row.detail,
        error=row.error, task_id=row.task_id, facts=dict(row.facts or {}),
    )


def run_latest(*, run_id: uuid.UUID | str | None = None) -> RunStatus | None:
    """Return the newest recorded run (or the one with this id), or None if there is none."""
    runs = BootRun.objects.all()
    run = runs.filter(id=run_id).first() if run_id else runs.order_by("-started_at").first()
    return run_status(run) if run else None


def cluster_outcome(*, name: str, since: datetime, exclude_run: uuid.UUID) -> StageRun | None:
    """Return another process's success of a stage recorded since `since`, if any."""
    try:
        return (
            StageRun.objects.select_related("run")
            .filter(name=name, state=StageState.SUCCEEDED, finished_at__gte=since)
            .exclude(run_id=exclude_run)
            .order_by("-finished_at")
            .first()
        )
    except DatabaseError:
        return None
