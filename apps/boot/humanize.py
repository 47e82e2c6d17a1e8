"""Durations in words people read at a glance."""

from __future__ import annotations


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
