"""Core's periodic job (registered in `plixo.ops.jobs`)."""

from django_tasks import task

from plixo.core.services import temporary_roles_revert


@task()
def temporary_roles_revert_task() -> int:
    return temporary_roles_revert()
