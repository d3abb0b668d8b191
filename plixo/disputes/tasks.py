"""Background work of disputes: sweeping evidence files no dispute kept."""

from django_tasks import task

from plixo.disputes.services import attachment_orphans_delete


@task()
def attachment_orphans_delete_task() -> int:
    """Delete evidence files left by transactions that never committed; returns how many."""
    return attachment_orphans_delete()
