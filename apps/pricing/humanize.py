"""Durations and sync outcomes as short phrases for one-line details."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """Say a duration the way a person would: '45 s', '40 min', '2 h 20 min'."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
