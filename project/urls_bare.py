"""URLs of the bare benchmark settings: one liveness view, as the project's answers."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    """Answer 200 whenever this process serves."""
    return JsonResponse({"status": "live"})


urlpatterns = [path("healthz/live", live, name="live")]
