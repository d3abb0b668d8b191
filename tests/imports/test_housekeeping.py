"""The imports job: a batch whose process went away fails with how many rows stay loaded, and
a preview nobody confirmed expires (its file deleted) instead of waiting forever."""

import datetime as dt

from django.core.files.base import ContentFile
from django.utils import timezone

from plixo.imports.heartbeat import DEAD_AFTER
from plixo.imports.models import ImportBatch, ImportStatus
from plixo.imports.services import PREVIEW_EXPIRES, imports_fail_stalled


def _batch(org, **fields) -> ImportBatch:
    batch = ImportBatch(organization=org, kind="invoices", original_name="inv.csv", **fields)
    batch.file.save("upload.csv", ContentFile(b"invoice_number\n"), save=False)
    batch.save()
    return batch


def test_a_stalled_import_fails_and_says_how_many_rows_stay_loaded(org):
    now = timezone.now()
    long_ago = now - DEAD_AFTER - dt.timedelta(minutes=1)
    stalled = _batch(
        org, started_at=long_ago, heartbeat_at=long_ago, rows_done=25_000, rows_loaded=25_000
    )
    running = _batch(org, started_at=long_ago, heartbeat_at=now, rows_done=5)

    assert imports_fail_stalled(now=now) == 1

    stalled.refresh_from_db()
    running.refresh_from_db()
    assert stalled.status == ImportStatus.FAILED
    assert "25,000 of them were loaded and stay loaded" in stalled.error
    assert running.status == ImportStatus.VALIDATING


def test_an_unconfirmed_preview_expires_after_a_day(org):
    now = timezone.now()
    old = _batch(org)
    ImportBatch.objects.filter(pk=old.pk).update(created_at=now - PREVIEW_EXPIRES - dt.timedelta(1))
    fresh = _batch(org)
    storage, name = old.file.storage, old.file.name

    assert imports_fail_stalled(now=now) == 1

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == ImportStatus.FAILED and "preview expired" in old.error
    assert not storage.exists(name)
    assert fresh.status == ImportStatus.VALIDATING and fresh.awaits_confirmation
