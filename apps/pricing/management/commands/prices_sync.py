"""`manage.py prices_sync [--force]`: sync OpenRouter's prices now, unless they are fresh."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.pricing.errors import PricingMisconfigured, SyncFailed
from apps.pricing.services import prices_sync

# Exit codes, as boot_status: 0 fine, 1 the sync failed, 2 misconfigured.
FAILED = 1
MISCONFIGURED = 2


class Command(BaseCommand):
    """Sync prices in the foreground and exit with the outcome."""

    help = "Sync OpenRouter's models and prices unless fresh (--force: fetch anyway)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Add --force."""
        parser.add_argument("--force", action="store_true",
                            help="fetch even if the last sync is younger than the interval")

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        """Run the sync; report its one-line detail or fail with its exit code."""
        try:
            result = prices_sync(force=force, trigger="command")
        except PricingMisconfigured as exc:
            raise CommandError(str(exc), returncode=MISCONFIGURED) from None
        except SyncFailed as exc:
            raise CommandError(str(exc), returncode=FAILED) from None
        self.stdout.write(self.style.SUCCESS(result.detail))
