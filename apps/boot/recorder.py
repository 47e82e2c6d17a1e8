"""Write a run's in-memory status to the database, holding it in memory while tables are missing."""

from __future__ import annotations

import logging
import threading
import time

from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from .models import BootRun, StageRun
from .redact import safe_error
from .services import runs_mark_interrupted
from .status import RunStatus, StageStatus

logger = logging.getLogger(__name__)

RUN_FIELDS = ["host", "pid", "trigger", "state", "started_at", "ready_at", "finished_at",
              "heartbeat_at"]
STAGE_FIELDS = ["state", "critical", "executor", "scope", "depends_on", "priority", "attempts",
                "queued_at", "started_at", "finished_at", "duration_ms", "detail", "error",
                "task_id", "facts"]


class Recorder:
    """Persists one RunStatus: only what changed, in one statement per table."""

    def __init__(self, status: RunStatus, lock: threading.Condition | threading.RLock,
                 *, using: str = "default", record_run: bool = True) -> None:
        self.status = status
        self.using = using
        # A qcluster worker records one stage of another process's run, never the run itself.
        self.record_run = record_run
        self._lock = lock
        self._dirty: set[str] = set(status.stages)
        self._run_dirty = True
        self._tables_seen = False
        self._warned = False
        self._heartbeat_at: float = 0.0
        # Queue stages, once handed over, are written by the worker that runs them.
        self.owned_elsewhere: set[str] = set()

    def touch(self, name: str | None = None) -> None:
        """Mark a stage (or, with no name, the run) as changed; call with the lock held."""
        if name is None:
            self._run_dirty = True
        else:
            self._dirty.add(name)

    @property
    def persistent(self) -> bool:
        """Say whether the tables exist (as far as the last flush saw)."""
        return self._tables_seen

    def flush(self, *, heartbeat: bool = False) -> bool:
        """Write what changed; return False (keeping it for later) if the database can't take it."""
        if not self._tables_ready():
            return False
        with self._lock:
            if heartbeat:
                self._run_dirty = True
            run_row = self._run_row() if self._run_dirty and self.record_run else None
            names = self._dirty - self.owned_elsewhere
            stage_rows = [self._stage_row(self.status.stages[n]) for n in sorted(names)]
            self._dirty -= names
            self._run_dirty = False
        try:
            # One transaction, so no reader ever sees a run without its stages.
            with transaction.atomic(using=self.using):
                if run_row is not None:
                    BootRun.objects.using(self.using).bulk_create(
                        [run_row], update_conflicts=True, unique_fields=["id"],
                        update_fields=RUN_FIELDS,
                    )
                if stage_rows:
                    StageRun.objects.using(self.using).bulk_create(
                        stage_rows, update_conflicts=True, unique_fields=["run", "name"],
                        update_fields=STAGE_FIELDS,
                    )
        except DatabaseError as exc:
            with self._lock:
                self._dirty |= names
                self._run_dirty = self._run_dirty or run_row is not None
            self._warn(exc)
            return False
        return True

    def heartbeat_due(self, every: float) -> bool:
        """Say whether it is time to tell other processes this run is alive."""
        now = time.monotonic()
        if now - self._heartbeat_at >= every:
            self._heartbeat_at = now
            return True
        return False

    def _tables_ready(self) -> bool:
        if self._tables_seen:
            return True
        try:
            tables = connections[self.using].introspection.table_names()
        except DatabaseError as exc:
            self._warn(exc)
            return False
        if BootRun._meta.db_table in tables and StageRun._meta.db_table in tables:
            self._tables_seen = True
            if not self.record_run:
                return True
            # The first moment we can see other runs is the moment to close the dead ones.
            try:
                runs_mark_interrupted(exclude_id=self.status.id, using=self.using)
            except DatabaseError as exc:
                self._warn(exc)
        return self._tables_seen

    def _run_row(self) -> BootRun:
        status = self.status
        return BootRun(
            id=status.id, host=status.host, pid=status.pid, trigger=status.trigger,
            state=status.state, started_at=status.started_at, ready_at=status.ready_at,
            finished_at=status.finished_at, heartbeat_at=timezone.now(),
        )

    def _stage_row(self, stage: StageStatus) -> StageRun:
        return StageRun(
            run_id=self.status.id, name=stage.name, state=stage.state, critical=stage.critical,
            executor=stage.executor, scope=stage.scope, depends_on=list(stage.depends_on),
            priority=stage.priority, attempts=stage.attempts, queued_at=stage.queued_at,
            started_at=stage.started_at, finished_at=stage.finished_at,
            duration_ms=stage.duration_ms, detail=stage.detail, error=stage.error,
            task_id=stage.task_id, facts=stage.facts,
        )

    def _warn(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("boot bookkeeping is kept in memory for now: %s", safe_error(exc))

