"""What the pipeline records: one BootRun per process start, one StageRun per stage in it."""

from __future__ import annotations

import uuid

from django.db import models

from .states import RunState, StageState


class BootRun(models.Model):
    """One execution of the pipeline by one process."""

    # The id is made in memory before the tables may exist, and names the run in queue tasks.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    trigger = models.CharField(max_length=32, default="wsgi")
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.STARTING)
    started_at = models.DateTimeField()
    ready_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["state", "host"], name="boot_run_state_host")]

    def __str__(self) -> str:
        return f"{self.host}:{self.pid} {self.started_at:%Y-%m-%d %H:%M:%S} ({self.state})"


class StageRun(models.Model):
    """One stage within one run: its state, attempts, times and what it said."""

    run = models.ForeignKey(BootRun, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    state = models.CharField(max_length=16, choices=StageState.choices, default=StageState.PENDING)
    critical = models.BooleanField(default=False)
    executor = models.CharField(max_length=16, default="thread")
    scope = models.CharField(max_length=16, default="process")
    depends_on = models.JSONField(default=list, blank=True)
    priority = models.IntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")
    facts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-priority", "name"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name"], name="boot_stagerun_unique_name"),
        ]
        indexes = [models.Index(fields=["name", "state"], name="boot_stagerun_name_state")]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"
