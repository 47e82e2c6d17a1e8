"""The project's URLs: health probes, the prices API, metrics, the admin and its boot status."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from apps.boot.admin import status_urls
from apps.boot.metrics import metrics

urlpatterns = [
    path("healthz/", include("apps.boot.urls")),
    path("api/", include("apps.pricing.urls")),
    path("metrics", metrics, name="metrics"),
    # The startup status page lives among the admin's pages, ahead of its catch-all.
    path("admin/boot/", include(status_urls)),
    path("admin/", admin.site.urls),
]
