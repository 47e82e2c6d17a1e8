"""The project's URLs: health probes, the prices API, the admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("healthz/", include("apps.boot.urls")),
    path("api/", include("apps.pricing.urls")),
    path("admin/", admin.site.urls),
]
