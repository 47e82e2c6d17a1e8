"""The in-memory picture of a run, which the runner updates and the probes read without I/O."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from .stage import Stage
from .states import BAD_STATES, OK_STATES, TERMINAL_STATES, RunState, StageState


@dataclass
class StageStatus:
    """One stage's progress in one run."""

    name: str
    critical: bool = False
    executor: str = "thread"
    scope: str = "process"
    depends_on: tuple[str, ...] = ()
    priority: int = 0
    state: StageState = StageState.PENDING
    attempts: int = 0
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    detail: str = ""
    error: str = ""
    task_id: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_stage(cls, stage: Stage) -> StageStatus:
        """Return a pending status for a declared stage."""
        return cls(
            name=stage.name, critical=stage.critical, executor=stage.executor, scope=stage.scope,
            depends_on=tuple(stage.depends_on), priority=stage.priority,
        )

    @property
    def terminal(self) -> bool:
        """Say whether the stage has ended, well or badly."""
        return self.state in TERMINAL_STATES

    @property
    def ok(self) -> bool:
        """Say whether dependents may go on: the work is done or there was none."""
        return self.state in OK_STATES

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape of `boot_status --json`."""
        return {
            "name": self.name,
            "state": str(self.state),
            "critical": self.critical,
            "executor": self.executor,
            "scope": self.scope,
            "depends_on": list(self.depends_on),
            "priority": self.priority,
            "attempts": self.attempts,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration_ms": self.duration_ms,
            "detail": self.detail,
            "error": self.error,
            "task_id": self.task_id,
            "migrations": list(self.facts.get("migrations", [])),
        }


@dataclass
class RunStatus:
    """One process's run of the pipeline."""

    id: uuid.UUID = field(default_factory=uuid.uuid4)
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    trigger: str = "wsgi"
    state: RunState = RunState.STARTING
    started_at: datetime = field(default_factory=timezone.now)
    ready_at: datetime | None = None
    finished_at: datetime | None = None
    stages: dict[str, StageStatus] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Say whether every critical stage ended well (so the process may take traffic)."""
        return all(s.ok for s in self.stages.values() if s.critical)

    @property
    def terminal(self) -> bool:
        """Say whether every stage has ended."""
        return all(s.terminal for s in self.stages.values())

    def derive_state(self) -> RunState:
        """Compute the run's state from its stages' states."""
        if self.state == RunState.INTERRUPTED:
            return self.state
        if any(s.critical and s.state in BAD_STATES for s in self.stages.values()):
            return RunState.FAILED
        if not self.ready:
            return RunState.STARTING
        if any(s.state in BAD_STATES for s in self.stages.values()):
            return RunState.DEGRADED
        return RunState.COMPLETE if self.terminal else RunState.READY

    def refresh_state(self) -> bool:
        """Update state, ready_at and finished_at from the stages; return whether they changed."""
        before = (self.state, self.ready_at, self.finished_at)
        self.state = self.derive_state()
        now = timezone.now()
        if self.ready and self.ready_at is None:
            self.ready_at = now
        if self.terminal and self.finished_at is None:
            self.finished_at = now
        return before != (self.state, self.ready_at, self.finished_at)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape of `boot_status --json`."""
        return {
            "run": {
                "id": str(self.id),
                "state": str(self.state),
                "host": self.host,
                "pid": self.pid,
                "trigger": self.trigger,
                "started_at": _iso(self.started_at),
                "ready_at": _iso(self.ready_at),
                "finished_at": _iso(self.finished_at),
            },
            "stages": [s.as_dict() for s in self.stages.values()],
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
