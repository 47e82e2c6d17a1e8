"""Stages of the boot app: the migrations serving needs, then the deferred ones."""

from __future__ import annotations

from typing import Any

from .migrating import migrations_apply
from .registry import stage
from .stage import StageContext


# A database that is down at start is waited for: 12 attempts, waits doubling from 1 s up to
# 30 s, ride out about 3.5 minutes of outage before readiness gives up.
@stage("db.migrate", critical=True, scope="cluster", priority=100, timeout=300,
       attempts=12, backoff=1.0, backoff_max=30.0,
       description="Apply the migrations serving needs, before readiness.")
def migrate(ctx: StageContext) -> str:
    """Apply every unapplied migration that is not deferred."""
    return migrations_apply(deferred=False, record=_recorder(ctx), report=ctx.report)


@stage("db.migrate_deferred", depends_on=("db.migrate",), executor="queue", scope="cluster",
       timeout=1800, attempts=3, backoff=2.0, backoff_max=60.0,
       description="Apply the deferred migrations after the server is ready.")
def migrate_deferred(ctx: StageContext) -> str:
    """Apply the deferred migrations and those that depend on them."""
    return migrations_apply(deferred=True, record=_recorder(ctx), report=ctx.report)


def _recorder(ctx: StageContext):  # type: ignore[no-untyped-def]
    """Return a callback that keeps one record per migration in the stage's facts."""
    records: list[dict[str, Any]] = ctx.facts.setdefault("migrations", [])

    def record(entry: dict[str, Any]) -> None:
        for existing in records:
            if existing["name"] == entry["name"]:
                existing.update(entry, attempts=existing["attempts"] + 1)
                return
        records.append({**entry, "attempts": 1})

    return record
