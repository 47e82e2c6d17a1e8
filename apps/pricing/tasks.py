"""Queue tasks: what the django-q2 schedule runs."""

from __future__ import annotations

from .conf import pricing_settings


def refresh_prices() -> str:
    """Sync prices unless fresh; return the one-line detail django-q2 keeps as the result."""
    from .services import prices_sync

    # The schedule fires one interval after the last run, which finished a little later than
    # it started: without slack the next run would find the prices barely fresh and skip.
    slack = min(300.0, pricing_settings.refresh_seconds * 0.05)
    return prices_sync(force=False, trigger="schedule", slack=slack).detail
