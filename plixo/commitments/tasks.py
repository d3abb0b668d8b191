"""The commitments' periodic jobs (registered in `plixo.ops.jobs`)."""

from django_tasks import task

from plixo.commitments.services import plans_check, promises_check


@task()
def promises_check_task() -> int:
    return promises_check()


@task()
def plans_check_task() -> int:
    return plans_check()
