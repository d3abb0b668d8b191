"""Writes for operations: the job table, the scheduler's leader lease, maintenance mode and
housekeeping of background-task results.

Jobs are instance-wide (they work across every organization), so nothing here is scoped by
organization; the Ops page guards them with `Cap.OPS_MANAGE`.
"""

import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.models import DBTaskResult

from plixo.ops.jobs import JOBS, JobSpec, job_spec
from plixo.ops.models import Job, MaintenanceState, SchedulerLease

log = structlog.get_logger("plixo.ops")

SCHEDULER_LEASE = SchedulerLease.SCHEDULER
TASK_RESULTS_KEEP = timedelta(days=14)
# A run still marked enqueued/running after this long is presumed lost (a worker killed mid-run,
# a queue wiped) and the job is enqueued again; before that a due job is not stacked up twice.
IN_FLIGHT_GRACE = timedelta(hours=1)
RESULT_MAX_CHARS = 2000
ERROR_MAX_CHARS = 4000

JOB_RUN_TASK = "plixo.ops.tasks.job_run"


# ---------------------------------------------------------------------------------------------
# The job table


def _job_row(spec: JobSpec, *, now: datetime | None = None) -> Job:
    # get_or_create absorbs the IntegrityError when two processes create the row at once.
    job, _ = Job.objects.get_or_create(
        name=spec.name,
        defaults={
            "description": spec.description,
            "every_seconds": int(spec.every.total_seconds()),
            # A new job runs on the scheduler's next tick, then every interval after that.
            "next_run_at": now or timezone.now(),
        },
    )
    return job


def jobs_sync(*, now: datetime | None = None) -> list[Job]:
    """Make the Job table match the registry: create missing rows and refresh descriptions.

    Paused flags, schedules that an operator changed and run history are kept."""
    now = now or timezone.now()
    rows = []
    for spec in JOBS.values():
        job = _job_row(spec, now=now)
        if job.description != spec.description:
            Job.objects.filter(pk=job.pk).update(description=spec.description)
            job.description = spec.description
        rows.append(job)
    return sorted(rows, key=lambda job: job.name)


def job_pause(*, name: str, actor_label: str) -> Job:
    spec = job_spec(name)
    job = _job_row(spec)
    # Pausing twice keeps the first pause's time and author.
    Job.objects.filter(pk=job.pk, paused=False).update(
        paused=True, paused_at=timezone.now(), paused_by=actor_label[:200]
    )
    job.refresh_from_db()
    log.info("job.paused", job=name, by=actor_label)
    return job


def job_resume(*, name: str, actor_label: str = "") -> Job:
    spec = job_spec(name)
    job = _job_row(spec)
    Job.objects.filter(pk=job.pk).update(paused=False, paused_at=None, paused_by="")
    # A job resumed after missing its slot runs on the next tick, once.
    Job.objects.filter(pk=job.pk, next_run_at__isnull=True).update(next_run_at=timezone.now())
    job.refresh_from_db()
    log.info("job.resumed", job=name, by=actor_label)
    return job


def _job_run_task():
    # Resolved lazily: the task module imports this one.
    return import_string(JOB_RUN_TASK)


def job_enqueue_now(*, name: str, actor_label: str = "") -> Job:
    """Queue one run of a job for the worker, outside its schedule (the Ops page's "Run now").
    The schedule is unchanged; a paused job runs too, because someone asked for it."""
    spec = job_spec(name)
    job = _job_row(spec)
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(
            last_status=Job.Status.ENQUEUED, last_run_at=timezone.now()
        )
        _job_run_task().enqueue(name, scheduled=False)
    log.info("job.enqueued", job=name, by=actor_label, trigger="manual")
    job.refresh_from_db()
    return job


