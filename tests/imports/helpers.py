"""Import batches for tests outside this package (the generated access tests)."""

from django.core.files.base import ContentFile

from plixo.imports.models import ImportBatch
from plixo.imports.services import import_batch_create, import_batch_run

SMALL_FILE_WITH_A_BAD_ROW = (
    "customer_external_id,customer_name,currency\n"
    "IMP-1,Imported Customer Ltd,USD\n"
    "IMP-2,Bad Currency Inc,XXQ\n"
)


def import_batch_with_rejects(organization, *, actor=None) -> ImportBatch:
    """A finished customers import with one accepted row and one rejected (so it has a reject
    log)."""
    batch = import_batch_create(
        organization=organization,
        kind="customers",
        upload=ContentFile(SMALL_FILE_WITH_A_BAD_ROW.encode(), name="customers.csv"),
        actor=actor,
    )
    return import_batch_run(batch=batch)
