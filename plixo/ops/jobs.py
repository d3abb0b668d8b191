"""The job registry: every periodic job Plixo runs is declared here, in code.

A job names the task that does the work (a django-tasks `Task`, by dotted path so that this
module never imports the apps that own the work), how often it runs by default and a format for
its result. `plixo.ops.services.jobs_sync` copies the registry into the `Job` table, where the
schedule and the paused flag live; the scheduler enqueues `plixo.ops.tasks.job_run` for each
due job, and that wrapper records the outcome on the row.

To add a job: write a task (a module-level `@task()` function taking no arguments) and add a
`JobSpec` to `JOBS` below.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils.module_loading import import_string
from django_tasks.base import Task


@dataclass(frozen=True)
class JobSpec:
    name: str
    description: str
    every: timedelta
    task_path: str
    # How a return value reads on the Ops page and in `plixo jobs list`, e.g. "{} contacts".
    result_format: str = "{}"

    @property
    def task(self) -> Task:
        task = import_string(self.task_path)
        if not isinstance(task, Task):
            raise TypeError(f"Job {self.name!r}: {self.task_path} is not a task.")
        return task

    def describe_result(self, value) -> str:
        if value is None:
            return "done"
        return self.result_format.format(value)


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            name="comms.suppressions_reactivate",
            description="End contact suppressions whose reactivation date has passed.",
            every=timedelta(minutes=15),
            task_path="plixo.comms.tasks.suppressions_reactivate",
            result_format="{} contacts reactivated",
        ),
        JobSpec(
            name="core.temporary_roles_revert",
            description="Give members whose temporary role has expired their lasting role back.",
            every=timedelta(minutes=5),
            task_path="plixo.core.tasks.temporary_roles_revert_task",
            result_format="{} temporary roles ended",
        ),
        JobSpec(
            name="comms.cadence_tick",
            description="Enrol new invoices in their cadence and draft the steps that fell due.",
            every=timedelta(minutes=5),
            task_path="plixo.comms.tasks.cadence_tick",
        ),
        JobSpec(
            name="comms.outbox_send",
            description="Send queued email within quiet hours and caps; recover dead claims.",
            every=timedelta(minutes=1),
            task_path="plixo.comms.tasks.outbox_send",
        ),
        JobSpec(
            name="commitments.promises_check",
            description="Mark open promises whose date passed unpaid as missed, and put their "
            "invoices back in their cadence with a follow-up.",
            every=timedelta(minutes=30),
            task_path="plixo.commitments.tasks.promises_check_task",
            result_format="{} promises marked missed",
        ),
        JobSpec(
            name="commitments.plans_check",
            description="Mark plan installments whose date passed unpaid as missed, default "
            "plans that fell too far behind, and follow up with the payer.",
            every=timedelta(minutes=30),
            task_path="plixo.commitments.tasks.plans_check_task",
            result_format="{} installments marked missed",
        ),
        JobSpec(
            name="workspace.queue_refresh",
            description="Rank open invoices in their collectors' queues (new and changed ones).",
            every=timedelta(minutes=15),
            task_path="plixo.workspace.tasks.queue_refresh_task",
            result_format="{} queue ranks written",
        ),
        JobSpec(
            name="workspace.queue_snapshots",
            description="Take each member's daily queue snapshot for Today's Focus and the "
            "burn-down.",
            every=timedelta(minutes=15),
            task_path="plixo.workspace.tasks.queue_days_refresh_task",
            result_format="{} daily snapshots taken",
        ),
        JobSpec(
            name="workspace.escalations_propose",
            description="Propose escalating invoices whose payer left too many cadence steps "
            "unanswered.",
            every=timedelta(hours=1),
            task_path="plixo.workspace.tasks.escalations_propose_task",
            result_format="{} escalations proposed",
        ),
        JobSpec(
            name="tasks.prune",
            description="Delete finished background-task results older than 14 days.",
            every=timedelta(days=1),
            task_path="plixo.ops.tasks.task_results_prune",
            result_format="{} task results deleted",
        ),
        JobSpec(
            name="payments.receipts_send_pending",
            description="Email receipts still pending (held during maintenance or a failed send).",
            every=timedelta(minutes=10),
            task_path="plixo.payments.tasks.receipts_send_pending",
            result_format="{} receipts emailed",
        ),
        JobSpec(
            name="payments.stripe_events_retry",
            description="Apply Stripe events that failed or waited for their payment, again.",
            every=timedelta(minutes=5),
            task_path="plixo.payments.tasks.stripe_events_retry",
            result_format="{} Stripe events tried again",
        ),
        JobSpec(
            name="payments.stripe_deliveries_prune",
            description="Delete raw Stripe webhook deliveries older than 30 days (events stay).",
            every=timedelta(days=1),
            task_path="plixo.payments.tasks.stripe_deliveries_prune",
            result_format="{} raw deliveries deleted",
        ),
        JobSpec(
            name="ops.planner_statistics",
            description="Refresh the database's statistics, so large lists keep using their "
            "indexes.",
            every=timedelta(days=1),
            task_path="plixo.ops.tasks.planner_statistics",
            result_format="{} analysed",
        ),
        JobSpec(
            name="disputes.orphan_files_delete",
            description=(
                "Delete dispute evidence files no dispute refers to (written by a transaction "
                "that never committed), an hour or more after they were written."
            ),
            every=timedelta(hours=1),
            task_path="plixo.disputes.tasks.attachment_orphans_delete_task",
            result_format="{} orphaned evidence files deleted",
        ),
        JobSpec(
            name="imports.fail_stalled",
            description=(
                "Mark imports whose worker went away (heartbeat silent for 2 minutes) as failed, "
                "so they can be re-run, and expire previews nobody confirmed within a day."
            ),
            # Often enough that a dead import is failed within about 3 minutes of its last sign
            # of life; a run is a query on the few batches still validating.
            every=timedelta(minutes=1),
            task_path="plixo.imports.tasks.imports_fail_stalled_task",
            result_format="{} stalled imports marked failed",
        ),
        JobSpec(
            name="reports.receivables_snapshots",
            description=(
                "Compute each organization's daily A/R snapshot for DSO, CEI and the dashboard "
                "(the last 35 days, further back when older days changed; in full weekly)."
            ),
            every=timedelta(hours=1),
            task_path="plixo.reports.tasks.receivables_snapshots_refresh_task",
            result_format="{} daily A/R rows written",
        ),
    )
}


class UnknownJob(LookupError):
    def __init__(self, name: str):
        self.name = name
        known = ", ".join(sorted(JOBS)) or "none"
        super().__init__(f"Unknown job {name!r}. Known jobs: {known}.")


def job_spec(name: str) -> JobSpec:
    try:
        return JOBS[name]
    except KeyError:
        raise UnknownJob(name) from None


def interval_label(seconds: int) -> str:
    """`900` -> "15 min", `86400` -> "1 day": how an interval reads to a person."""
    for unit_seconds, singular, plural in (
        (86400, "day", "days"),
        (3600, "h", "h"),
        (60, "min", "min"),
    ):
        if seconds >= unit_seconds and seconds % unit_seconds == 0:
            count = seconds // unit_seconds
            return f"{count} {singular if count == 1 else plural}"
    return f"{seconds} s"
