"""The states of a stage run and of a boot run."""

from __future__ import annotations

from django.db import models


class StageState(models.TextChoices):
    """Where one stage is in one run."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CACHED = "cached"
    SKIPPED = "skipped"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    BLOCKED = "blocked"
    INTERRUPTED = "interrupted"


class RunState(models.TextChoices):
    """Where one process's run is as a whole."""

    STARTING = "starting"
    READY = "ready"
    COMPLETE = "complete"
    DEGRADED = "degraded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


# A stage in one of these may be depended on: its work is done, or there was none to do.
OK_STATES = frozenset({StageState.SUCCEEDED, StageState.CACHED, StageState.SKIPPED})
BAD_STATES = frozenset(
    {StageState.FAILED, StageState.TIMED_OUT, StageState.BLOCKED, StageState.INTERRUPTED}
)
TERMINAL_STATES = OK_STATES | BAD_STATES
LIVE_RUN_STATES = frozenset({RunState.STARTING, RunState.READY})
