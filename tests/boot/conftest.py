"""Fixtures for the boot pipeline's tests: registries of their own, never the project's."""

from __future__ import annotations

import threading
import time

import pytest

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
def isolated_runner() -> None:
    """Name a test's reliance on tests/conftest.py stopping the pipelines tests start."""