def next_run_after(previous: datetime, every_seconds: int, now: datetime) -> datetime:
    """The first slot on the job's grid after `now`: runs stay on their grid (no drift), and
    slots missed while the scheduler was down are skipped rather than run back to back."""
    step = timedelta(seconds=max(every_seconds, 1))
    following = previous + step
    if following > now:
        return following
    missed = (now - previous) // step
    return previous + step * (missed + 1)


def _in_flight(job: Job, now: datetime) -> bool:
    if job.last_status not in (Job.Status.ENQUEUED, Job.Status.RUNNING) or not job.last_run_at:
        return False
    grace = max(IN_FLIGHT_GRACE, timedelta(seconds=job.every_seconds))
    return job.last_run_at > now - grace


def job_claim_run(job: Job, *, now: datetime) -> bool:
    """Claim the run of `job` that is due at `now` and enqueue it; True if this call did.

    `job` is the row as the caller read it. The claim is a conditional update on the
    `next_run_at` that was read, so of two schedulers holding the same stale read (a leader
    that lost its lease mid-tick and its successor, say) only one matches the row: a run is
    never enqueued twice. The claim and the enqueue share a transaction, so a crash between
    them loses neither."""
    in_flight = _in_flight(job, now)
    updates = {"next_run_at": next_run_after(job.next_run_at, job.every_seconds, now)}
    if not in_flight:
        updates.update(last_run_at=now, last_status=Job.Status.ENQUEUED)
    with transaction.atomic():
        claimed = Job.objects.filter(pk=job.pk, paused=False, next_run_at=job.next_run_at).update(
            **updates
        )
        if claimed != 1:
            return False
        if in_flight:
            log.warning("job.skipped_in_flight", job=job.name, since=job.last_run_at)
            return False
        _job_run_task().enqueue(job.name, scheduled=True)
    log.info("job.enqueued", job=job.name, trigger="schedule")
    return True


def jobs_due(*, now: datetime) -> list[Job]:
    return list(
        Job.objects.filter(paused=False, next_run_at__lte=now, name__in=list(JOBS)).order_by(
            "next_run_at", "name"
        )
    )


def jobs_enqueue_due(*, now: datetime | None = None) -> list[str]:
    """Enqueue every unpaused registered job whose `next_run_at` has passed; returns the names
    enqueued. A job whose previous run is still queued or running is not stacked up: its
    slot passes without a new run (see `IN_FLIGHT_GRACE`)."""
    now = now or timezone.now()
    enqueued = []
    for job in jobs_due(now=now):
        try:
            if job_claim_run(job, now=now):
                enqueued.append(job.name)
        except Exception:
            # One job that cannot be enqueued must not starve the others; its claim was
            # rolled back with the enqueue, so the next tick tries again.
            log.exception("job.enqueue_failed", job=job.name)
    return enqueued


@dataclass
class JobRun:
    job: Job
    ok: bool
    skipped: bool = False
    exception: Exception | None = None


def _traceback_tail(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc)).strip()
    return text[-ERROR_MAX_CHARS:]


def job_execute(*, name: str, scheduled: bool = False) -> JobRun:
    """Run one job in this process and record the outcome on its row.

    `scheduled=True` is the worker running a run the scheduler enqueued: it is skipped when
    the job was paused in the meantime, and its start time was stamped at enqueue. A failure
    of the job itself is recorded (status, traceback tail) and returned, never raised."""
    spec = job_spec(name)
    job = _job_row(spec)
    if scheduled and Job.objects.filter(pk=job.pk, paused=True).exists():
        Job.objects.filter(pk=job.pk).update(
            last_status=Job.Status.SKIPPED,
            last_result="Skipped: the job was paused after this run was queued.",
            last_finished_at=timezone.now(),
        )
        job.refresh_from_db()
        log.info("job.skipped_paused", job=name)
        return JobRun(job=job, ok=True, skipped=True)

    started = {"last_status": Job.Status.RUNNING}
    if not scheduled:
        started["last_run_at"] = timezone.now()
    Job.objects.filter(pk=job.pk).update(**started)
    log.info("job.started", job=name, scheduled=scheduled)
    try:
        value = spec.task.call()
        result = spec.describe_result(value)[:RESULT_MAX_CHARS]
    except Exception as exc:
        Job.objects.filter(pk=job.pk).update(
            last_status=Job.Status.ERROR,
            last_result="",
            last_error=_traceback_tail(exc),
            last_finished_at=timezone.now(),
            run_count=F("run_count") + 1,
        )
        log.warning("job.failed", job=name, error=repr(exc))
        job.refresh_from_db()
        return JobRun(job=job, ok=False, exception=exc)
    Job.objects.filter(pk=job.pk).update(
        last_status=Job.Status.OK,
        last_result=result,
        last_error="",
        last_finished_at=timezone.now(),
        run_count=F("run_count") + 1,
    )
    log.info("job.finished", job=name, result=result)
    job.refresh_from_db()
    return JobRun(job=job, ok=True)


