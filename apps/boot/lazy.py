"""Lazy stages: run once, with the same bookkeeping, the first time code asks for them."""

from __future__ import annotations

import threading

from .errors import StageError
from .registry import StageRegistry, registry
from .runner import Runner
from .status import StageStatus

_lock = threading.Lock()
_done: dict[tuple[int, str], StageStatus] = {}
_running: dict[tuple[int, str], threading.Event] = {}


def require(name: str, *, stages: StageRegistry | None = None) -> StageStatus:
    """Run lazy stage `name` unless it already succeeded here; concurrent callers share one run.

    A success is remembered for the life of the process; a failure raises StageError and is
    not, so the next caller tries again.
    """
    source = stages or registry
    key = (id(source), name)
    while True:
        with _lock:
            if key in _done:
                return _done[key]
            waiting = _running.get(key)
            if waiting is None:
                _running[key] = threading.Event()
                break
        waiting.wait()
    try:
        stage = source.get(name)
        runner = Runner([stage], trigger=f"lazy:{name}", include_lazy=True)
        status = runner.run().stages[name]
        if status.ok:
            with _lock:
                _done[key] = status
            return status
        raise StageError(f"lazy stage '{name}' {status.state}: {status.error or status.detail}")
    finally:
        with _lock:
            _running.pop(key).set()
