"""Fixtures for the boot pipeline's tests: registries of their own, never the project's."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from apps.boot.readiness import current_runner, set_current_runner
from apps.boot.registry import StageRegistry


@pytest.fixture
def stages() -> StageRegistry:
    """Return an empty registry for the test to declare its stages in."""
    return StageRegistry()


@pytest.fixture
def journal() -> list[tuple[str, str, float]]:
    """Return a thread-safe list stages append (event, name, time) to."""
    return _Journal()


class _Journal(list):
    _lock = threading.Lock()

    def log(self, event: str, name: str) -> None:
        with self._lock:
            self.append((event, name, time.monotonic()))

    def events(self, event: str) -> list[str]:
        return [name for kind, name, _ in self if kind == event]

    def at(self, event: str, name: str) -> float:
        return next(t for kind, n, t in self if kind == event and n == name)


@pytest.fixture
def isolated_runner() -> Iterator[None]:
    """Restore the process's current runner after a test that starts its own."""
    before = current_runner()
    yield
    runner = current_runner()
    if runner is not None and runner is not before:
        runner.finished.wait(10)
    set_current_runner(before)
