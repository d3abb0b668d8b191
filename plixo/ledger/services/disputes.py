"""The disputed state of an invoice (the dispute records live in plixo.disputes)."""

from django.db import transaction

from plixo.core.models import User
from plixo.ledger.models import (
    Invoice,
    InvoiceStatus,
    LedgerError,
    TimelineEvent,
)
from plixo.ledger.services.balances import Share, customer_balance_move
from plixo.ledger.services.cadence import cadence_notify
from plixo.ledger.services.invoices import _status_after_money_move
from plixo.ledger.services.timeline import timeline_record


@transaction.atomic
def invoice_dispute_open(
    *, invoice: Invoice, actor: User | None, actor_label: str | None = None
) -> Invoice:
    """Move an open invoice to disputed (it leaves the cadence while disputed). An invoice
    already disputed stays as it is: a second dispute changes no status."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.DISPUTED:
        return invoice
    invoice.check_transition(InvoiceStatus.DISPUTED)
    before, share = invoice.status, Share.of(invoice)
    invoice.status = InvoiceStatus.DISPUTED
    invoice.save(update_fields=["status", "updated_at"])
    customer_balance_move(invoice=invoice, before=share)
    timeline_record(
        invoice=invoice,
        kind=TimelineEvent.Kind.STATUS_CHANGED,
        actor=actor,
        actor_label=actor_label,
        data={"from": before, "to": invoice.status, "reason": "Dispute filed"},
    )
    cadence_notify(invoice=invoice, change="dispute_opened", actor=actor)
    return invoice


@transaction.atomic
def invoice_dispute_close(
    *, invoice: Invoice, actor: User | None, actor_label: str | None = None
) -> Invoice:
    """Take a disputed invoice back to the status its balance implies (open, partly paid or
    paid), once its last dispute is settled."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.DISPUTED:
        raise LedgerError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}, not disputed."
        )
    before, share = invoice.status, Share.of(invoice)
    invoice.status = InvoiceStatus.OPEN
    wanted = _status_after_money_move(invoice)
    invoice.status = before
    invoice.check_transition(wanted)
    invoice.status = wanted
    invoice.save(update_fields=["status", "updated_at"])
    customer_balance_move(invoice=invoice, before=share)
    timeline_record(
        invoice=invoice,
        kind=TimelineEvent.Kind.STATUS_CHANGED,
        actor=actor,
        actor_label=actor_label,
        data={"from": before, "to": invoice.status, "reason": "Dispute closed"},
    )
    cadence_notify(invoice=invoice, change="dispute_closed", actor=actor)
    return invoice
