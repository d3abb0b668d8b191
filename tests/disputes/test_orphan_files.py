"""Evidence written inside a transaction that does not commit is deleted: at once when the
transaction (or the savepoint around the dispute) rolls back, and by the sweep job for files a
dead process left behind."""

import datetime as dt
import os
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from plixo.disputes import services
from plixo.disputes.models import DisputeAttachment
from plixo.disputes.services import attachment_orphans_delete, dispute_file
from plixo.ops.jobs import JOBS
from tests.disputes import files
from tests.disputes.files import upload
from tests.disputes.test_dispute_file import stored_files
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


class CallerFailed(Exception):
    """Something the caller did after filing the dispute, in the same transaction, failed."""


@pytest.fixture
def invoice(org):
    return InvoiceFactory(
        customer=CustomerFactory(organization=org), amount=Decimal("800.00"), number="INV-O1"
    )


def file_with_evidence(invoice):
    return dispute_file(
        invoice=invoice,
        reason_code="pricing",
        amount="100.00",
        description="Wrong price.",
        attachments=[upload("contract.pdf", files.PDF), upload("lines.csv", files.CSV)],
    )


def test_files_of_a_dispute_whose_callers_transaction_rolls_back_are_deleted(invoice):
    # Given a caller that files a dispute inside its own transaction
    with pytest.raises(CallerFailed), transaction.atomic():
        dispute = file_with_evidence(invoice)
        names = [a.file.name for a in dispute.attachments.all()]
        assert len(names) == 2 and all(default_storage.exists(n) for n in names)
        # When something after it fails and the transaction rolls back
        raise CallerFailed

    # Then no row refers to the evidence, and no file is left in storage
    assert not DisputeAttachment.objects.exists()
    assert stored_files() == []


def test_files_of_a_committed_dispute_stay(invoice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dispute = file_with_evidence(invoice)

    names = [a.file.name for a in dispute.attachments.all()]
    assert len(names) == 2 and all(default_storage.exists(n) for n in names)


@pytest.mark.django_db(transaction=True)
def test_a_real_commit_keeps_the_files_and_a_real_rollback_deletes_them(invoice):
    kept = file_with_evidence(invoice)
    with pytest.raises(CallerFailed), transaction.atomic():
        file_with_evidence(invoice)
        raise CallerFailed

    assert sorted(str(p).split("private/", 1)[1] for p in stored_files()) == sorted(
        a.file.name for a in kept.attachments.all()
    )


def test_the_sweep_deletes_old_files_no_row_refers_to(invoice, org):
    # Given evidence of a filed dispute, and two files no row names: one a dead process left an
    # hour and more ago, one a transaction may still be about to commit
    now = timezone.now()
    dispute = file_with_evidence(invoice)
    folder = f"disputes/{org.public_id}"
    old = default_storage.save(f"{folder}/left-behind.pdf", ContentFile(files.PDF))
    fresh = default_storage.save(f"{folder}/in-flight.pdf", ContentFile(files.PDF))
    long_ago = (now - services.ORPHAN_GRACE - dt.timedelta(minutes=5)).timestamp()
    for name in [old, *(a.file.name for a in dispute.attachments.all())]:
        os.utime(default_storage.path(name), (long_ago, long_ago))

    # When the sweep runs
    assert attachment_orphans_delete(now=now) == 1

    # Then only the old unreferenced file is gone
    assert not default_storage.exists(old)
    assert default_storage.exists(fresh)
    assert all(default_storage.exists(a.file.name) for a in dispute.attachments.all())


def test_the_sweep_is_a_scheduled_job():
    spec = JOBS["disputes.orphan_files_delete"]
    assert spec.every <= dt.timedelta(days=1)
    assert spec.task.call() == 0
