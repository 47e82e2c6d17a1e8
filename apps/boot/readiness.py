"""This process's run, as the probes see it: answered from memory, never from the database."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .runner import Runner

_lock = threading.Lock()
_current: Runner | None = None


def current_runner() -> Runner | None:
    """Return the runner of this process's pipeline, if one was started."""
    return _current


def set_current_runner(runner: Runner | None) -> None:
    """Make `runner` the one the probes report on."""
    global _current  # noqa: PLW0603  (one run per process is the point)
    with _lock:
        _current = runner
