"""Decide whether an error is worth another attempt."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from .stage import Retry

# Database errors that pass: a lock held by another writer, a server starting or restarting.
_TRANSIENT_DB_MESSAGES = (
    "database is locked",
    "database table is locked",
    "connection refused",
    "could not connect",
    "connection failed",
    "server closed the connection",
    "the database system is starting up",
    "the database system is shutting down",
    "terminating connection",
    "deadlock detected",
    "could not serialize access",
    "connection already closed",
    "timeout expired",
)


def is_transient_db_error(exc: BaseException) -> bool:
    """Say whether a database error is one that waiting may cure."""
    if isinstance(exc, InterfaceError):
        return True
    if isinstance(exc, OperationalError):
        message = str(exc).lower()
        return any(text in message for text in _TRANSIENT_DB_MESSAGES)
    return False


def is_transient(exc: BaseException, retry: Retry) -> bool:
    """Say whether the runner should try a stage again after this error."""
    return retry.is_transient(exc) or is_transient_db_error(exc)
