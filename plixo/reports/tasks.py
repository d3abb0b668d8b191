"""Reporting's periodic job (registered in `plixo.ops.jobs`)."""

from django_tasks import task

from plixo.reports.services import receivables_snapshots_refresh_all


@task()
def receivables_snapshots_refresh_task() -> int:
    return receivables_snapshots_refresh_all()
