"""URLs of the health probes."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "boot"
urlpatterns = [
    path("live", views.live, name="live"),
    path("ready", views.ready, name="ready"),
]
