"""A test app with a real deferred migration, applied by the pipeline."""

from __future__ import annotations

from django.apps import AppConfig


class DeferredAppConfig(AppConfig):
    """Holds the Note model, whose slug column and index come in a deferred migration."""

    name = "tests.deferredapp"
    label = "deferredapp"
