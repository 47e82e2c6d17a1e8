"""Writes: sync the catalogue from OpenRouter, and keep its repeating schedule."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from apps.boot.humanize import duration
from apps.boot.locks import cluster_lock
from apps.boot.redact import one_line

from . import selectors
from .bulk import Counts, catalogue_write
from .client import FetchOptions, fetch_catalogue
from .conf import pricing_settings
from .errors import CatalogueInvalid, FetchFailed, PricingMisconfigured, SyncFailed
from .models import PriceSync
from .parsing import ModelRow, parse_catalogue
from .startup_cache import last_sync_cached, last_sync_remember

logger = logging.getLogger(__name__)

LOCK = "pricing.sync"
SCHEDULE_NAME = "pricing.refresh"
SCHEDULE_FUNC = "apps.pricing.tasks.refresh_prices"


@dataclass(frozen=True)
class SyncResult:
    """What `prices_sync` did: synced (with counts) or found the prices fresh."""

    status: Literal["synced", "fresh"]
    last_success: datetime
    next_due: datetime
    counts: Counts | None = None
    requests: int = 0
    duration: float = 0.0

    @property
    def detail(self) -> str:
        """Return the one-line detail a stage or command shows."""
        if self.status == "synced" and self.counts is not None:
            counts = self.counts
            return (f"{counts.total} models: {counts.new} new, {counts.changed} changed, "
                    f"{counts.retired} retired")
        now = timezone.now()
        return (f"fresh: synced {duration((now - self.last_success).total_seconds())} ago, "
                f"next in {duration((self.next_due - now).total_seconds())}")


def _fresh(last_success: datetime | None, *, interval: float, slack: float,
           now: datetime) -> SyncResult | None:
    """Return a 'fresh' result when the last success is younger than the interval."""
    if last_success is None or now - last_success >= timedelta(seconds=interval - slack):
        return None
    return SyncResult(status="fresh", last_success=last_success,
                      next_due=last_success + timedelta(seconds=interval))


def _fetch_options(base_url: str) -> FetchOptions:
    conf = pricing_settings
    return FetchOptions(
        url=f"{base_url}/models", api_key=conf.api_key, connect_timeout=conf.connect_timeout,
        read_timeout=conf.read_timeout, attempts=conf.attempts, backoff=conf.backoff,
        backoff_max=conf.backoff_max, retry_after_max=conf.retry_after_max,
        deadline=conf.fetch_deadline, max_pages=conf.max_pages,
    )


def _check_settings() -> str:
    """Return the base URL, or raise PricingMisconfigured saying what to set."""
    base_url = pricing_settings.base_url
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PricingMisconfigured(
            f"OPENROUTER_BASE_URL={one_line(base_url, 100)!r} is not an http(s) URL; "
            "set it to https://openrouter.ai/api/v1 or your proxy's URL."
        )
    if pricing_settings.refresh_seconds <= 0:
        raise PricingMisconfigured("PRICING_REFRESH_SECONDS must be a positive number of seconds.")
    return base_url


def prices_sync(*, force: bool = False, trigger: str = "", slack: float = 0.0) -> SyncResult:
    """Fetch and store OpenRouter's catalogue unless the last sync is younger than the interval.

    `force` skips the freshness check (but never fetches twice when another process has just
    synced); `slack` lets a scheduled run count a sync that is nearly due as due. Raise
    SyncFailed (prices unchanged) or PricingMisconfigured, each with a one-line message.
    """
    base_url = _check_settings()
    interval = float(pricing_settings.refresh_seconds)
    asked_at = timezone.now()

    # Phase 1: the startup cache, then the database, without taking any lock.
    if not force:
        cached = _fresh(last_sync_cached(base_url=base_url), interval=interval, slack=slack,
                        now=asked_at)
        if cached is not None:
            return cached
        last = selectors.sync_last_success()
        stored = _fresh(last and last.finished_at, interval=interval, slack=slack, now=asked_at)
        if stored is not None:
            return stored

    # Phase 2: one process fetches; the others wait for it and then find the prices fresh.
    with cluster_lock(LOCK, wait=pricing_settings.lock_wait) as waited:
        if waited and not force:
            # A failure another process met while we waited is ours too: fetching again at
            # once would only repeat it, once per waiting process.
            latest = selectors.sync_latest()
            if (latest is not None and latest.finished_at >= asked_at
                    and latest.outcome == PriceSync.Outcome.FAILED):
                raise SyncFailed(one_line(f"{latest.error} [met by another process just now]"))
        if waited or not force:
            last = selectors.sync_last_success()
            if last is not None and (waited and last.finished_at >= asked_at):
                return SyncResult(status="fresh", last_success=last.finished_at,
                                  next_due=last.finished_at + timedelta(seconds=interval))
            fresh = None if force else _fresh(last and last.finished_at, interval=interval,
                                              slack=slack, now=timezone.now())
            if fresh is not None:
                return fresh
        return _sync_now(base_url=base_url, interval=interval, force=force, trigger=trigger)


def _sync_now(*, base_url: str, interval: float, force: bool, trigger: str) -> SyncResult:
    """Fetch, validate, then write everything in one transaction; record the attempt."""
    import requests

    started_at = timezone.now()
    clock = time.monotonic()
    requests_made = 0
    try:
        fetched = fetch_catalogue(_fetch_options(base_url))
        requests_made = fetched.requests
        rows = parse_catalogue(fetched.entries)
        _check_size(rows)
        with transaction.atomic():
            now = timezone.now()
            counts = catalogue_write(rows=rows, now=now)
            sync = PriceSync.objects.create(
                started_at=started_at, finished_at=now, duration=time.monotonic() - clock,
                outcome=PriceSync.Outcome.SUCCEEDED, trigger=trigger, forced=force,
                base_url=base_url, requests=requests_made, total=counts.total, new=counts.new,
                changed=counts.changed, retired=counts.retired, unchanged=counts.unchanged,
            )
    except (FetchFailed, CatalogueInvalid, requests.RequestException) as exc:
        message = _failure_line(exc, interval=interval)
        PriceSync.objects.create(
            started_at=started_at, finished_at=timezone.now(), duration=time.monotonic() - clock,
            outcome=PriceSync.Outcome.FAILED, trigger=trigger, forced=force, base_url=base_url,
            requests=getattr(exc, "requests", requests_made), error=message,
        )
        logger.warning("Price sync failed: %s", message)
        raise SyncFailed(message) from None
    last_sync_remember(base_url=base_url, finished_at=sync.finished_at, ttl=interval)
    result = SyncResult(status="synced", last_success=sync.finished_at,
                        next_due=sync.finished_at + timedelta(seconds=interval), counts=counts,
                        requests=requests_made, duration=sync.duration)
    logger.info("Prices synced: %s (%d requests, %.2f s)", result.detail, requests_made,
                sync.duration)
    return result


def _check_size(rows: list[ModelRow]) -> None:
    """Refuse an answer that lists far fewer models than are active: it is likely partial."""
    active = selectors.catalogue_active_count()
    minimum = math.ceil(active * pricing_settings.min_fraction)
    if len(rows) < minimum:
        raise CatalogueInvalid(
            f"OpenRouter listed {len(rows)} models, far fewer than the {active} active ones "
            f"(at least {minimum} expected; lower PRICING_MIN_CATALOGUE_FRACTION if it really "
            "shrank)"
        )


def _failure_line(exc: BaseException, *, interval: float) -> str:
    """Say what failed, that nothing changed, and when the next try is, in one line."""
    import requests

    what = str(exc)
    if isinstance(exc, requests.RequestException):
        what = f"Could not fetch OpenRouter's models ({type(exc).__name__})"
    next_try = timezone.now() + timedelta(seconds=interval)
    return one_line(
        f"{what}; prices unchanged, next try at {next_try:%Y-%m-%d %H:%M} UTC "
        "(or run `manage.py prices_sync --force`)"
    )


def schedule_ensure(*, interval: float | None = None) -> bool:
    """Create or update the django-q2 schedule that repeats the sync; return True if created."""
    from django_q.models import Schedule

    seconds = pricing_settings.refresh_seconds if interval is None else interval
    minutes = max(1, round(seconds / 60))
    # Two processes starting at once must not both create it: names are not unique in django-q2.
    with cluster_lock("pricing.schedule", wait=30), transaction.atomic():
        extra = list(Schedule.objects.filter(name=SCHEDULE_NAME).order_by("id")
                     .values_list("id", flat=True)[1:])
        if extra:
            Schedule.objects.filter(id__in=extra).delete()
        _, created = Schedule.objects.update_or_create(
            name=SCHEDULE_NAME,
            defaults={"func": SCHEDULE_FUNC, "schedule_type": Schedule.MINUTES,
                      "minutes": minutes, "repeats": -1},
        )
    return created
