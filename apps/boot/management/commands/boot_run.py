"""Run the boot pipeline in the foreground and exit with its outcome: `manage.py boot_run`."""

from __future__ import annotations

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.boot import render
from apps.boot.checks import check_registry
from apps.boot.registry import registry
from apps.boot.runner import Runner

from .boot_status import EXIT_NO_RUN, EXIT_TIMEOUT, exit_code


class Command(BaseCommand):
    """Run every stage now and print the result; exit 0 fine, 1 critical failure, 2, 3 as usual."""

    help = ("Run the boot pipeline in the foreground and exit with its outcome. Queue stages "
            "run here too unless --queue hands them to a running qcluster.")
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the options."""
        parser.add_argument("--queue", action="store_true",
                            help="Hand queue stages to django-q2 (needs a running qcluster).")
        parser.add_argument("--timeout", type=float, default=None,
                            help="Give up after this many seconds (exit 3).")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the pipeline, show it, exit with its code."""
        problems = check_registry(registry)
        if problems:
            raise CommandError(
                "the stage declarations are broken: " + "; ".join(p.msg for p in problems)
                + " (run manage.py check)", returncode=EXIT_NO_RUN)
        runner = Runner(registry.all(), trigger="boot_run", queue_inline=not options["queue"])
        thread = threading.Thread(target=runner.run, name="boot:runner", daemon=True)
        thread.start()
        if not runner.finished.wait(options["timeout"]):
            runner.stop()
            thread.join(5)
            self.stdout.write(render.plain(runner.status))
            raise CommandError(f"stages still running after {options['timeout']:g} s",
                               returncode=EXIT_TIMEOUT)
        self.stdout.write(render.plain(runner.status))
        code = exit_code(runner.status)
        if code:
            raise CommandError("a critical stage ended badly", returncode=code)
