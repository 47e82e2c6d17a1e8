"""Reads of the catalogue and of sync history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from .models import OpenRouterModel, PriceSync


def sync_last_success() -> PriceSync | None:
    """Return the most recent successful sync, or None before the first."""
    return PriceSync.objects.filter(outcome=PriceSync.Outcome.SUCCEEDED).order_by(
        "-finished_at", "-id"
    ).first()


def sync_latest() -> PriceSync | None:
    """Return the most recent sync, whatever its outcome."""
    return PriceSync.objects.order_by("-finished_at", "-id").first()


def catalogue_active_count() -> int:
    """Return how many models the last sync listed."""
    return OpenRouterModel.objects.filter(active=True).count()


def prices_stale(*, last_success: PriceSync, latest: PriceSync | None, interval: float,
                 now: datetime | None = None) -> bool:
    """Say whether prices may be out of date: the last try failed, or refreshes were missed."""
    now = now or timezone.now()
    failing = latest is not None and latest.outcome == PriceSync.Outcome.FAILED
    return failing or now - last_success.finished_at > timedelta(seconds=2 * interval)


def models_list(
    *, ids: Iterable[str] = (), active: bool | None = None
) -> QuerySet[OpenRouterModel]:
    """Return the models with these ids (all when empty), optionally only (in)active ones."""
    queryset = OpenRouterModel.objects.order_by("id")
    wanted = [model_id for model_id in ids if model_id]
    if wanted:
        queryset = queryset.filter(id__in=wanted)
    if active is not None:
        queryset = queryset.filter(active=active)
    return queryset
