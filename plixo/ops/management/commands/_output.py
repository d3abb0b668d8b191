"""Shared output helpers for the ops commands (not a command: the leading underscore hides it)."""

import json
from datetime import UTC, datetime

from django.core.management.base import CommandError

from plixo.ops.jobs import interval_label
from plixo.ops.models import Job, MaintenanceState


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def human_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def job_dict(job: Job) -> dict:
    return {
        "name": job.name,
        "description": job.description,
        "every_seconds": job.every_seconds,
        "every": interval_label(job.every_seconds),
        "paused": job.paused,
        "paused_at": iso(job.paused_at),
        "paused_by": job.paused_by,
        "last_run_at": iso(job.last_run_at),
        "last_finished_at": iso(job.last_finished_at),
        "last_status": job.last_status,
        "last_result": job.last_result,
        "last_error": job.last_error,
        "next_run_at": iso(job.next_run_at),
        "run_count": job.run_count,
    }


def maintenance_dict(state: MaintenanceState) -> dict:
    return {
        "enabled": state.enabled,
        "message": state.message,
        "changed_at": iso(state.changed_at),
        "changed_by": state.changed_by_label,
    }


def fail(command, message: str, *, as_json: bool, returncode: int) -> CommandError:
    """The error to raise; with --json the message is also the one JSON object on stdout."""
    if as_json:
        command.stdout.write(json.dumps({"error": message}))
    return CommandError(message, returncode=returncode)
