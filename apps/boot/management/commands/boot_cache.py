"""List or clear the startup cache: `manage.py boot_cache [--json] [--clear NAME | --clear-all]`."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.boot.cache import CacheEntry, startup_cache
from apps.boot.registry import registry

COLUMNS = ("stage", "fingerprint", "origin", "age", "expires in", "state", "detail")


def human_seconds(seconds: float) -> str:
    """Return a duration as its two largest units, e.g. "3m 04s", "-2h 05m", "12s"."""
    sign = "-" if seconds < 0 else ""
    left = int(abs(seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def entry_row(entry: CacheEntry, now: datetime) -> dict[str, Any]:
    """Return what the listing shows of one entry, as plain values."""
    return {
        **entry.to_dict(),
        "age": round((now - entry.stored_at).total_seconds(), 3),
        "expires_in": round((entry.expires_at - now).total_seconds(), 3),
        "expires_at": entry.expires_at.isoformat(),
        "fresh": entry.is_fresh(now),
    }


class Command(BaseCommand):
    """List the startup cache's entries, or clear one stage's or all of them."""

    help = "List the startup cache's entries (stage successes remembered), or clear them."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare --json, --clear NAME and --clear-all."""
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--clear", metavar="NAME", help="Remove the entries of one stage.")
        group.add_argument("--clear-all", action="store_true", help="Remove every entry.")

    def handle(self, *args: Any, **options: Any) -> None:
        """List or clear, as asked."""
        if options["clear"] is not None:
            self.clear(options["clear"], as_json=options["json"])
        elif options["clear_all"]:
            self.report_removed(None, startup_cache.clear(), as_json=options["json"])
        else:
            self.list(as_json=options["json"])

    def clear(self, name: str, *, as_json: bool) -> None:
        """Clear one stage's entries; a name neither registered nor cached is an error."""
        if name not in registry and name not in {entry.stage for entry in startup_cache.entries()}:
            try:
                registry.get(name)
            except LookupError as exc:
                raise CommandError(f"{exc} See `manage.py boot_cache` for the cached stages.",
                                   returncode=2) from None
        self.report_removed(name, startup_cache.clear(name), as_json=as_json)

    def report_removed(self, name: str | None, removed: int, *, as_json: bool) -> None:
        """Say how many entries were removed."""
        if as_json:
            self.stdout.write(json.dumps({"stage": name, "removed": removed}))
            return
        what = f"stage '{name}'" if name else "all stages"
        plural = "entry" if removed == 1 else "entries"
        self.stdout.write(self.style.SUCCESS(f"Removed {removed} cache {plural} of {what}."))

    def list(self, *, as_json: bool) -> None:
        """Print the entries as JSON, a rich table on a terminal, or plain text."""
        now = datetime.now(UTC)
        rows = [entry_row(entry, now) for entry in startup_cache.entries()]
        if as_json:
            self.stdout.write(json.dumps({"alias": startup_cache.alias, "entries": rows},
                                         indent=2))
            return
        if not rows:
            self.stdout.write(f"The startup cache (alias '{startup_cache.alias}') is empty.")
            return
        cells = [
            (row["stage"], row["fingerprint"], row["origin"], human_seconds(row["age"]),
             human_seconds(row["expires_in"]), "fresh" if row["fresh"] else "stale",
             row["detail"])
            for row in rows
        ]
        if self.stdout.isatty():
            self.print_rich(cells)
        else:
            self.print_plain(cells)

    def print_rich(self, cells: list[tuple[str, ...]]) -> None:
        """Print a rich table to this command's stdout, fitted to the terminal's width."""
        from rich import box
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Startup cache ({startup_cache.alias})", box=box.SIMPLE_HEAD,
                      collapse_padding=True, show_edge=False, pad_edge=False)
        for column in COLUMNS:
            # Short columns stay whole; the origin and the detail fold when the width runs out.
            folds = column in ("origin", "detail")
            table.add_column(column, no_wrap=not folds, overflow="fold",
                             ratio=1 if column == "detail" else None)
        for row in cells:
            style = "green" if row[5] == "fresh" else "yellow"
            # The first 8 characters identify a fingerprint at a glance, as git does commits.
            table.add_row(row[0], row[1][:8], *row[2:5], f"[{style}]{row[5]}[/]", row[6])
        # Rendered to a buffer and written through self.stdout, so styling and redirection
        # behave like every other command's output.
        buffer = io.StringIO()
        width = shutil.get_terminal_size().columns
        Console(file=buffer, force_terminal=True, width=width).print(table)
        self.stdout.write(buffer.getvalue(), ending="")

    def print_plain(self, cells: list[tuple[str, ...]]) -> None:
        """Print aligned columns of plain text, the detail last and unpadded."""
        header = tuple(column.upper() for column in COLUMNS)
        widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(COLUMNS) - 1)]
        for row in [header, *cells]:
            padded = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            self.stdout.write(f"{padded}  {row[-1]}".rstrip())
