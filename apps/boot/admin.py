"""The boot records in the admin: runs as history, each with its stages, and the status page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .humanize import span
from .models import BootRun, StageRun
from .states import RunState


def _lazy(name: str) -> Callable[..., HttpResponse]:
    """Return a view that imports the status page's module on first use, not at startup.

    Admin autodiscovery imports this module in every process; the page's module pulls in the
    runner and tenacity, which serving the first request doesn't need.
    """
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from . import dashboard

        return getattr(dashboard, name)(request, *args, **kwargs)

    view.__name__ = view.__qualname__ = name
    return view


# Mounted at /admin/boot/ by project/urls.py, ahead of the admin site's own URLs.
status_urls = [
    path("status/", _lazy("status_page"), name="boot-status"),
    path("status/<uuid:run_id>/", _lazy("status_page"), name="boot-status-run"),
    path("status.json", _lazy("status_json"), name="boot-status-json"),
    path("status/rerun/", _lazy("rerun"), name="boot-status-rerun"),
]

STAGE_FIELDS = ("name", "state", "critical", "executor", "scope", "depends_on", "attempts",
                "queued_at", "started_at", "finished_at", "duration_ms", "detail", "error",
                "task_id")


class StageRunInline(admin.TabularInline):
    """A run's stages, read only: the runner writes them, nobody else."""

    model = StageRun
    fields = STAGE_FIELDS
    readonly_fields = STAGE_FIELDS
    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: BootRun | None = None) -> bool:
        """Let whoever may view a run see its stages: they are part of it."""
        return request.user.has_perm("boot.view_bootrun")

    def has_add_permission(self, request: HttpRequest, obj: BootRun | None = None) -> bool:
        """Refuse: stage runs are recorded by the runner."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: BootRun | None = None) -> bool:
        """Refuse: stage runs are recorded by the runner."""
        return False


@admin.register(BootRun)
class BootRunAdmin(admin.ModelAdmin):
    """Every process start's run: the history list, with a link to each run's timeline."""

    list_display = ("started_at", "process", "trigger", "outcome", "time_to_ready", "total",
                    "timeline")
    list_filter = ("state", "trigger", "host")
    search_fields = ("host",)
    date_hierarchy = "started_at"
    readonly_fields = ("id", "host", "pid", "trigger", "state", "started_at", "ready_at",
                       "finished_at", "heartbeat_at")
    inlines = (StageRunInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Refuse: runs are recorded by the runner (boot.change_bootrun allows re-runs)."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: BootRun | None = None) -> bool:
        """Refuse editing records; the permission itself guards the status page's re-runs."""
        return False

    @admin.display(description="process", ordering="host")
    def process(self, run: BootRun) -> str:
        """Return host:pid."""
        return f"{run.host}:{run.pid}"

    @admin.display(description="outcome", ordering="state")
    def outcome(self, run: BootRun) -> str:
        """Return the run's state as a coloured badge; interrupted runs stand out."""
        mark = "⚠ " if run.state == RunState.INTERRUPTED else ""
        return format_html('<span class="boot-state state-{}">{}{}</span>', run.state, mark,
                           run.state)

    @admin.display(description="time to ready")
    def time_to_ready(self, run: BootRun) -> str:
        """Return how long the process took to become ready."""
        return span(run.started_at, run.ready_at) or "-"

    @admin.display(description="total")
    def total(self, run: BootRun) -> str:
        """Return how long the whole run took."""
        return span(run.started_at, run.finished_at) or "-"

    @admin.display(description="timeline")
    def timeline(self, run: BootRun) -> str:
        """Link to the run's page on the status view."""
        return format_html('<a href="{}">timeline</a>', reverse("boot-status-run", args=[run.id]))

    class Media:
        css = {"all": ("boot/status.css",)}

