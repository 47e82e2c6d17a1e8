"""A lock shared by every process of the deployment, released by the system if its holder dies."""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connections

from .errors import TransientError

POLL = 0.1


class LockTimeout(TransientError):
    """Another process held the lock for longer than we were willing to wait."""


@contextmanager
def cluster_lock(name: str, *, wait: float, using: str = "default") -> Iterator[bool]:
    """Hold the lock `name` for the block; yield True if another process held it first.

    On PostgreSQL this is a session advisory lock, so it spans machines; elsewhere it is an
    flock on a file under VAR_DIR, which spans the processes of one machine. Both vanish with
    a holder that dies, so nobody waits on a dead process.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with _advisory_lock(connection, name, wait) as waited:
            yield waited
    else:
        with _file_lock(name, wait) as waited:
            yield waited


def _lock_key(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _poll(try_once, name: str, wait: float) -> bool:  # type: ignore[no-untyped-def]
    """Try to take a lock until `wait` runs out; return whether the first try failed."""
    deadline = time.monotonic() + wait
    waited = False
    while not try_once():
        waited = True
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"Lock '{name}' still held by another process after {wait:.0f} s; "
                "it is released when that process finishes or dies."
            )
        time.sleep(POLL)
    return waited


@contextmanager
def _advisory_lock(connection, name: str, wait: float) -> Iterator[bool]:  # type: ignore[no-untyped-def]
    key = _lock_key(name)

    def try_once() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            return bool(cursor.fetchone()[0])

    waited = _poll(try_once, name, wait)
    try:
        yield waited
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def _file_lock(name: str, wait: float) -> Iterator[bool]:
    directory = Path(settings.VAR_DIR) / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def try_once() -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    try:
        waited = _poll(try_once, name, wait)
        try:
            yield waited
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
