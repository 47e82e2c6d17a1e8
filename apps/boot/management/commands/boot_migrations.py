"""List the migration plan: what db.migrate applies before serving, and what is deferred."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.boot.migrating import migration_label, migration_plan


class Command(BaseCommand):
    """Print unapplied migrations as 'critical' or 'deferred'; exit 2 on a conflict."""

    help = "List unapplied migrations: needed to serve (db.migrate) or deferred."

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the plan."""
        plan = migration_plan()
        for migration in plan.critical:
            self.stdout.write(f"critical  {migration_label(migration)}")
        for migration in plan.deferred:
            self.stdout.write(f"deferred  {migration_label(migration)}")
        self.stdout.write(f"{plan.applied} applied, {len(plan.critical)} needed to serve, "
                          f"{len(plan.deferred)} deferred")
        if plan.conflicts:
            raise CommandError("; ".join(plan.conflicts), returncode=2)
