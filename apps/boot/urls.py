"""URLs of the health probes."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
