"""A test app whose serving-critical migration depends on a deferred one: a conflict."""

from __future__ import annotations

from django.apps import AppConfig


class ConflictAppConfig(AppConfig):
    """Installed only by the test that checks db.migrate refuses the conflict."""

    name = "tests.conflictapp"
    label = "conflictapp"
