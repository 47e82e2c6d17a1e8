"""Reads of the boot records: runs as statuses, and outcomes other processes recorded."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Prefetch, QuerySet

from .models import BootRun, StageRun
from .states import RunState, StageState
from .status import RunStatus, StageStatus

# Stages by priority, then in the order they started: the order a person reads them in.
STAGE_ORDER = ("-priority", "started_at", "name")


def run_statuses(runs: QuerySet[BootRun]) -> list[RunStatus]:
    """Return recorded runs as statuses, reading all their stages in one more query."""
    ordered = Prefetch("stages", queryset=StageRun.objects.order_by(*STAGE_ORDER))
    return [run_status(run) for run in runs.prefetch_related(ordered)]


def run_status(run: BootRun) -> RunStatus:
    """Return a recorded run as a status (its stages as prefetched, or in STAGE_ORDER)."""
    status = RunStatus(
        id=run.id, host=run.host, pid=run.pid, trigger=run.trigger,
        state=RunState(run.state), started_at=run.started_at, ready_at=run.ready_at,
        finished_at=run.finished_at,
    )
    rows = run.stages.all()
    if "stages" not in getattr(run, "_prefetched_objects_cache", {}):
        rows = rows.order_by(*STAGE_ORDER)
    for row in rows:
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
    """Return the newest recorded run (or the one with this id); None if there is none yet,
    tables included: before db.migrate made them, nothing has been recorded."""
    runs = BootRun.objects.all()
    try:
        run = runs.filter(id=run_id).first() if run_id else runs.order_by("-started_at").first()
        return run_status(run) if run else None
    except DatabaseError:
        return None


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
