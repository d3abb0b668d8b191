"""Background work for imports: the load itself runs in the worker, not in the web request."""

from django_tasks import task

from plixo.imports.models import ImportBatch, ImportStatus
from plixo.imports.services import import_batch_run, imports_fail_stalled


@task()
def import_batch_task(batch_id: str) -> str:
    """Run one confirmed import; returns its final status."""
    batch = ImportBatch.objects.select_related("organization", "created_by").get(public_id=batch_id)
    if batch.status != ImportStatus.VALIDATING:
        return batch.status  # delivered twice: the first run already finished it
    return import_batch_run(batch=batch).status


@task()
def imports_fail_stalled_task() -> int:
    """Mark imports whose worker died as failed; returns how many."""
    return imports_fail_stalled()
