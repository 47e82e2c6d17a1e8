"""The declaration of a stage: what to run, in which order, with which bounds."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import TransientError

Executor = Literal["thread", "queue"]
Scope = Literal["process", "cluster"]
EXECUTORS: tuple[str, ...] = ("thread", "queue")
SCOPES: tuple[str, ...] = ("process", "cluster")

# Network and lock errors that usually pass; a stage widens or narrows this with `transient=`.
DEFAULT_TRANSIENT: tuple[type[BaseException], ...] = (TransientError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class Retry:
    """How many attempts a stage gets, how long to wait between them, and what is worth retrying.

    Waits grow as backoff * 2**n up to backoff_max, plus a random jitter of up to
    `jitter` times the backoff, so processes that failed together don't retry together.
    """

    attempts: int = 1
    backoff: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.5
    transient: tuple[type[BaseException], ...] = DEFAULT_TRANSIENT

    def is_transient(self, exc: BaseException) -> bool:
        """Say whether another attempt could help with this error."""
        return isinstance(exc, self.transient)


@dataclass
class StageContext:
    """What a stage function receives: a logger, its settings, and a way to report progress."""

    name: str
    logger: logging.Logger
    settings: Mapping[str, Any]
    attempt: int = 1
    _report: Callable[[str], None] = field(default=lambda detail: None, repr=False)
    facts: dict[str, Any] = field(default_factory=dict)

    def report(self, detail: str) -> None:
        """Show a one-line detail while the stage runs (it replaces the previous one)."""
        self._report(detail)


StageFunc = Callable[[StageContext], "str | None"]


@dataclass(frozen=True)
class Stage:
    """A named unit of startup work and its bounds; the runner reads it, never changes it."""

    name: str
    func: StageFunc = field(repr=False, compare=False)
    depends_on: tuple[str, ...] = ()
    priority: int = 0
    timeout: float = 60.0
    retry: Retry = Retry()
    critical: bool = False
    executor: Executor = "thread"
    scope: Scope = "process"
    cache_ttl: float | None = None
    lazy: bool = False
    stale_while_revalidate: bool = False
    fingerprint: Callable[[], Mapping[str, Any]] | None = field(default=None, compare=False)
    description: str = ""

    @property
    def label(self) -> str:
        """Return the stage's dotted path, for messages that point at its code."""
        return f"{self.func.__module__}.{self.func.__qualname__}"
