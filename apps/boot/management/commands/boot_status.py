"""Show this deployment's latest boot run: `manage.py boot_status [--json] [--watch] [--wait]`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.boot import render
from apps.boot.checks import check_registry
from apps.boot.registry import registry
from apps.boot.selectors import run_latest
from apps.boot.states import BAD_STATES
from apps.boot.status import RunStatus

EXIT_OK, EXIT_CRITICAL, EXIT_NO_RUN, EXIT_TIMEOUT = 0, 1, 2, 3


def exit_code(status: RunStatus) -> int:
    """Return 1 if a critical stage ended badly, else 0."""
    bad = any(s.critical and s.state in BAD_STATES for s in status.stages.values())
    return EXIT_CRITICAL if bad else EXIT_OK


class Command(BaseCommand):
    """Print the latest run; exit 0 fine, 1 critical failure, 2 no run, 3 wait timed out."""

    help = "Show the latest boot run: each stage's state, attempts, duration and detail."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the options."""
        parser.add_argument("--json", action="store_true", help="Print the run as JSON.")
        parser.add_argument("--watch", action="store_true",
                            help="Redraw while stages run; exit once all are terminal.")
        parser.add_argument("--wait", action="store_true",
                            help="Block until every stage is terminal.")
        parser.add_argument("--timeout", type=float, default=300.0,
                            help="Seconds --wait and --watch wait at most (default 300).")
        parser.add_argument("--run", help="Show the run with this id instead of the latest.")
        parser.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        """Show the run, waiting or watching if asked, and exit with its code."""
        self.verbosity = options["verbosity"]
        problems = check_registry(registry)
        if problems:
            raise CommandError(
                "the stage declarations are broken: " + "; ".join(p.msg for p in problems)
                + " (run manage.py check)", returncode=EXIT_NO_RUN)
        if options["watch"]:
            from apps.boot.watch import watch

            status, timed_out = watch(self, run_id=options["run"], timeout=options["timeout"],
                                      interval=options["interval"])
        elif options["wait"]:
            status, timed_out = self._wait(options["run"], options["timeout"], options["interval"])
        else:
            status, timed_out = run_latest(run_id=options["run"]), False
        if status is None:
            raise CommandError("no boot run recorded yet: start the server (make run) or run "
                               "manage.py boot_run", returncode=EXIT_NO_RUN)
        if not options["watch"]:
            self._show(status, as_json=options["json"])
        if timed_out:
            raise CommandError(f"stages still running after {options['timeout']:g} s",
                               returncode=EXIT_TIMEOUT)
        code = exit_code(status)
        if code:
            raise CommandError("a critical stage ended badly", returncode=code)

    def _wait(self, run_id: str | None, timeout: float,
              interval: float) -> tuple[RunStatus | None, bool]:
        deadline = time.monotonic() + timeout
        while True:
            status = run_latest(run_id=run_id)
            if status is not None and status.terminal:
                return status, False
            if time.monotonic() >= deadline:
                return status, status is not None
            time.sleep(interval)

    def _show(self, status: RunStatus, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(status.as_dict(), indent=2))
        elif self.stdout.isatty():
            from rich.console import Console

            Console(file=sys.stdout).print(
                render.table(status, migrations=self.verbosity > 1))
        else:
            self.stdout.write(render.plain(status, migrations=self.verbosity > 1))

