"""The runner: one process's run of the pipeline, on a bounded pool of named threads."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connections
from django.utils import timezone
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from .checks import find_cycle
from .conf import boot_settings
from .errors import StageError, StageSkipped, StageTimeout
from .humanize import duration
from .locks import cluster_lock
from .models import StageRun
from .recorder import Recorder
from .redact import one_line, redact, safe_error
from .selectors import cluster_outcome
from .stage import EXECUTORS, SCOPES, Stage, StageContext
from .states import StageState
from .status import RunStatus, StageStatus
from .transient import is_transient

logger = logging.getLogger("apps.boot")

# What a cluster stage's detail starts with when another process did the work.
RELAYED_PREFIX = "succeeded in "
# How often the scheduler reads back what workers recorded for its queue stages.
QUEUE_POLL = 0.5


@dataclass(eq=False)
class Attempt:
    """The runner's handle on one stage's thread: its deadline, and whether it was abandoned."""

    stage: Stage
    deadline: float | None = None
    finished: bool = False
    abandoned: bool = False
    background: bool = False
    wake: threading.Event = field(default_factory=threading.Event)

    def sleep(self, seconds: float) -> None:
        """Wait between attempts, returning early if the runner gave up on this stage."""
        self.wake.wait(seconds)


class Runner:
    """Runs a snapshot of stages once, in dependency and priority order, recording everything."""

    def __init__(self, stages: Iterable[Stage], *, trigger: str = "wsgi",
                 max_workers: int | None = None, using: str = "default",
                 queue_inline: bool = False, status: RunStatus | None = None,
                 record_run: bool = True, include_lazy: bool = False) -> None:
        declared = [boot_settings.apply_overrides(stage) for stage in stages]
        self.stages = {stage.name: stage for stage in declared
                       if include_lazy or not stage.lazy}
        self.lazy = {stage.name: stage for stage in declared if stage.lazy}
        self.status = status or RunStatus(trigger=trigger)
        for stage in self.stages.values():
            self.status.stages.setdefault(stage.name, StageStatus.for_stage(stage))
        self.max_workers = max_workers or boot_settings.max_workers
        self.using = using
        # Queue stages run on this process's threads instead (boot_run, tests).
        self.queue_inline = queue_inline
        self._cond = threading.Condition(threading.RLock())
        self._flush_lock = threading.Lock()
        self.recorder = Recorder(self.status, self._cond, using=using, record_run=record_run)
        self._inflight: dict[str, Attempt] = {}
        self._busy = 0  # thread stages running now, against max_workers
        self._pending: list[str] = []
        self._to_enqueue: list[Stage] = []
        self._queue_polled = 0.0
        self._stop = threading.Event()
        self._changed = False
        self._started = False
        self.finished = threading.Event()

    # -- the run as a whole ------------------------------------------------------------------

    def run(self) -> RunStatus:
        """Run every stage to a terminal state and return the run's status; only once."""
        with self._cond:
            if self._started:
                raise RuntimeError("A Runner runs once; build a new one for another run.")
            self._started = True
        logger.info("boot run %s started: %d stages", self.status.id, len(self.stages))
        try:
            # Phase 1: stages whose declaration can never run end now, with the reason.
            with self._cond:
                self._reject_broken_declarations()
                self._pending = self._launch_order()
            # Phase 2: start what can start, wait for something to change, repeat.
            self._loop()
        finally:
            # Phase 3: record the outcome, and leave no connection of this thread open.
            self._flush(final=True)
            connections.close_all()
            self.finished.set()
        logger.info("boot run %s ended %s", self.status.id, self.status.state)
        return self.status

    def _loop(self) -> None:
        heartbeat = boot_settings.heartbeat
        while True:
            with self._cond:
                self._expire_deadlines()
                self._block_dependents()
                self._launch_runnable()
                if self.status.refresh_state():
                    self.recorder.touch()
                done = self.status.terminal
                self._changed = False
            self._flush(heartbeat=self.recorder.heartbeat_due(heartbeat))
            if done or self._stop.is_set():
                return
            self._hand_to_queue()
            self._poll_queue()
            with self._cond:
                if not self._changed:
                    self._cond.wait(self._wait_time(heartbeat))

    def _flush(self, *, heartbeat: bool = False, final: bool = False) -> None:
        with self._flush_lock:
            if final:
                with self._cond:
                    self.status.refresh_state()
                    self.recorder.touch()
            self.recorder.flush(heartbeat=heartbeat)

    def _wait_time(self, heartbeat: float) -> float:
        deadlines = [a.deadline for a in self._inflight.values() if a.deadline is not None]
        nearest = min(deadlines, default=time.monotonic() + heartbeat) - time.monotonic()
        if self.recorder.owned_elsewhere or self._to_enqueue:
            nearest = min(nearest, QUEUE_POLL)
        return max(0.0, min(nearest, heartbeat))

    # -- queue stages (scheduler thread, lock not held) --------------------------------------

    def _hand_to_queue(self) -> None:
        """Give queued stages to django-q2 once their row is recorded for the worker to find."""
        if not self._to_enqueue or not self.recorder.persistent:
            return
        from .queue import stage_enqueue

        while self._to_enqueue:
            stage = self._to_enqueue.pop(0)
            try:
                task_id = stage_enqueue(run_id=self.status.id, stage=stage)
            except Exception as exc:  # a broker that is down must not stop the run
                with self._cond:
                    status = self.status.stages[stage.name]
                    self._end(status, StageState.FAILED, error=(
                        f"could not hand the stage to django-q2 ({safe_error(exc)}): check "
                        "Q_CLUSTER's broker"))
                continue
            with self._cond:
                self.status.stages[stage.name].task_id = task_id
                self.recorder.owned_elsewhere.add(stage.name)
            StageRun.objects.using(self.using).filter(
                run_id=self.status.id, name=stage.name).update(task_id=task_id)

    def _poll_queue(self) -> None:
        """Read back what workers recorded for this run's queue stages."""
        if not self.recorder.owned_elsewhere or time.monotonic() - self._queue_polled < QUEUE_POLL:
            return
        self._queue_polled = time.monotonic()
        from .queue import task_outcome
        from .selectors import stage_status

        rows = StageRun.objects.using(self.using).filter(
            run_id=self.status.id, name__in=self.recorder.owned_elsewhere)
        for row in rows:
            recorded = stage_status(row)
            if recorded.state in (StageState.QUEUED, StageState.RUNNING) and row.task_id:
                outcome = task_outcome(row.task_id)
                if outcome is not None and not outcome["success"]:
                    # The worker was stopped (django-q2's timeout) before it could record.
                    state = (StageState.TIMED_OUT if "timeout" in str(outcome["result"]).lower()
                             else StageState.FAILED)
                    recorded.state = state
                    recorded.finished_at = timezone.now()
                    recorded.error = one_line(f"the qcluster worker stopped it: "
                                              f"{outcome['result']}")
                    self._write_back(recorded)
            if recorded.state == StageState.QUEUED:
                self._warn_unclaimed(recorded)
            with self._cond:
                current = self.status.stages[row.name]
                for name in ("state", "attempts", "started_at", "finished_at", "duration_ms",
                             "detail", "error", "facts"):
                    setattr(current, name, getattr(recorded, name))
                if current.terminal:
                    self.recorder.owned_elsewhere.discard(row.name)
                self._changed = True

    def _warn_unclaimed(self, recorded: StageStatus) -> None:
        waited = (timezone.now() - (recorded.queued_at or timezone.now())).total_seconds()
        if waited < boot_settings.queue_pickup_warning:
            return
        recorded.detail = (f"queued {duration(waited)}, no worker has taken it: is "
                           "`manage.py qcluster` running?")
        StageRun.objects.using(self.using).filter(
            run_id=self.status.id, name=recorded.name, state=StageState.QUEUED,
        ).update(detail=recorded.detail)

    def _write_back(self, recorded: StageStatus) -> None:
        StageRun.objects.using(self.using).filter(
            run_id=self.status.id, name=recorded.name,
            state__in=[StageState.QUEUED, StageState.RUNNING],
        ).update(state=recorded.state, finished_at=recorded.finished_at, error=recorded.error)

    # -- scheduling (called with the lock held) ----------------------------------------------

    def _reject_broken_declarations(self) -> None:
        cycle = set(find_cycle(self.stages.values()) or ())
        for stage in self.stages.values():
            status = self.status.stages[stage.name]
            unknown = [d for d in stage.depends_on if d not in self.stages]
            if unknown:
                why = ("is lazy, so it does not run at boot" if unknown[0] in self.lazy
                       else "which no app declares")
                self._end(status, StageState.BLOCKED,
                          error=f"depends on '{unknown[0]}', {why}: fix the declaration "
                          "(manage.py check shows it)")
            elif stage.name in cycle:
                self._end(status, StageState.BLOCKED,
                          error=f"part of a dependency cycle ({' -> '.join(sorted(cycle))}): "
                          "remove one dependency (manage.py check shows it)")
            elif problem := _declaration_problem(stage):
                self._end(status, StageState.FAILED,
                          error=f"broken declaration: {problem} (manage.py check shows it)")

    def _launch_order(self) -> list[str]:
        """Return the pending stages by priority, then declaration: the order they may start."""
        position = {name: index for index, name in enumerate(self.stages)}
        pending = [name for name in self.stages
                   if self.status.stages[name].state == StageState.PENDING]
        return sorted(pending, key=lambda name: (-self.stages[name].priority, position[name]))

    def _block_dependents(self) -> None:
        stages = self.status.stages
        changed = True
        while changed:  # blocking one stage may block its own dependents
            changed = False
            for name in list(self._pending):
                status = stages[name]
                bad = next((d for d in status.depends_on
                            if stages[d].terminal and not stages[d].ok), None)
                if bad is not None:
                    self._pending.remove(name)
                    self._end(status, StageState.BLOCKED,
                              error=f"dependency '{bad}' ended {stages[bad].state}")
                    changed = True

    def stop(self) -> None:
        """Stop scheduling: stages still queued or running are left as they are."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def run_here(self, name: str) -> StageStatus:
        """Run one stage of this run in the calling thread (a qcluster worker) and record it."""
        stage = self.stages[name]
        with self._cond:
            status = self.status.stages[name]
            status.state = StageState.RUNNING
            status.started_at = timezone.now()
            status.detail = f"running in worker {socket.gethostname()}:{os.getpid()}"
            self.recorder.touch(name)
        self._flush()
        self._execute(Attempt(stage=stage))
        self._flush()
        return status

    def _launch_runnable(self) -> None:
        stages = self.status.stages
        # Pending names are kept in launch order (priority, then declaration), so the first
        # runnable ones are the ones to start.
        for name in list(self._pending):
            if self._busy >= self.max_workers:
                return
            if all(stages[d].ok for d in stages[name].depends_on):
                self._pending.remove(name)
                self._launch(self.stages[name])

    def _launch(self, stage: Stage) -> None:
        status = self.status.stages[stage.name]
        if stage.executor == "queue" and not self.queue_inline:
            status.state = StageState.QUEUED
            status.queued_at = timezone.now()
            self.recorder.touch(stage.name)
            self._to_enqueue.append(stage)
            return
        status.state = StageState.RUNNING
        status.started_at = timezone.now()
        self.recorder.touch(stage.name)
        attempt = Attempt(stage=stage)
        self._inflight[stage.name] = attempt
        self._busy += 1
        threading.Thread(
            target=self._execute, args=(attempt,), name=f"boot:{stage.name}", daemon=True,
        ).start()

    def _expire_deadlines(self) -> None:
        now = time.monotonic()
        for attempt in list(self._inflight.values()):
            if attempt.finished or attempt.deadline is None or now < attempt.deadline:
                continue
            # A thread can't be killed in Python: abandon it, and ignore whatever it says later.
            attempt.abandoned = True
            attempt.wake.set()
            status = self.status.stages[attempt.stage.name]
            self._finish(attempt, StageState.TIMED_OUT, error=(
                f"attempt {status.attempts} ran over its {attempt.stage.timeout:g} s timeout and "
                "was abandoned: find what it waits on, or raise its timeout"
            ))

    # -- one stage (on its own thread) -------------------------------------------------------

    def _execute(self, attempt: Attempt) -> None:
        stage = attempt.stage
        context = StageContext(
            name=stage.name,
            logger=logging.getLogger(f"apps.boot.stage.{stage.name}"),
            settings=boot_settings.stage_settings(stage.name),
            _report=lambda detail: self._report(attempt, detail),
        )
        try:
            if self._from_cache(attempt):
                return
            self._attempts(attempt, context)
        except StageSkipped as skip:
            self._finish(attempt, StageState.SKIPPED, detail=one_line(str(skip)))
        except StageTimeout:
            pass  # already recorded by the scheduler as timed_out
        except Exception as exc:
            self._fail(attempt, exc)
        finally:
            connections.close_all()

    def _attempts(self, attempt: Attempt, context: StageContext) -> None:
        stage = attempt.stage
        retrying = Retrying(
            stop=stop_after_attempt(stage.retry.attempts),
            wait=wait_exponential_jitter(
                multiplier=stage.retry.backoff, max=stage.retry.backoff_max,
                jitter=stage.retry.backoff * stage.retry.jitter,
            ),
            retry=retry_if_exception(
                lambda exc: not attempt.abandoned and is_transient(exc, stage.retry),
            ),
            sleep=attempt.sleep,
            before_sleep=lambda state: self._report_retry(attempt, state),
            reraise=True,
        )
        for try_ in retrying:
            with try_:
                self._attempt(attempt, context, try_.retry_state.attempt_number)

    def _attempt(self, attempt: Attempt, context: StageContext, number: int) -> None:
        stage = attempt.stage
        if stage.scope != "cluster":
            self._succeed(attempt, self._call(attempt, context, number))
            return
        since = timezone.now()
        wait = float(context.settings.get("lock_wait", stage.timeout * stage.retry.attempts + 30))
        with cluster_lock(f"stage.{stage.name}", wait=wait, using=self.using) as waited:
            other = waited and cluster_outcome(name=stage.name, since=since,
                                               exclude_run=self.status.id)
            if other:
                self._finish(attempt, StageState.SUCCEEDED, detail=_relayed(other))
                return
            self._succeed(attempt, self._call(attempt, context, number))
            # Record before letting go, so a process waiting on this lock sees the outcome.
            self._flush()

    def _call(self, attempt: Attempt, context: StageContext, number: int) -> str:
        stage = attempt.stage
        with self._cond:
            if attempt.abandoned:
                raise StageTimeout(stage.name)
            status = self.status.stages[stage.name]
            status.attempts = number
            context.attempt = number
            attempt.deadline = time.monotonic() + stage.timeout
            self._touch(stage.name)
        try:
            result = stage.func(context)
        finally:
            with self._cond:
                attempt.deadline = None
                if context.facts and not attempt.abandoned:
                    self.status.stages[stage.name].facts.update(context.facts)
        if attempt.abandoned:
            raise StageTimeout(stage.name)
        if result is None:
            return ""
        if not isinstance(result, str):
            raise StageError(
                f"stage returned {type(result).__name__}, not a str: return a one-line detail "
                f"or None from {stage.label}"
            )
        return one_line(result)

    # -- the startup cache -------------------------------------------------------------------

    def _from_cache(self, attempt: Attempt) -> bool:
        """Finish the stage from the startup cache if it may; return whether the work is done."""
        stage = attempt.stage
        if not stage.cache_ttl:
            return False
        from .cache import startup_cache

        entry = startup_cache.get(stage, allow_stale=stage.stale_while_revalidate)
        if entry is None:
            return False
        origin = f" in {entry.origin}" if entry.origin else ""
        if entry.is_fresh():
            self._finish(attempt, StageState.CACHED, detail=one_line(
                f"cached {duration(entry.age)} ago{origin}: {entry.detail}"))
            return True
        # Stale while revalidate: dependents go on with the old result; the work runs anyway.
        self._finish(attempt, StageState.CACHED, detail=one_line(
            f"stale ({duration(entry.age)} old), refreshing in the background: {entry.detail}"))
        attempt.background = True
        return False

    # -- recording (any thread) --------------------------------------------------------------

    def _touch(self, name: str) -> None:
        self.recorder.touch(name)
        self._changed = True
        self._cond.notify_all()

    def _report(self, attempt: Attempt, detail: str) -> None:
        with self._cond:
            if not attempt.abandoned and not attempt.finished:
                self.status.stages[attempt.stage.name].detail = one_line(detail)
                self._touch(attempt.stage.name)

    def _report_retry(self, attempt: Attempt, state) -> None:  # type: ignore[no-untyped-def]
        error = safe_error(state.outcome.exception())
        pause = state.next_action.sleep if state.next_action else 0
        self._report(attempt, f"attempt {state.attempt_number} failed ({error}); "
                              f"retrying in {pause:.1f} s")

    def _succeed(self, attempt: Attempt, detail: str) -> None:
        stage = attempt.stage
        # Remember the success before announcing it: once the run ends, a restart may look.
        if stage.cache_ttl and not attempt.abandoned:
            from .cache import startup_cache

            startup_cache.put(stage, detail=detail, ttl=stage.cache_ttl)
        if attempt.background:
            with self._cond:
                status = self.status.stages[stage.name]
                status.detail = one_line(f"refreshed in the background: {detail}")
                self._touch(stage.name)
        else:
            self._finish(attempt, StageState.SUCCEEDED, detail=detail)

    def _fail(self, attempt: Attempt, exc: Exception) -> None:
        stage = attempt.stage
        if isinstance(exc, StageError):
            # An expected failure: its message is written to be shown and says what to do.
            error = one_line(str(exc)) or safe_error(exc)
            logger.warning("stage %s failed: %s", stage.name, error)
        else:
            # Unexpected: the traceback goes to the log (redacted), one line to the record.
            error = f"{safe_error(exc)} (unexpected; the log has the traceback)"
            logger.error("stage %s failed: %s\n%s", stage.name, error,
                         redact(traceback.format_exc()))
        if attempt.background:
            self._report_background_failure(attempt, error)
            return
        self._finish(attempt, StageState.FAILED, error=error)

    def _report_background_failure(self, attempt: Attempt, error: str) -> None:
        with self._cond:
            status = self.status.stages[attempt.stage.name]
            status.detail = one_line(f"{status.detail} (background refresh failed: {error})")
            self._touch(attempt.stage.name)

    def _finish(self, attempt: Attempt, state: StageState, *, detail: str = "",
                error: str = "") -> None:
        with self._cond:
            if attempt.finished:
                return
            attempt.finished = True
            if self._inflight.pop(attempt.stage.name, None) is attempt:
                self._busy -= 1
            self._end(self.status.stages[attempt.stage.name], state, detail=detail, error=error)

    def _end(self, status: StageStatus, state: StageState, *, detail: str = "",
             error: str = "") -> None:
        now = timezone.now()
        status.state = state
        status.finished_at = now
        if status.started_at:
            status.duration_ms = int((now - status.started_at).total_seconds() * 1000)
        # A timed-out stage keeps its last progress report: it says where the stage hung.
        if detail or state != StageState.TIMED_OUT:
            status.detail = detail
        status.error = error
        self._touch(status.name)


def _relayed(other: StageRun) -> str:
    """Say which process did a cluster stage's work: the one that did it, not another relay."""
    # The newest success may itself be a relay ("succeeded in b: succeeded in a: ..."); naming
    # the relaying process would nest one prefix per process and point at the wrong one.
    if other.detail.startswith(RELAYED_PREFIX):
        return one_line(other.detail)
    return one_line(f"{RELAYED_PREFIX}{other.run.host}:{other.run.pid}: {other.detail}")


def _declaration_problem(stage: Stage) -> str | None:
    timeout_ok = isinstance(stage.timeout, int | float) and stage.timeout > 0
    if not timeout_ok:
        return f"timeout {stage.timeout!r} is not a positive number of seconds"
    if not isinstance(stage.retry.attempts, int) or stage.retry.attempts < 1:
        return f"attempts {stage.retry.attempts!r} is not at least 1"
    if stage.executor not in EXECUTORS or stage.scope not in SCOPES:
        return f"executor {stage.executor!r} / scope {stage.scope!r} unknown"
    return None
