"""Writes to the boot records that are not a run's own bookkeeping."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .conf import boot_settings
from .models import BootRun, StageRun
from .states import LIVE_RUN_STATES, TERMINAL_STATES, RunState, StageState


def pid_alive(pid: int) -> bool:
    """Say whether a process with this pid exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runs_mark_interrupted(*, exclude_id: uuid.UUID | None = None, using: str = "default") -> int:
    """Mark live runs whose process died, and their unfinished stages, interrupted; count them."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=boot_settings.stale_after)
    host = socket.gethostname()
    dead: list[BootRun] = []
    live = BootRun.objects.using(using).filter(state__in=LIVE_RUN_STATES).exclude(id=exclude_id)
    for run in live:
        # A pid can be reused, so a stale heartbeat counts as death on this host too.
        heartbeat_stale = (run.heartbeat_at or run.started_at) < stale_before
        if heartbeat_stale or (run.host == host and not pid_alive(run.pid)):
            dead.append(run)
    with transaction.atomic(using=using):
        for run in dead:
            BootRun.objects.using(using).filter(id=run.id).update(
                state=RunState.INTERRUPTED, finished_at=now,
            )
            StageRun.objects.using(using).filter(run=run).exclude(
                state__in=TERMINAL_STATES,
            ).update(
                state=StageState.INTERRUPTED,
                finished_at=now,
                error=f"process {run.host}:{run.pid} ended before this stage finished; "
                "the next start runs it again",
            )
    return len(dead)
