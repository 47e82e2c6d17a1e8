"""Exceptions that stage code raises to tell the runner what happened."""

from __future__ import annotations


class StageError(Exception):
    """A stage failed in a way it expected; the message is safe to show and says what to do."""


class TransientError(StageError):
    """A failure that may pass: the runner retries it with backoff while attempts remain."""


class StageSkipped(Exception):
    """There is nothing for this stage to do here; the message is the reason."""


class StageTimeout(StageError):
    """An attempt ran longer than the stage's timeout."""
