"""Every write of disputes. Filing one moves the invoice to disputed, stores the evidence
privately, and writes the timeline, all in one transaction.

Evidence files are written to storage inside that transaction, which the database cannot roll
back: a file written by a transaction that does not commit (the dispute's own, or a caller's
around it) is deleted as the transaction rolls back (`_delete_unless_committed`), and
`attachment_orphans_delete` sweeps what a process that died mid-transaction left behind.
"""

import contextlib
import datetime as dt
import posixpath
import weakref
from collections.abc import Iterable

import structlog
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from plixo.core.models import User
from plixo.core.money import MoneyError, parse_amount
from plixo.disputes.attachments import (
    MAX_ATTACHMENTS,
    AttachmentRejected,
    CheckedAttachment,
    attachment_check,
)
from plixo.disputes.models import Dispute, DisputeAttachment, DisputeSource, ReasonCode
from plixo.disputes.workflow import (
    CREDIT,
    OUTCOMES,
    REJECT,
    WRITE_OFF,
    DisputeForbidden,
    ResolveResult,
    dispute_assign,
    dispute_mark_under_review,
    dispute_opened,
    dispute_resolve,
    dispute_route,
)
from plixo.ledger.models import Contact, Invoice, LedgerError
from plixo.ledger.services import invoice_dispute_open, timeline_record

__all__ = [
    "CREDIT",
    "DISPUTE_FILED",
    "OUTCOMES",
    "REJECT",
    "WRITE_OFF",
    "AttachmentRejected",
    "DisputeForbidden",
    "ResolveResult",
    "attachment_orphans_delete",
    "attachment_validate",
    "dispute_assign",
    "dispute_file",
    "dispute_mark_under_review",
    "dispute_resolve",
    "dispute_route",
]

log = structlog.get_logger("plixo.disputes")

DISPUTE_FILED = "dispute_filed"
DESCRIPTION_MAX_LENGTH = 5000
# Where evidence is stored (see `models.attachment_path`), and how old a file no attachment row
# names must be before the sweep deletes it: far longer than any transaction that files a
# dispute, so a file whose row is about to commit is never taken.
ATTACHMENTS_ROOT = "disputes"
ORPHAN_GRACE = dt.timedelta(hours=1)


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
    pieces of evidence. The invoice becomes disputed; the dispute gets its SLA deadline in the
    organization's business hours and is routed by the first matching routing rule."""
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
            _delete_unless_committed(attachment.file.name)
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
        dispute.invoice = invoice
        dispute_opened(dispute=dispute, actor=actor, actor_label=label)
    finally:
        for item in checked:
            item.data.close()
    return dispute


def _delete_unless_committed(name: str) -> None:
    """Delete the stored file `name` unless the current transaction commits.

    Django runs `on_commit` hooks when the transaction commits and drops them, unrun, when it
    (or the savepoint they were registered under) rolls back; it has no `on_rollback`. So the
    hook registered here is a function whose one owner is Django's list of hooks, with a
    finalizer: dropped without having run, it deletes the file. CPython frees it the moment the
    list lets go of it, so the file goes as the rollback happens. Outside a transaction the
    hook runs at once and the file stays."""
    committed = []

    def keep() -> None:
        committed.append(True)

    weakref.finalize(keep, _delete_if_not_committed, name, committed)
    transaction.on_commit(keep)


def _delete_if_not_committed(name: str, committed: list) -> None:
    if committed:
        return
    with contextlib.suppress(OSError):
        default_storage.delete(name)
    log.info("disputes.evidence_rolled_back", file=name)


def attachment_orphans_delete(*, now: dt.datetime | None = None) -> int:
    """Delete evidence files that no attachment row names and that are older than
    `ORPHAN_GRACE`: written by a transaction that never committed in a process that died
    before it could clean up. Returns how many were deleted."""
    cutoff = (now or timezone.now()) - ORPHAN_GRACE
    deleted = 0
    for folder in _listdir(ATTACHMENTS_ROOT)[0]:
        names = [
            posixpath.join(ATTACHMENTS_ROOT, folder, file)
            for file in _listdir(posixpath.join(ATTACHMENTS_ROOT, folder))[1]
        ]
        named = set()
        for start in range(0, len(names), 500):  # bounded IN lists (SQLite's variable limit)
            batch = names[start : start + 500]
            named.update(
                DisputeAttachment.objects.filter(file__in=batch).values_list("file", flat=True)
            )
        for name in names:
            if name in named or default_storage.get_modified_time(name) >= cutoff:
                continue
            # Named since the listing (a dispute committed meanwhile)? Then it stays.
            if DisputeAttachment.objects.filter(file=name).exists():
                continue
            default_storage.delete(name)
            deleted += 1
            log.warning("disputes.orphan_file_deleted", file=name)
    return deleted


def _listdir(path: str) -> tuple[list[str], list[str]]:
    try:
        return default_storage.listdir(path)
    except FileNotFoundError:
        return [], []
