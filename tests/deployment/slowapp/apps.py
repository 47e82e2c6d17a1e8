"""A test app whose migration sleeps when DEPLOY_SLOW_MIGRATION is set, to be killed mid-way."""

from __future__ import annotations

from django.apps import AppConfig


class SlowAppConfig(AppConfig):
    """Holds the Applied model: one row per time the slow migration's work was committed."""

    name = "tests.deployment.slowapp"
    label = "slowapp"
