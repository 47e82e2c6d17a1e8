"""Start django-q2's cluster once its tables exist: `manage.py boot_worker`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection


class Command(BaseCommand):
    """Wait for db.migrate to create django-q2's tables, then run `qcluster`."""

    help = ("Run django-q2's qcluster once the web process's db.migrate stage has made its "
            "tables (on a fresh database the worker would otherwise start before them).")

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the options."""
        parser.add_argument("--timeout", type=float, default=300.0,
                            help="Seconds to wait for the tables (default 300).")

    def handle(self, *args: Any, **options: Any) -> None:
        """Wait for the tables, then hand over to qcluster."""
        deadline = time.monotonic() + options["timeout"]
        while not self._tables_ready():
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"django-q2's tables still missing after {options['timeout']:g} s: is the "
                    "web process running (its db.migrate stage creates them)?", returncode=2)
            time.sleep(0.5)
        connection.close()
        call_command("qcluster")

    def _tables_ready(self) -> bool:
        try:
            return "django_q_ormq" in connection.introspection.table_names()
        except DatabaseError:
            return False
