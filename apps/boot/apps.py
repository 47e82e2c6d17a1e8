"""The boot app: the startup pipeline, its registry, runner, probes and commands."""

from __future__ import annotations

from django.apps import AppConfig


class BootConfig(AppConfig):
    """Registers the boot app's checks and stages; does no I/O."""

    name = "apps.boot"
    label = "boot"
    verbose_name = "Boot pipeline"

    def ready(self) -> None:
        """Import the system checks and this app's stages (registration only)."""
        from . import checks, security, stages  # noqa: F401
