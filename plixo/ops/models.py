"""Scheduled jobs, the scheduler's leader lease, and the maintenance switch."""

from django.conf import settings
from django.db import models


class Job(models.Model):
    """A periodic job. The scheduler enqueues it when `next_run_at` has passed and it is not
    paused; pausing is a row update (OPS-3)."""

    class Status(models.TextChoices):
        NEVER = "never", "Never run"
        ENQUEUED = "enqueued", "Enqueued"
        RUNNING = "running", "Running"
        OK = "ok", "Succeeded"
        ERROR = "error", "Failed"
        SKIPPED = "skipped", "Skipped"

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    every_seconds = models.PositiveIntegerField(help_text="Run this often (seconds).")
    paused = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.CharField(max_length=200, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEVER)
    last_result = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    run_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SchedulerLease(models.Model):
    """One row per lease name; the process holding an unexpired lease is the leader."""

    SCHEDULER = "scheduler"  # the lease the `plixo scheduler` processes compete for

    name = models.CharField(max_length=50, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_tick_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'}"


class MaintenanceState(models.Model):
    """A single row: while `enabled`, the portal answers 503 and nothing is sent."""

    enabled = models.BooleanField(default=False)
    message = models.CharField(max_length=300, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by_label = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return "Maintenance on" if self.enabled else "Maintenance off"
