"""One row per commit of the slow migration's work: more than one means it was applied twice."""

from __future__ import annotations

from django.db import models


class Applied(models.Model):
    """Who applied the slow migration, and when."""

    pid = models.PositiveIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"applied by {self.pid}"
