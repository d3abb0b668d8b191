"""dispute_file: the rules, the invoice moving to disputed, private storage, one transaction."""

import hashlib
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import Resolver404, resolve

from plixo.disputes import services
from plixo.disputes.models import Dispute, DisputeAttachment
from plixo.disputes.services import AttachmentRejected, dispute_file
from plixo.ledger.models import InvalidTransition, InvoiceStatus, LedgerError, TimelineEvent
from plixo.ledger.services import (
    AllocationRequest,
    invoice_dispute_close,
    invoice_dispute_open,
    payment_record,
)
from tests.disputes import files
from tests.disputes.files import upload
from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(org):
    return InvoiceFactory(
        customer=CustomerFactory(organization=org), amount=Decimal("800.00"), number="INV-D1"
    )


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "disputes"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def file_dispute(invoice, **overrides):
    args = {
        "invoice": invoice,
        "reason_code": "pricing",
        "amount": "120.00",
        "description": "Billed at list price, contract says 10% off.",
        **overrides,
    }
    return dispute_file(**args)


def test_filing_moves_the_invoice_to_disputed_and_writes_the_timeline(invoice, personas):
    before = set(stored_files())
    contact = ContactFactory(customer=invoice.customer, name="Dana Ap")
    dispute = file_dispute(
        invoice,
        contact=contact,
        attachments=[upload("contract.pdf", files.PDF), upload("../../lines.csv", files.CSV)],
        actor=personas.operator.user,
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DISPUTED
    assert dispute.status == Dispute.Status.OPEN
    assert dispute.amount == Decimal("120.00") and dispute.currency == "USD"
    kinds = list(invoice.timeline.order_by("id").values_list("kind", flat=True))
    # The dispute takes the invoice out of its cadence in the same transaction.
    assert kinds[-3:] == ["status_changed", "cadence_paused", "dispute_filed"]
    assert invoice.timeline.get(kind="cadence_paused").data == {"reason": "Invoice is disputed"}
    status_event = invoice.timeline.get(kind="status_changed")
    assert status_event.data == {"from": "open", "to": "disputed", "reason": "Dispute filed"}
    event = invoice.timeline.get(kind="dispute_filed")
    assert event.data["dispute"] == str(dispute.public_id)
    assert event.data["reason"] == "Pricing is wrong"
    names = [a["name"] for a in event.data["attachments"]]
    assert names == ["contract.pdf", "lines.csv"]

    attachments = list(dispute.attachments.order_by("id"))
    assert [a.content_type for a in attachments] == ["application/pdf", "text/csv"]
    assert attachments[0].sha256 == hashlib.sha256(files.PDF).hexdigest()
    assert attachments[0].size == len(files.PDF)
    new_files = set(stored_files()) - before
    assert len(new_files) == 2
    for attachment in attachments:
        path = Path(default_storage.path(attachment.file.name))
        # A random name under the organization's folder; the payer's name is not on disk.
        assert path.parent.name == str(invoice.organization.public_id)
        assert attachment.original_name.rsplit(".", 1)[0] not in path.name
        assert path.is_relative_to(Path(settings.MEDIA_ROOT))
    assert new_files == {Path(default_storage.path(a.file.name)) for a in attachments}


def test_private_storage_is_not_public(invoice):
    dispute = file_dispute(invoice, attachments=[upload("contract.pdf", files.PDF)])
    stored = dispute.attachments.get().file.name
    media, static = Path(settings.MEDIA_ROOT).resolve(), settings.STATIC_ROOT
    assert static is None or not media.is_relative_to(Path(static).resolve())
    for candidate in (f"/{stored}", f"/media/{stored}", f"/private/{stored}"):
        with pytest.raises(Resolver404):
            resolve(candidate)


def test_a_second_dispute_keeps_the_invoice_disputed_without_another_status_event(invoice):
    file_dispute(invoice)
    file_dispute(invoice, reason_code="quantity", amount="10")
    assert invoice.timeline.filter(kind="status_changed").count() == 1
    assert invoice.timeline.filter(kind="dispute_filed").count() == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reason_code": "vibes"}, "reason"),
        ({"reason_code": ""}, "reason"),
        ({"description": "   "}, "Describe"),
        ({"description": "x" * 5001}, "too long"),
        ({"amount": "0"}, "more than zero"),
        ({"amount": "800.01"}, "more than the balance"),
        ({"amount": "1.001"}, "decimal places"),
        ({"source": "pigeon"}, "source"),
    ],
)
def test_rules_refuse_bad_input_and_write_nothing(invoice, overrides, message):
    with pytest.raises(LedgerError, match=message):
        file_dispute(invoice, attachments=[upload("contract.pdf", files.PDF)], **overrides)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert not Dispute.objects.exists() and not stored_files()


