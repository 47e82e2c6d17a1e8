"""The boot pipeline: named startup stages run in the background, in dependency order."""

from __future__ import annotations


def require(name: str):  # type: ignore[no-untyped-def]
    """Run lazy stage `name` once, the first time it is needed (see apps.boot.lazy.require)."""
    from .lazy import require as run_lazy

    return run_lazy(name)
