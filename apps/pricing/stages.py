"""Stages of the pricing app: keep OpenRouter's prices fresh."""

from __future__ import annotations

from apps.boot.registry import stage
from apps.boot.stage import StageContext


@stage(
    "pricing.refresh",
    depends_on=("db.migrate_deferred",),
    executor="queue",
    scope="cluster",
    critical=False,
    timeout=120,
    description="Sync OpenRouter's models and prices unless fresh; keep the repeating schedule.",
)
def refresh(ctx: StageContext) -> str:
    """Ensure the repeating schedule, then sync prices unless they are fresh."""
    # Imported here: the service pulls in the ORM and, when it fetches, requests.
    from .services import prices_sync, schedule_ensure

    schedule_ensure()
    return prices_sync(force=False, trigger="stage").detail
