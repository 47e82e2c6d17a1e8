"""Run the boot pipeline in the foreground and exit with its outcome: `manage.py boot_run`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.boot import render
from apps.boot.checks import check_registry
from apps.boot.registry import registry
from apps.boot.runner import Runner

from .boot_status import EXIT_NO_RUN, exit_code


class Command(BaseCommand):
    """Run every stage now, print the result; exit 0 fine, 1 critical failure, 2 misconfigured."""

    help = "Run the boot pipeline in the foreground and exit with its outcome."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the options."""
        parser.add_argument("--sync", action="store_true",
                            help="Run queue stages here too, instead of waiting for a qcluster.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the pipeline, show it, exit with its code."""
        problems = check_registry(registry)
        if problems:
            raise CommandError(
                "the stage declarations are broken: " + "; ".join(p.msg for p in problems)
                + " (run manage.py check)", returncode=EXIT_NO_RUN)
        status = Runner(registry.all(), trigger="boot_run", queue_inline=options["sync"]).run()
        self.stdout.write(render.plain(status))
        code = exit_code(status)
        if code:
            raise CommandError("a critical stage ended badly", returncode=code)
