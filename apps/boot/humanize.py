"""Durations in words people read at a glance."""

from __future__ import annotations

from datetime import datetime


def duration(seconds: float) -> str:
    """Return `seconds` as '850 ms', '12 s', '40 min' or '2 h 20 min'."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def span(start: datetime, end: datetime | None) -> str | None:
    """Return the time from start to end as '850 ms' or '12.3 s', or None until it ended."""
    if end is None:
        return None
    seconds = (end - start).total_seconds()
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"
