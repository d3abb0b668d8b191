"""Background work for the ledger; the periodic ones are registered in `plixo.ops.jobs`."""

from django_tasks import task

from plixo.ledger.services import contacts_reactivate_due


@task()
def contacts_reactivate() -> int:
    """Lift suppressions that have run out; returns how many contacts were reactivated."""
    return contacts_reactivate_due()
