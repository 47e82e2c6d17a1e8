"""The pricing app: OpenRouter's models and prices, their sync, API and admin."""

from __future__ import annotations

from django.apps import AppConfig


class PricingConfig(AppConfig):
    """Registers the pricing stages; does no I/O."""

    name = "apps.pricing"
    label = "pricing"
    verbose_name = "Pricing"

    def ready(self) -> None:
        """Import this app's stages (registration only)."""
        from . import stages  # noqa: F401
