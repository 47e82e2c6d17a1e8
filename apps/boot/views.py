"""Health probes: answered from this process's memory, with no query."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .readiness import current_runner


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    """Answer 200 whenever this process serves."""
    return JsonResponse({"status": "live"})


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    """Answer 200 once every critical stage ended well, 503 before that or after a failure."""
    runner = current_runner()
    if runner is None:
        return _quiet(JsonResponse(
            {"status": "not_started", "detail": "the boot pipeline has not started here"},
            status=503,
        ))
    status = runner.status
    # Errors may name internals: only people allowed to see the boot status get them.
    show_errors = request.user.is_authenticated and request.user.has_perm("boot.view_bootrun")
    stages = {
        name: {"state": str(stage.state), **({"error": stage.error} if show_errors
                                              and stage.error else {})}
        for name, stage in status.stages.items()
    }
    body = {"status": "ready" if status.ready else str(status.state), "run": str(status.id),
            "state": str(status.state), "stages": stages}
    return _quiet(JsonResponse(body, status=200 if status.ready else 503))


def _quiet(response: JsonResponse) -> JsonResponse:
    """Keep Django from logging an expected 503 as an error on every probe."""
    response._has_been_logged = True  # type: ignore[attr-defined]  (read by django.utils.log)
    return response
