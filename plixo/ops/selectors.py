"""Reads for operations: maintenance state, the jobs as the Ops page shows them, scheduler
health and the background-task queue."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django_tasks import task_backends
from django_tasks.base import TaskResultStatus
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from plixo.ops.jobs import JOBS, JobSpec, interval_label
from plixo.ops.models import Job, MaintenanceState, SchedulerLease

SCHEDULER_STALE_AFTER = timedelta(seconds=60)
# A task ready this long without being picked up means no worker is taking work.
QUEUE_STUCK_AFTER = timedelta(seconds=60)
FAILED_WINDOW = timedelta(hours=24)


def maintenance_state() -> MaintenanceState:
    return MaintenanceState.objects.filter(pk=1).first() or MaintenanceState(pk=1)


def maintenance_active() -> bool:
    """True while maintenance mode is on: the portal is closed and senders must not send."""
    return MaintenanceState.objects.filter(pk=1, enabled=True).exists()


_BADGES = {
    Job.Status.OK: "ok",
    Job.Status.ERROR: "error",
    Job.Status.ENQUEUED: "open",
    Job.Status.RUNNING: "open",
    Job.Status.SKIPPED: "paused",
    Job.Status.NEVER: "void",
}


@dataclass
class JobRow:
    """A registered job with its row (unsaved until the scheduler first syncs the table)."""

    job: Job
    spec: JobSpec

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def every(self) -> str:
        return interval_label(self.job.every_seconds)

    @property
    def badge(self) -> str:
        return _BADGES.get(self.job.last_status, "void")

    @property
    def error_summary(self) -> str:
        """The last line of the traceback: the exception and its message."""
        lines = self.job.last_error.strip().splitlines()
        return lines[-1] if lines else ""


def jobs_overview() -> list[JobRow]:
    rows = {job.name: job for job in Job.objects.filter(name__in=list(JOBS))}
    overview = []
    for name, spec in sorted(JOBS.items()):
        job = rows.get(name) or Job(
            name=name,
            description=spec.description,
            every_seconds=int(spec.every.total_seconds()),
        )
        overview.append(JobRow(job=job, spec=spec))
    return overview


@dataclass
class SchedulerHealth:
    leader: str  # empty when no scheduler holds the lease
    lease_expires_at: datetime | None
    last_tick_at: datetime | None
    stale: bool  # no tick for over a minute (or ever): nothing is being scheduled


def scheduler_health(*, now: datetime | None = None) -> SchedulerHealth:
    now = now or timezone.now()
    lease = SchedulerLease.objects.filter(name=SchedulerLease.SCHEDULER).first()
    if lease is None:
        return SchedulerHealth(leader="", lease_expires_at=None, last_tick_at=None, stale=True)
    live = bool(lease.holder) and lease.expires_at is not None and lease.expires_at > now
    return SchedulerHealth(
        leader=lease.holder if live else "",
        lease_expires_at=lease.expires_at if live else None,
        last_tick_at=lease.last_tick_at,
        stale=lease.last_tick_at is None or now - lease.last_tick_at > SCHEDULER_STALE_AFTER,
    )


@dataclass
class QueueDepth:
    database_backend: bool  # False when tasks run in-process (tests, some dev set-ups)
    waiting: int  # ready to run now
    scheduled: int  # queued to run later
    running: int
    failed_recent: int  # failed within FAILED_WINDOW
    oldest_waiting_at: datetime | None
    stuck: bool  # work has waited over QUEUE_STUCK_AFTER: is a worker running?


def task_queue_depth(*, now: datetime | None = None) -> QueueDepth:
    now = now or timezone.now()
    database_backend = any(
        isinstance(task_backends[alias], DatabaseBackend) for alias in task_backends.settings
    )
    ready = DBTaskResult.objects.ready()
    waiting = ready.count()
    oldest = ready.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    return QueueDepth(
        database_backend=database_backend,
        waiting=waiting,
        scheduled=DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() - waiting,
        running=DBTaskResult.objects.running().count(),
        failed_recent=DBTaskResult.objects.failed()
        .filter(finished_at__gte=now - FAILED_WINDOW)
        .count(),
        oldest_waiting_at=oldest,
        stuck=oldest is not None and now - oldest > QUEUE_STUCK_AFTER,
    )


@dataclass
class OpsDashboard:
    jobs: list[JobRow]
    scheduler: SchedulerHealth
    queue: QueueDepth
    maintenance: MaintenanceState


def ops_dashboard(*, now: datetime | None = None) -> OpsDashboard:
    """Everything the Ops page shows, in a handful of small queries."""
    now = now or timezone.now()
    return OpsDashboard(
        jobs=jobs_overview(),
        scheduler=scheduler_health(now=now),
        queue=task_queue_depth(now=now),
        maintenance=maintenance_state(),
    )