# ---------------------------------------------------------------------------------------------
# The scheduler's leader lease


def lease_acquire(
    *, holder: str, ttl: timedelta, now: datetime | None = None, name: str = SCHEDULER_LEASE
) -> bool:
    """Take or renew the lease; True when `holder` is the leader until `now + ttl`.

    One conditional UPDATE decides it (the row is mine, or nobody's, or expired), so the
    database arbitrates between schedulers; clocks only need to agree to within the TTL."""
    now = now or timezone.now()
    expires_at = now + ttl
    taken = (
        SchedulerLease.objects.filter(name=name)
        .filter(Q(holder=holder) | Q(expires_at__isnull=True) | Q(expires_at__lte=now))
        .update(holder=holder, expires_at=expires_at)
    )
    if taken == 1:
        return True
    if SchedulerLease.objects.filter(name=name).exists():
        return False
    try:
        with transaction.atomic():
            SchedulerLease.objects.create(name=name, holder=holder, expires_at=expires_at)
    except IntegrityError:
        # Another scheduler inserted the row between our UPDATE and INSERT: it leads.
        return False
    return True


def lease_release(*, holder: str, name: str = SCHEDULER_LEASE) -> bool:
    """Give the lease up (on shutdown) so a standby scheduler takes over without waiting."""
    return bool(
        SchedulerLease.objects.filter(name=name, holder=holder).update(holder="", expires_at=None)
    )


def lease_tick_record(
    *, holder: str, now: datetime | None = None, name: str = SCHEDULER_LEASE
) -> bool:
    return bool(
        SchedulerLease.objects.filter(name=name, holder=holder).update(
            last_tick_at=now or timezone.now()
        )
    )


# ---------------------------------------------------------------------------------------------
# Maintenance mode


def maintenance_set(
    *, enabled: bool, actor=None, message: str = "", actor_label: str = ""
) -> MaintenanceState:
    """Switch maintenance mode. While it is on the portal answers 503 and senders send nothing
    (they consult `plixo.ops.selectors.maintenance_active`)."""
    message = message.strip()
    if len(message) > 300:
        raise ValueError("The maintenance message is limited to 300 characters.")
    label = actor_label or (str(actor) if actor is not None else "system")
    state, _ = MaintenanceState.objects.update_or_create(
        pk=1,
        defaults={
            "enabled": enabled,
            "message": message if enabled else "",
            "changed_at": timezone.now(),
            "changed_by": actor,
            "changed_by_label": label[:200],
        },
    )
    log.warning("maintenance.on" if enabled else "maintenance.off", by=label, message=message)
    return state


# ---------------------------------------------------------------------------------------------
# Housekeeping


def task_results_prune(*, older_than: timedelta = TASK_RESULTS_KEEP, now=None) -> int:
    """Delete finished (successful or failed) task results older than `older_than`; queued and
    running tasks are never touched."""
    cutoff = (now or timezone.now()) - older_than
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lte=cutoff).delete()
    return deleted
