"""URLs of the prices API (included at /api/)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "pricing"

urlpatterns = [
    path("prices/", views.prices_list, name="prices"),
    path("prices/cost/", views.prices_cost, name="cost"),
]
