"""Results: paired statistics, one row per figure with its target, and the printed table."""

from __future__ import annotations

import statistics
import sys
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Paired:
    """Two commands measured alternately (A B A B ...): medians and the per-pair ratio B/A."""

    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)

    def add(self, a: float, b: float) -> None:
        """Record one pair."""
        self.a.append(a)
        self.b.append(b)

    @property
    def ratios(self) -> list[float]:
        """Return B/A for each pair."""
        return [b / a for a, b in zip(self.a, self.b, strict=True) if a > 0]

    def summary(self) -> dict[str, Any]:
        """Return medians, the median ratio, its spread and the raw samples."""
        ratios = self.ratios
        return {
            "pairs": len(ratios),
            "median_a": statistics.median(self.a) if self.a else None,
            "median_b": statistics.median(self.b) if self.b else None,
            "median_ratio": statistics.median(ratios) if ratios else None,
            "ratio_min": min(ratios) if ratios else None,
            "ratio_max": max(ratios) if ratios else None,
            "a": self.a,
            "b": self.b,
            "ratios": ratios,
        }


@dataclass
class Row:
    """One printed figure: what, the measured value, the target, and whether it is met."""

    section: str
    what: str
    figure: str
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        """Say 'met', 'MISSED' or '-' (no target)."""
        if self.met is None:
            return "-"
        return "met" if self.met else "MISSED"


def seconds(value: float | None) -> str:
    """Format seconds for the table."""
    if value is None:
        return "n/a"
    if value < 0.01:
        return f"{value * 1e6:.0f} µs" if value < 0.001 else f"{value * 1e3:.2f} ms"
    if value < 1:
        return f"{value * 1e3:.0f} ms"
    return f"{value:.2f} s"


def ratio(value: float | None) -> str:
    """Format a ratio for the table."""
    return "n/a" if value is None else f"{value:.2f}x"


def print_table(rows: list[Row], *, title: str) -> None:
    """Print the rows as a rich table on a terminal, as plain aligned text otherwise."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for column in ("benchmark", "what", "figure", "target", "met", "note"):
            table.add_column(column, overflow="fold")
        for row in rows:
            style = {"met": "green", "MISSED": "bold red"}.get(row.verdict, "")
            verdict = f"[{style}]{row.verdict}[/]" if style else row.verdict
            table.add_row(row.section, row.what, row.figure, row.target, verdict, row.note)
        Console().print(table)
        return
    print(title)
    print(markdown(rows))


def markdown(rows: list[Row]) -> str:
    """Return the rows as a Markdown table (the README's Performance section uses it)."""
    lines = ["| benchmark | what | figure | target | met |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        figure = row.figure + (f" ({row.note})" if row.note else "")
        lines.append(f"| {row.section} | {row.what} | {figure} | {row.target or '-'} | "
                     f"{row.verdict} |")
    return "\n".join(lines)


def as_json(rows: list[Row]) -> list[dict[str, Any]]:
    """Return the rows as plain dicts."""
    return [{**asdict(row), "verdict": row.verdict} for row in rows]
