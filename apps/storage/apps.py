"""The storage app: the Azure Blob Storage container stage."""

from __future__ import annotations

from django.apps import AppConfig


class StorageConfig(AppConfig):
    """Registers the storage stages; does no I/O."""

    name = "apps.storage"
    label = "storage"
    verbose_name = "Storage"

    def ready(self) -> None:
        """Import this app's stages (registration only)."""
        from . import stages  # noqa: F401
