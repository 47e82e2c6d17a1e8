"""Stages of the storage app: the Azure Blob Storage container check."""

from __future__ import annotations

from apps.boot.errors import TransientError
from apps.boot.registry import stage
from apps.boot.stage import StageContext

from .services import CONNECTION_TIMEOUT, READ_TIMEOUT, container_check, container_fingerprint


@stage(
    "storage.container",
    depends_on=(),
    timeout=15,
    attempts=3,
    backoff=0.5,
    cache_ttl=3600,
    fingerprint=container_fingerprint,
    transient=(TransientError,),
    description="Check that the default storage's Azure container exists; create it if allowed.",
)
def container(ctx: StageContext) -> str:
    """Check the container of the default storage (skipped unless it is Azure)."""
    return container_check(
        create=bool(ctx.settings.get("create", False)),
        connection_timeout=float(ctx.settings.get("connection_timeout", CONNECTION_TIMEOUT)),
        read_timeout=float(ctx.settings.get("read_timeout", READ_TIMEOUT)),
    )
