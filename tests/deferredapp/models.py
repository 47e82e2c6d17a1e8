"""A model whose second migration is deferred: serving works before it is applied."""

from __future__ import annotations

from django.db import models


class Note(models.Model):
    """A note; `slug` is added and backfilled by a deferred migration."""

    text = models.CharField(max_length=200)
    slug = models.CharField(max_length=200, default="", db_index=True)

    def __str__(self) -> str:
        return self.text
