"""`boot_status --watch`: redraw the run in place until every stage is terminal."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import render
from .selectors import run_latest
from .status import RunStatus

if TYPE_CHECKING:
    from django.core.management.base import BaseCommand


def watch(command: BaseCommand, *, run_id: str | None, timeout: float,
          interval: float) -> tuple[RunStatus | None, bool]:
    """Show the run live until it is terminal or `timeout` passes; return it and if time ran out.

    On a terminal the table redraws in place; elsewhere (a pipe, a log) a line is printed
    for each change, so the output stays readable.
    """
    deadline = time.monotonic() + timeout
    if command.stdout.isatty():
        return _watch_live(run_id, deadline, interval)
    return _watch_plain(command, run_id, deadline, interval)


def _watch_live(run_id: str | None, deadline: float,
                interval: float) -> tuple[RunStatus | None, bool]:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    with Live(Text("waiting for a boot run..."), console=Console(), auto_refresh=False) as live:
        while True:
            status = run_latest(run_id=run_id)
            if status is not None:
                live.update(render.table(status), refresh=True)
                if status.terminal:
                    return status, False
            if time.monotonic() >= deadline:
                return status, status is not None
            time.sleep(interval)


def _watch_plain(command: BaseCommand, run_id: str | None, deadline: float,
                 interval: float) -> tuple[RunStatus | None, bool]:
    seen: dict[str, tuple[str, str]] = {}
    status = None
    while True:
        status = run_latest(run_id=run_id)
        if status is not None:
            for stage in status.stages.values():
                now = (str(stage.state), stage.error or stage.detail)
                if seen.get(stage.name) != now:
                    seen[stage.name] = now
                    command.stdout.write(f"{stage.name}: {now[0]}{' - ' if now[1] else ''}"
                                         f"{now[1]}")
            if status.terminal:
                command.stdout.write(render.headline(status))
                return status, False
        if time.monotonic() >= deadline:
            return status, status is not None
        time.sleep(interval)
