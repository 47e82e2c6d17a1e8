"""`/metrics`: this process's run in the Prometheus text format, read from memory."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .conf import boot_settings
from .readiness import current_runner
from .states import RunState, StageState
from .status import RunStatus

if TYPE_CHECKING:
    from prometheus_client.core import Metric

VIEW_PERM = "boot.view_bootrun"


class BootCollector:
    """Describe this process's current run at scrape time: no state of its own, no query."""

    # prometheus_client (70 ms to import) loads on the first scrape, not with the URLconf.
    def collect(self) -> Iterator[Metric]:
        """Yield the run's readiness, time to ready, and each stage's state, attempts, duration."""
        from prometheus_client.core import GaugeMetricFamily

        runner = current_runner()
        status = runner.status if runner is not None else None
        ready = GaugeMetricFamily(
            "boot_ready", "1 once every critical stage of this process's run ended well.")
        ready.add_metric([], 1.0 if status is not None and status.ready else 0.0)
        yield ready
        if status is None:
            return
        yield from _run_metrics(status)
        yield from _stage_metrics(status)


def _run_metrics(status: RunStatus) -> Iterator[Metric]:
    from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

    info = InfoMetricFamily("boot_run", "This process's current boot run.")
    info.add_metric([], {"run": str(status.id), "trigger": status.trigger})
    yield info
    state = GaugeMetricFamily("boot_run_state", "The run's state: 1 for the current one.",
                              labels=["state"])
    for choice in RunState:
        state.add_metric([choice.value], 1.0 if status.state == choice else 0.0)
    yield state
    if status.ready_at is not None:
        to_ready = GaugeMetricFamily(
            "boot_time_to_ready_seconds", "Seconds from the run's start to readiness.")
        to_ready.add_metric([], (status.ready_at - status.started_at).total_seconds())
        yield to_ready


def _stage_metrics(status: RunStatus) -> Iterator[Metric]:
    from prometheus_client.core import GaugeMetricFamily

    labels = ["stage"]
    duration = GaugeMetricFamily(
        "boot_stage_duration_seconds",
        "Seconds the stage ran (so far, while it runs); absent before it starts.", labels=labels)
    attempts = GaugeMetricFamily("boot_stage_attempts", "Attempts the stage made in this run.",
                                 labels=labels)
    critical = GaugeMetricFamily("boot_stage_critical", "1 if readiness waits for the stage.",
                                 labels=labels)
    state = GaugeMetricFamily("boot_stage_state", "The stage's state: 1 for the current one.",
                              labels=["stage", "state"])
    now = timezone.now()
    # The runner changes these fields from its threads; a scrape reads each value once.
    for stage in list(status.stages.values()):
        if stage.duration_ms is not None:
            duration.add_metric([stage.name], stage.duration_ms / 1000)
        elif stage.started_at is not None:
            duration.add_metric([stage.name], (now - stage.started_at).total_seconds())
        attempts.add_metric([stage.name], float(stage.attempts))
        critical.add_metric([stage.name], 1.0 if stage.critical else 0.0)
        current = stage.state
        for choice in StageState:
            state.add_metric([stage.name, choice.value], 1.0 if current == choice else 0.0)
    yield from (duration, attempts, critical, state)


def metrics_text() -> bytes:
    """Return the exposition of this process's run, from a registry of its own."""
    from prometheus_client import CollectorRegistry, generate_latest

    # A fresh registry: the global default one carries process and platform collectors, and
    # registering twice in it (tests, reloads) raises.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BootCollector())
    return generate_latest(registry)


def allowed(request: HttpRequest) -> bool | None:
    """Say whether the request may read metrics: True, False (signed in, no right), None (who?)."""
    token = boot_settings.metrics_token
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        # Checked before the session, so a scraper with the token costs no query.
        return hmac.compare_digest(header.removeprefix("Bearer ").strip().encode(),
                                   token.encode())
    user = request.user
    if not user.is_authenticated:
        return None
    return bool(user.is_active and user.is_staff and user.has_perm(VIEW_PERM))


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Serve the metrics to staff who may view boot runs, or to a scraper with the token."""
    verdict = allowed(request)
    if verdict is None:
        response = HttpResponse("sign in to the admin, or send Authorization: Bearer <token>\n",
                                status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not verdict:
        return HttpResponse("not allowed to read metrics\n", status=403,
                            content_type="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST

    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
