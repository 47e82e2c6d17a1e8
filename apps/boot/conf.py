"""The boot app's settings, read on every access so `override_settings` works."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings

from .stage import Stage

# Stage fields that settings may override per stage, e.g. BOOT["STAGES"]["x"]["timeout"] = 5.
OVERRIDABLE = ("priority", "timeout", "critical", "cache_ttl", "stale_while_revalidate", "lazy")


class BootSettings:
    """Typed access to settings.BOOT with defaults."""

    @property
    def _boot(self) -> dict[str, Any]:
        return getattr(settings, "BOOT", {})

    @property
    def autostart(self) -> bool:
        """Start the pipeline when the WSGI/ASGI application is created."""
        return bool(self._boot.get("AUTOSTART", True))

    @property
    def max_workers(self) -> int:
        """How many stages run at once in one process."""
        return int(self._boot.get("MAX_WORKERS", 4))

    @property
    def queue_pickup_warning(self) -> float:
        """Seconds a queue stage may wait for a worker before its detail says so."""
        return float(self._boot.get("QUEUE_PICKUP_WARNING", 30.0))

    @property
    def heartbeat(self) -> float:
        """Seconds between heartbeats of a live run."""
        return float(self._boot.get("HEARTBEAT", 10.0))

    @property
    def stale_after(self) -> float:
        """Seconds without a heartbeat after which another host's live run counts as dead."""
        return float(self._boot.get("STALE_AFTER", 60.0))

    @property
    def metrics_token(self) -> str:
        """Bearer token that lets a scraper read /metrics without signing in; empty: none."""
        return str(self._boot.get("METRICS_TOKEN") or "")

    def stage_settings(self, name: str) -> dict[str, Any]:
        """Return the settings block of one stage (BOOT["STAGES"][name])."""
        return dict(self._boot.get("STAGES", {}).get(name, {}))

    def apply_overrides(self, stage: Stage) -> Stage:
        """Return the stage with the overrides its settings block gives."""
        options = self.stage_settings(stage.name)
        changes = {key: options[key] for key in OVERRIDABLE if key in options}
        if "attempts" in options:
            changes["retry"] = dataclasses.replace(stage.retry, attempts=int(options["attempts"]))
        return dataclasses.replace(stage, **changes) if changes else stage


boot_settings = BootSettings()
