"""Re-run the pipeline, or one stage of it, on an operator's request (the admin's buttons)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections import OrderedDict

from .models import StageRun
from .readiness import current_runner
from .registry import StageRegistry, registry
from .runner import Runner
from .states import StageState
from .status import RunStatus
from .trigger import run_in_background, start_pipeline

logger = logging.getLogger("apps.boot")

# What a person may ask to run again: it ran and ended badly. A blocked stage never ran; its
# failed dependency is what to re-run (or the whole pipeline).
RERUNNABLE = frozenset({StageState.FAILED, StageState.TIMED_OUT, StageState.INTERRUPTED})
REMEMBERED = 20

_lock = threading.RLock()
# Runs started here, so the page can show them before their first row reaches the database.
_started: OrderedDict[uuid.UUID, Runner] = OrderedDict()


class ActionRefused(Exception):
    """The action can't be done now; the message says why and what to do instead."""


def pipeline_rerun(*, stages: StageRegistry | None = None) -> Runner:
    """Start the whole pipeline again in this process, in the background; return its runner."""
    running = current_runner()
    if running is not None and running.status.stages and not running.finished.is_set():
        raise ActionRefused(f"run {running.status.id} is still going in this process: "
                            "wait for it to end, then re-run")
    runner = start_pipeline(stages=stages if stages is not None else registry,
                            trigger="admin", force=True)
    if runner is None:  # pragma: no cover - force=True always starts one
        raise ActionRefused("the pipeline did not start")
    _remember(runner)
    logger.info("boot run %s started from the admin", runner.status.id)
    return runner


def stage_rerun(*, run_id: uuid.UUID | str, name: str,
                stages: StageRegistry | None = None) -> Runner:
    """Run one stage that ended badly again, as a new run of its own, in a background thread."""
    row = StageRun.objects.filter(run_id=run_id, name=name).only("state").first()
    if row is None:
        raise ActionRefused(f"run {run_id} has no stage '{name}'")
    if row.state not in RERUNNABLE:
        raise ActionRefused(f"stage '{name}' ended {row.state}: only a failed, timed out or "
                            "interrupted stage can be re-run alone; re-run the whole pipeline")
    try:
        declared = (stages if stages is not None else registry).get(name)
    except LookupError as exc:
        raise ActionRefused(f"{exc} This process does not declare it, so can't run it.") from None
    with _lock:
        for runner in _started.values():
            if name in runner.stages and not runner.finished.is_set():
                raise ActionRefused(f"stage '{name}' is already being re-run (run "
                                    f"{runner.status.id})")
        # Its dependencies ended well in the run it failed in; alone, a runner would block it
        # for depending on stages it does not hold.
        runner = Runner([dataclasses.replace(declared, depends_on=(), lazy=False)],
                        trigger="admin")
        _remember(runner)
    run_in_background(runner, thread_name=f"boot:admin:{name}")
    logger.info("stage %s re-run from the admin as run %s", name, runner.status.id)
    return runner


def started_status(run_id: uuid.UUID) -> RunStatus | None:
    """Return the in-memory status of a run this process started, if it is one."""
    current = current_runner()
    if current is not None and current.status.id == run_id:
        return current.status
    with _lock:
        runner = _started.get(run_id)
    return runner.status if runner else None


def _remember(runner: Runner) -> None:
    with _lock:
        _started[runner.status.id] = runner
        while len(_started) > REMEMBERED:
            _started.popitem(last=False)

