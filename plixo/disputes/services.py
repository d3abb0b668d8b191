"""Every write of disputes. Filing one moves the invoice to disputed, stores the evidence
privately, and writes the timeline, all in one transaction."""

import contextlib
from collections.abc import Iterable

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from plixo.core.models import User
from plixo.core.money import MoneyError, parse_amount
from plixo.disputes.attachments import (
    MAX_ATTACHMENTS,
    AttachmentRejected,
    CheckedAttachment,
    attachment_check,
)
from plixo.disputes.models import Dispute, DisputeAttachment, DisputeSource, ReasonCode
from plixo.ledger.models import Contact, Invoice, LedgerError
from plixo.ledger.services import invoice_dispute_open, timeline_record

__all__ = [
    "DISPUTE_FILED",
    "AttachmentRejected",
    "attachment_validate",
    "dispute_file",
]

DISPUTE_FILED = "dispute_filed"
DESCRIPTION_MAX_LENGTH = 5000


def attachment_validate(upload) -> tuple[str, str]:
    """(safe name, sniffed content type) of an upload, or `AttachmentRejected`. Forms call it to
    show the error beside the field before anything is written."""
    checked = attachment_check(upload)
    checked.data.close()
    if hasattr(upload, "seek"):
        upload.seek(0)
    return checked.name, checked.content_type


def _label(actor: User | None, actor_label: str | None) -> str:
    if actor_label:
        return actor_label
    return str(actor) if actor is not None else "system"


def _check_all(attachments: Iterable) -> list[CheckedAttachment]:
    uploads = [upload for upload in attachments if upload is not None]
    if len(uploads) > MAX_ATTACHMENTS:
        raise LedgerError(
            f"At most {MAX_ATTACHMENTS} attachments per dispute ({len(uploads)} were sent)."
        )
    checked: list[CheckedAttachment] = []
    try:
        for upload in uploads:
            checked.append(attachment_check(upload))
    except AttachmentRejected:
        for item in checked:
            item.data.close()
        raise
    return checked


@transaction.atomic
def dispute_file(
    *,
    invoice: Invoice,
    reason_code: str,
    amount,
    description: str,
    attachments: Iterable = (),
    contact: Contact | None = None,
    source: str = DisputeSource.STAFF,
    actor: User | None = None,
    actor_label: str | None = None,
) -> Dispute:
    """File a dispute over `amount` (at most the balance) of an open invoice, with up to five
    pieces of evidence. The invoice becomes disputed."""
    if source not in DisputeSource.values:
        raise LedgerError(f"Unknown source {source!r}.")
    if reason_code not in ReasonCode.values:
        raise LedgerError("Choose a reason for the dispute.")
    description = (description or "").strip()
    if not description:
        raise LedgerError("Describe what is wrong with the invoice.")
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise LedgerError(
            f"The description is too long (at most {DESCRIPTION_MAX_LENGTH} characters)."
        )
    if contact is not None and contact.customer_id != invoice.customer_id:
        raise LedgerError("That contact does not belong to this invoice's customer.")
    checked = _check_all(attachments)

    stored: list[str] = []
    try:
        locked = Invoice.objects.select_for_update(of=("self",)).select_related("organization")
        invoice = locked.get(pk=invoice.pk)
        if not invoice.is_open:
            raise LedgerError(
                f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; "
                "it can no longer be disputed."
            )
        try:
            amount = parse_amount(amount, invoice.currency)
        except MoneyError as exc:
            raise LedgerError(f"The disputed amount: {exc}") from exc
        if amount <= 0:
            raise LedgerError("The disputed amount must be more than zero.")
        if amount > invoice.balance:
            raise LedgerError(
                f"The disputed amount ({amount}) is more than the balance ({invoice.balance})."
            )
        label = _label(actor, actor_label)
        dispute = Dispute.objects.create(
            organization_id=invoice.organization_id,
            invoice=invoice,
            contact=contact,
            reason_code=reason_code,
            amount=amount,
            currency=invoice.currency,
            description=description,
            source=source,
            created_by=actor,
            actor_label=label,
        )
        files = []
        for item in checked:
            attachment = DisputeAttachment(
                organization_id=invoice.organization_id,
                dispute=dispute,
                original_name=item.name,
                content_type=item.content_type,
                size=item.size,
                sha256=item.sha256,
            )
            attachment.organization = invoice.organization
            # The stored name is random (see `attachment_path`); only its extension is ours.
            attachment.file.save(f"evidence{item.kind.extensions[0]}", File(item.data), save=False)
            stored.append(attachment.file.name)
            attachment.save()
            files.append({"id": str(attachment.public_id), "name": item.name})
        invoice_dispute_open(invoice=invoice, actor=actor, actor_label=label)
        timeline_record(
            invoice=invoice,
            kind=DISPUTE_FILED,
            actor=actor,
            actor_label=label,
            data={
                "dispute": str(dispute.public_id),
                "reason_code": reason_code,
                "reason": ReasonCode(reason_code).label,
                "amount": str(amount),
                "currency": invoice.currency,
                "description": description,
                "attachments": files,
                "source": source,
                "contact": str(contact) if contact is not None else "",
            },
        )
    except BaseException:
        # The rows roll back with the transaction; the files written so far must go too.
        _delete_files(stored)
        raise
    finally:
        for item in checked:
            item.data.close()
    return dispute


def _delete_files(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):
            default_storage.delete(name)
