"""Remember the last successful sync in the startup cache, so a fresh start asks nobody."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from django.core.cache import caches

from apps.boot.redact import safe_error

logger = logging.getLogger(__name__)

ALIAS = "boot"


def cache_key(base_url: str) -> str:
    """Return this app's key for `base_url`: a digest, so a changed URL is a miss."""
    digest = hashlib.sha256(base_url.encode()).hexdigest()[:16]
    return f"pricing:last_sync:{digest}"


def last_sync_cached(*, base_url: str) -> datetime | None:
    """Return when the last sync succeeded, as cached; None on a miss or a broken cache."""
    try:
        value = caches[ALIAS].get(cache_key(base_url))
    except Exception as exc:  # a cache that is down is a miss, never a crash
        logger.warning("Startup cache unreadable, checking the database: %s", safe_error(exc))
        return None
    if not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def last_sync_remember(*, base_url: str, finished_at: datetime, ttl: float) -> None:
    """Cache when a sync succeeded; a broken cache only costs a database query later."""
    try:
        caches[ALIAS].set(cache_key(base_url), finished_at.timestamp(), timeout=max(1, int(ttl)))
    except Exception as exc:
        logger.warning("Startup cache unwritable: %s", safe_error(exc))
