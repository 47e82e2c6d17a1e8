"""Apply migrations in two sets: those serving needs now, and those marked deferred.

A migration defers itself with a class attribute, ``deferred = True``; every migration that
depends on it is deferred too. A migration that says ``deferred = False`` insists on being
applied before serving, which is an error if it depends on a deferred one.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as global_apps
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration

from .errors import StageError
from .redact import safe_error


@dataclass
class MigrationPlan:
    """The unapplied migrations, split into what serving needs and what may wait."""

    critical: list[Migration] = field(default_factory=list)
    deferred: list[Migration] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    applied: int = 0


def migration_label(migration: Migration) -> str:
    """Return 'app.name' for a migration."""
    return f"{migration.app_label}.{migration.name}"


def migration_plan(*, using: str = DEFAULT_DB_ALIAS) -> MigrationPlan:
    """Return the unapplied migrations in order, split into critical and deferred."""
    executor = MigrationExecutor(connections[using])
    return _plan(executor)


def _plan(executor: MigrationExecutor) -> MigrationPlan:
    graph = executor.loader.graph
    full = [m for m, backwards in executor.migration_plan(graph.leaf_nodes()) if not backwards]
    plan = MigrationPlan(applied=len(executor.loader.applied_migrations))
    deferred_keys: set[tuple[str, str]] = set()
    for migration in full:
        key = (migration.app_label, migration.name)
        marked = getattr(migration, "deferred", None)
        # The plan lists dependencies first, so a deferred ancestor is already known here.
        ancestors = graph.forwards_plan(key)[:-1]
        deferred_ancestor = next((a for a in ancestors if a in deferred_keys), None)
        if marked is False and deferred_ancestor:
            plan.conflicts.append(
                f"{migration_label(migration)} must be applied before serving (deferred = False) "
                f"but depends on deferred {deferred_ancestor[0]}.{deferred_ancestor[1]}: "
                "remove that dependency, or defer it too"
            )
        if marked or deferred_ancestor:
            deferred_keys.add(key)
            plan.deferred.append(migration)
        else:
            plan.critical.append(migration)
    return plan


def migrations_apply(*, deferred: bool, record: Callable[[dict[str, Any]], None],
                     report: Callable[[str], None], using: str = DEFAULT_DB_ALIAS) -> str:
    """Apply the critical (or the deferred) migrations one by one; return a one-line summary.

    `record` receives {"name", "state", "duration_ms", "error"} for each migration applied or
    failed; `report` receives progress lines. Errors propagate, so the caller decides on retries.
    """
    connection = connections[using]
    executor = MigrationExecutor(connection)
    executor.loader.check_consistent_history(connection)
    plan = _plan(executor)
    if plan.conflicts and not deferred:
        raise StageError(plan.conflicts[0])
    todo = plan.deferred if deferred else plan.critical
    kind = "deferred" if deferred else "needed to serve"
    if not todo:
        waiting = "" if deferred else f"; {len(plan.deferred)} deferred" if plan.deferred else ""
        return f"nothing to apply: {plan.applied} applied{waiting}"
    steps = [(migration, False) for migration in todo]
    started = time.monotonic()
    timer: dict[str, float] = {}
    done: set[str] = set()

    def progress(action: str, migration: Migration | None = None, fake: bool = False) -> None:
        if action == "apply_start" and migration is not None:
            timer[migration_label(migration)] = time.monotonic()
            report(f"applying {migration_label(migration)} ({len(timer)}/{len(todo)})")
        elif action == "apply_success" and migration is not None:
            label = migration_label(migration)
            done.add(label)
            record({"name": label, "state": "applied", "error": "",
                    "duration_ms": int((time.monotonic() - timer[label]) * 1000)})

    executor.progress_callback = progress
    quiet = io.StringIO()
    emit_pre_migrate_signal(0, False, using, stdout=quiet, apps=global_apps, plan=steps)
    try:
        executor.migrate(executor.loader.graph.leaf_nodes(), plan=steps)
    except Exception as exc:
        failed = next((label for label in timer if label not in done), None)
        if failed:
            record({"name": failed, "state": "failed", "error": safe_error(exc),
                    "duration_ms": int((time.monotonic() - timer[failed]) * 1000)})
        raise
    # Content types and permissions of new models are made by post_migrate receivers.
    emit_post_migrate_signal(0, False, using, stdout=quiet, apps=global_apps, plan=steps)
    seconds = time.monotonic() - started
    return f"applied {len(todo)} migrations {kind} in {seconds:.1f} s"

