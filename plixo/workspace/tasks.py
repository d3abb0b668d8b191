"""The workspace's periodic jobs (registered in `plixo.ops.jobs`)."""

from django_tasks import task

from plixo.workspace.services import escalations_propose_all, queue_days_refresh, queue_refresh_all


@task()
def queue_refresh_task() -> int:
    return queue_refresh_all()


@task()
def queue_days_refresh_task() -> int:
    return queue_days_refresh()


@task()
def escalations_propose_task() -> int:
    return escalations_propose_all()
