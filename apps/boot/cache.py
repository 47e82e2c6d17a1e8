"""The startup cache: remembers a stage's success so it is not redone while fresh.

It sits on Django's cache framework, alias "boot": files under VAR_DIR by default (shared by
the processes of one machine, survives restarts), Redis when REDIS_URL is set (shared by
machines). A key carries a hash of the stage's fingerprint, so a changed setting is a miss.
Django's cache cannot list keys, so each stage keeps an index of its keys, and a names index
lists the stages; `entries()` and `clear()` read them.

The cache is an optimisation, never a dependency: every method that talks to the backend
treats a failure (Redis down, an unreadable file) as a miss, and says so once per process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import BaseCache, caches

from .redact import one_line, safe_error
from .stage import Stage

logger = logging.getLogger(__name__)

NO_FINGERPRINT = "-"
NAMES_KEY = "index:names"
# A stage that may be served stale keeps its entry this long past its TTL, so a process that
# starts after an outage still has something to serve while it refreshes in the background.
STALE_KEEP_FACTOR = 10
STALE_KEEP_MIN = 24 * 3600.0
STALE_KEEP_MAX = 7 * 24 * 3600.0
# After a backend failure the cache is bypassed for a while, so a blackholed Redis costs one
# socket timeout per process and not one per stage.
BACKOFF_AFTER_FAILURE = 10.0

_warned = threading.Event()


def _warn_once(action: str, exc: BaseException) -> None:
    """Log the first backend failure of this process as one warning line; later ones at debug."""
    if _warned.is_set():
        logger.debug("startup cache %s failed: %s", action, safe_error(exc))
        return
    _warned.set()
    logger.warning(
        "startup cache unavailable (%s failed: %s); stages run without it until it answers",
        action, safe_error(exc),
    )


def _origin() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class CacheEntry:
    """One remembered success of a stage under one fingerprint."""

    stage: str
    fingerprint: str
    stored_at: datetime
    ttl: float
    detail: str
    origin: str

    @property
    def age(self) -> float:
        """Return the seconds since the entry was stored."""
        return (datetime.now(UTC) - self.stored_at).total_seconds()

    @property
    def expires_at(self) -> datetime:
        """Return when the entry stops being fresh."""
        return self.stored_at + timedelta(seconds=self.ttl)

    def is_fresh(self, now: datetime | None = None) -> bool:
        """Say whether the entry is still within its TTL."""
        return (now or datetime.now(UTC)) < self.expires_at

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as plain values (what the backend stores and --json prints)."""
        return {
            "stage": self.stage,
            "fingerprint": self.fingerprint,
            "stored_at": self.stored_at.isoformat(),
            "ttl": self.ttl,
            "detail": self.detail,
            "origin": self.origin,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CacheEntry:
        """Build an entry from what `to_dict` returned."""
        return cls(
            stage=str(data["stage"]),
            fingerprint=str(data["fingerprint"]),
            stored_at=datetime.fromisoformat(data["stored_at"]),
            ttl=float(data["ttl"]),
            detail=str(data["detail"]),
            origin=str(data["origin"]),
        )


def keep_for(ttl: float, *, stale_while_revalidate: bool) -> float:
    """Return how long the backend keeps an entry whose freshness lasts `ttl` seconds."""
    if not stale_while_revalidate:
        return ttl
    return max(ttl, min(max(ttl * STALE_KEEP_FACTOR, STALE_KEEP_MIN), STALE_KEEP_MAX))


class StartupCache:
    """Stage successes in Django's cache alias `alias`, keyed by stage name and fingerprint."""

    def __init__(self, alias: str = "boot") -> None:
        self.alias = alias
        self._bypass_until = 0.0

    # Keys

    def fingerprint(self, stage: Stage) -> str:
        """Return a short hash of the stage's fingerprint mapping, or "-" if it declares none."""
        if stage.fingerprint is None:
            return NO_FINGERPRINT
        # Sorted JSON, so equal mappings hash alike whatever their order; hashed, so the key
        # reveals nothing even if a value was sensitive (none should be).
        text = json.dumps(stage.fingerprint(), sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def key_for(self, stage: Stage) -> str:
        """Return the cache key of the stage under its current fingerprint."""
        return self._key(stage.name, self.fingerprint(stage))

    @staticmethod
    def _key(name: str, fingerprint: str) -> str:
        return f"stage:{name}:{fingerprint}"

    @staticmethod
    def _index_key(name: str) -> str:
        return f"index:stage:{name}"

    # Reading and writing

    def get(self, stage: Stage, *, allow_stale: bool = False) -> CacheEntry | None:
        """Return the stage's entry if fresh (or present, with `allow_stale`); never raise."""
        ttl = stage.cache_ttl
        if ttl is None or ttl <= 0:
            return None
        entry = self._read(stage)
        if entry is None:
            return None
        # A TTL lowered in settings applies at once to what is already stored.
        if ttl < entry.ttl:
            entry = dataclasses.replace(entry, ttl=float(ttl))
        if not allow_stale and not entry.is_fresh():
            return None
        return entry

    def _read(self, stage: Stage) -> CacheEntry | None:
        """Return the stored entry of the stage's current fingerprint, fresh or not."""
        backend = self._backend()
        if backend is None:
            return None
        try:
            fingerprint = self.fingerprint(stage)
            data = backend.get(self._key(stage.name, fingerprint))
            entry = None if data is None else CacheEntry.from_dict(data)
        except Exception as exc:  # the cache must never break a boot
            self._failed("get", exc)
            return None
        if entry is None or entry.stage != stage.name or entry.fingerprint != fingerprint:
            return None
        return entry

    def put(self, stage: Stage, *, detail: str, ttl: float) -> None:
        """Remember the stage's success for `ttl` seconds; never raise."""
        if ttl <= 0:
            return
        backend = self._backend()
        if backend is None:
            return
        try:
            fingerprint = self.fingerprint(stage)
            key = self._key(stage.name, fingerprint)
            entry = CacheEntry(
                stage=stage.name,
                fingerprint=fingerprint,
                stored_at=datetime.now(UTC),
                ttl=float(ttl),
                # Details are shown by commands and pages: redact them even if the stage did.
                detail=one_line(detail),
                origin=_origin(),
            )
            keep = keep_for(ttl, stale_while_revalidate=stage.stale_while_revalidate)
            backend.set(key, entry.to_dict(), timeout=keep)
            self._index_add(backend, stage.name, key, time.time() + keep)
        except Exception as exc:  # the cache must never break a boot
            self._failed("put", exc)

    # Listing and clearing

    def entries(self) -> list[CacheEntry]:
        """Return every stored entry, fresh or stale, ordered by stage and age."""
        backend = self._backend()
        if backend is None:
            return []
        try:
            found: list[CacheEntry] = []
            for name in self._names(backend):
                keys = list((backend.get(self._index_key(name)) or {}).keys())
                for data in backend.get_many(keys).values():
                    found.append(CacheEntry.from_dict(data))
        except Exception as exc:
            self._failed("list", exc)
            return []
        return sorted(found, key=lambda entry: (entry.stage, -entry.stored_at.timestamp()))

    def clear(self, name: str | None = None) -> int:
        """Remove one stage's entries, or every stage's; return how many entries were removed."""
        backend = self._backend()
        if backend is None:
            return 0
        try:
            names = [name] if name is not None else self._names(backend)
            removed = 0
            for each in names:
                index_key = self._index_key(each)
                keys = list((backend.get(index_key) or {}).keys())
                removed += len(backend.get_many(keys))
                backend.delete_many([*keys, index_key])
            # Never backend.clear(): on Redis that would flush data that is not ours.
            if name is None:
                backend.delete(NAMES_KEY)
            else:
                known = set(backend.get(NAMES_KEY) or ())
                if name in known:
                    backend.set(NAMES_KEY, sorted(known - {name}), timeout=None)
        except Exception as exc:
            self._failed("clear", exc)
            return 0
        return removed

    # Internals

    def _backend(self) -> BaseCache | None:
        if time.monotonic() < self._bypass_until:
            return None
        try:
            return caches[self.alias]
        except Exception as exc:
            self._failed("open", exc)
            return None

    def _failed(self, action: str, exc: BaseException) -> None:
        self._bypass_until = time.monotonic() + BACKOFF_AFTER_FAILURE
        _warn_once(action, exc)

    def _names(self, backend: BaseCache) -> list[str]:
        """Return the stage names that may have entries: the names index and the registry."""
        from .registry import registry

        return sorted(set(backend.get(NAMES_KEY) or ()) | {stage.name for stage in registry.all()})

    def _index_add(self, backend: BaseCache, name: str, key: str, keep_until: float) -> None:
        """Record `key` in the stage's index, dropping keys the backend has let expire."""
        # A read-modify-write, so two processes can race; per stage, and a racing process
        # almost always writes the same key, so a lost update loses nothing. The registry
        # backs up the names index for the same reason.
        index_key = self._index_key(name)
        now = time.time()
        index: dict[str, float] = {
            existing: until
            for existing, until in (backend.get(index_key) or {}).items()
            if until > now
        }
        index[key] = keep_until
        backend.set(index_key, index, timeout=max(index.values()) - now)
        names = set(backend.get(NAMES_KEY) or ())
        if name not in names:
            backend.set(NAMES_KEY, sorted(names | {name}), timeout=None)


startup_cache = StartupCache()
