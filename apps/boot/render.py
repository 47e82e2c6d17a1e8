"""Render a run for the terminal: a rich table on a terminal, aligned plain text elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .status import RunStatus, StageStatus

if TYPE_CHECKING:
    from rich.console import RenderableType

STATE_STYLE = {
    "pending": "dim", "queued": "cyan", "running": "yellow", "succeeded": "green",
    "cached": "green", "skipped": "blue", "failed": "bold red", "timed_out": "bold red",
    "blocked": "red", "interrupted": "magenta",
}


def stage_duration(stage: StageStatus) -> str:
    """Return the stage's duration in a short human form, or '-' while it has none."""
    if stage.duration_ms is None:
        return "-"
    seconds = stage.duration_ms / 1000
    return f"{stage.duration_ms} ms" if seconds < 1 else f"{seconds:.1f} s"


def headline(status: RunStatus) -> str:
    """Return one line about the run: state, process, progress."""
    done = sum(1 for s in status.stages.values() if s.terminal)
    return (f"run {status.id} on {status.host}:{status.pid} ({status.trigger}): "
            f"{status.state}, {done}/{len(status.stages)} stages done")


def migration_lines(stage: StageStatus, *, every: bool = False) -> list[str]:
    """Return one line per migration a stage recorded: all of them, or only the failed ones."""
    return [
        f"  -> {m['name']} {m['state']} in {m.get('duration_ms', 0)} ms, "
        f"{m.get('attempts', 1)} attempt(s){': ' + m['error'] if m.get('error') else ''}"
        for m in stage.facts.get("migrations", [])
        if every or m.get("state") != "applied"
    ]


def plain(status: RunStatus, *, migrations: bool = False) -> str:
    """Return the run as aligned plain text, one line per stage, critical stages starred.

    Failed migrations are listed under their stage; every migration with `migrations=True`.
    """
    rows = [("STAGE", "STATE", "ATTEMPTS", "DURATION", "DETAIL")]
    notes: dict[int, list[str]] = {}
    for stage in status.stages.values():
        rows.append((
            f"{stage.name}{' *' if stage.critical else ''}", str(stage.state),
            str(stage.attempts), stage_duration(stage), stage.error or stage.detail,
        ))
        notes[len(rows) - 1] = migration_lines(stage, every=migrations)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [headline(status)]
    for index, row in enumerate(rows):
        cells = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4]))
        lines.append(f"{cells}  {row[4]}")
        lines += notes.get(index, [])
    lines.append("* critical: readiness waits for it")
    return "\n".join(line.rstrip() for line in lines)


def table(status: RunStatus, *, migrations: bool = False) -> RenderableType:
    """Return the run as a rich table, states in colour, failed migrations under their stage."""
    from rich.table import Table

    grid = Table(title=headline(status), title_justify="left", expand=False)
    for column in ("stage", "state", "attempts", "duration", "detail"):
        grid.add_column(column, overflow="fold")
    for stage in status.stages.values():
        style = STATE_STYLE.get(str(stage.state), "")
        detail = f"[red]{_escape(stage.error)}[/]" if stage.error else _escape(stage.detail)
        for line in migration_lines(stage, every=migrations):
            detail += f"\n[dim]{_escape(line.strip())}[/]"
        grid.add_row(
            f"{stage.name}{' [bold]*[/]' if stage.critical else ''}",
            f"[{style}]{stage.state}[/]", str(stage.attempts), stage_duration(stage), detail,
        )
    grid.caption = "* critical: readiness waits for it"
    return grid


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