def test_the_whole_balance_may_be_disputed(invoice):
    assert file_dispute(invoice, amount="800.00").amount == Decimal("800.00")


def test_at_most_five_attachments(invoice):
    five = [upload(f"p{i}.pdf", files.PDF) for i in range(5)]
    assert file_dispute(invoice, attachments=five).attachments.count() == 5
    six = [upload(f"p{i}.pdf", files.PDF) for i in range(6)]
    with pytest.raises(LedgerError, match="At most 5 attachments"):
        file_dispute(invoice, attachments=six)
    assert Dispute.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("invoice.pdf", files.SCRIPT, "not a genuine PDF"),
        ("../../etc/cron.d/job.svg", files.SVG, "not a genuine SVG"),
        ("page.html", files.HTML, "not a genuine HTML"),
        ("big.pdf", files.PDF + b"0" * (10 * 1024 * 1024), "larger than 10 MB"),
    ],
)
def test_one_bad_attachment_refuses_the_whole_dispute(invoice, name, data, reason):
    attachments = [upload("fine.pdf", files.PDF), upload(name, data)]
    with pytest.raises(AttachmentRejected, match=reason):
        file_dispute(invoice, attachments=attachments)
    assert not Dispute.objects.exists() and not DisputeAttachment.objects.exists()
    assert not stored_files()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN


def test_plain_file_objects_are_sanitised_too(invoice):
    raw = io.BytesIO(files.PDF)
    raw.name = "..\\..\\..\\boot.ini\\..\\proof.pdf"
    dispute = file_dispute(invoice, attachments=[raw])
    assert dispute.attachments.get().original_name == "proof.pdf"


@pytest.mark.raw_invoice_writes
def test_closed_invoices_cannot_be_disputed(invoice):
    invoice.status, invoice.balance = InvoiceStatus.PAID, Decimal("0")
    invoice.save()
    with pytest.raises(LedgerError, match="paid"):
        file_dispute(invoice, amount="1")


def test_contact_must_belong_to_the_customer(invoice, org):
    stranger = ContactFactory(customer=CustomerFactory(organization=org))
    with pytest.raises(LedgerError, match="contact"):
        file_dispute(invoice, contact=stranger)


def test_everything_shares_one_transaction_and_files_are_removed(invoice, monkeypatch):
    """A failure after the last timeline event leaves no dispute, no attachment row, no event,
    no status change and no file on disk."""
    real = services.timeline_record

    def record_then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("crash after the event")

    monkeypatch.setattr(services, "timeline_record", record_then_fail)
    with pytest.raises(RuntimeError):
        file_dispute(invoice, attachments=[upload("contract.pdf", files.PDF)])
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert not Dispute.objects.exists() and not DisputeAttachment.objects.exists()
    assert not TimelineEvent.objects.filter(kind__in=["dispute_filed", "status_changed"]).exists()
    assert not stored_files()


# --- the ledger side ------------------------------------------------------------------------


def test_invoice_dispute_open_and_close(invoice, personas):
    actor = personas.controller.user
    invoice_dispute_open(invoice=invoice, actor=actor)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DISPUTED
    closed = invoice_dispute_close(invoice=invoice, actor=actor, actor_label="Resolved by Legal")
    assert closed.status == InvoiceStatus.OPEN
    event = invoice.timeline.filter(kind="status_changed").order_by("-id").first()
    assert event.data["from"] == "disputed" and event.data["to"] == "open"
    assert event.actor_label == "Resolved by Legal"
    with pytest.raises(LedgerError, match="not disputed"):
        invoice_dispute_close(invoice=invoice, actor=actor)


def test_closing_a_dispute_returns_to_the_status_the_balance_implies(invoice, org):
    payment_record(
        organization=org,
        reference="PAY-1",
        amount="300.00",
        currency="USD",
        allocations=[AllocationRequest(invoice=invoice, amount=Decimal("300.00"))],
    )
    file_dispute(invoice, amount="100")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DISPUTED
    assert invoice_dispute_close(invoice=invoice, actor=None).status == (
        InvoiceStatus.PARTIALLY_PAID
    )


@pytest.mark.raw_invoice_writes
def test_void_invoices_cannot_be_disputed(invoice):
    invoice.status, invoice.balance = InvoiceStatus.VOID, Decimal("0")
    invoice.save()
    with pytest.raises(InvalidTransition):
        invoice_dispute_open(invoice=invoice, actor=None)
