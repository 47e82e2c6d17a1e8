"""Start the pipeline from the WSGI/ASGI application."""

from __future__ import annotations


def start_pipeline() -> None:
    """Start the boot pipeline in the background (wired up by the runner)."""
