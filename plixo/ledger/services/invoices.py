"""Invoices: create, edit, void, write off. Statuses move only along INVOICE_TRANSITIONS."""

import datetime as dt
from decimal import Decimal

from django.db import transaction

from plixo.approvals.limits import ApprovalRequired, approval_authorizes, approval_check
from plixo.core.models import Organization, User
from plixo.core.money import MoneyError, format_money, is_currency, parse_amount
from plixo.ledger.models import (
    Customer,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    LedgerError,
    TimelineEvent,
)
from plixo.ledger.services.balances import Share, customer_balance_move
from plixo.ledger.services.cadence import cadence_notify
from plixo.ledger.services.timeline import _jsonable, _money, timeline_record
from plixo.ledger.validation import date_check, text_check

INVOICE_EDITABLE = ("issue_date", "due_date", "amount", "currency", "po_number", "description")


def _status_after_money_move(invoice: Invoice) -> str:
    """The status an invoice's balance implies, keeping dispute, void and write-off states."""
    if invoice.status in (InvoiceStatus.VOID, InvoiceStatus.WRITTEN_OFF):
        return invoice.status
    if invoice.balance == 0:
        return InvoiceStatus.PAID
    if invoice.status == InvoiceStatus.DISPUTED:
        return InvoiceStatus.DISPUTED
    # "Partially paid" only when money was received: a balance lowered by a credit or a
    # partial write-off alone leaves the invoice open.
    if invoice.balance < invoice.amount and invoice.allocations.exists():
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def _validate_invoice_values(*, currency, amount, issue_date, due_date) -> Decimal:
    if not is_currency(currency):
        raise LedgerError(f"{currency!r} is not an ISO 4217 currency code.")
    try:
        amount = parse_amount(amount, currency)
    except MoneyError as exc:
        raise LedgerError(str(exc)) from exc
    if amount <= 0:
        raise LedgerError("An invoice amount must be greater than zero.")
    if due_date < issue_date:
        raise LedgerError("The due date cannot be before the issue date.")
    return amount


@transaction.atomic
def invoice_create(
    *,
    organization: Organization,
    customer: Customer,
    number: str,
    issue_date: dt.date,
    due_date: dt.date,
    currency: str,
    amount,
    po_number: str = "",
    description: str = "",
    actor: User | None = None,
    actor_label: str | None = None,
    event_kind: str = TimelineEvent.Kind.CREATED,
) -> Invoice:
    if customer.organization_id != organization.pk:
        raise LedgerError("That customer belongs to another organization.")
    number = text_check(number, "The invoice number", single_line=True).strip()
    if not number:
        raise LedgerError("An invoice needs a number.")
    text_check(po_number, "The PO number", single_line=True)
    text_check(description, "The description")
    currency = currency.strip().upper()
    date_check(issue_date, "The issue date")
    date_check(due_date, "The due date")
    amount = _validate_invoice_values(
        currency=currency, amount=amount, issue_date=issue_date, due_date=due_date
    )
    if Invoice.objects.filter(organization=organization, number=number).exists():
        raise LedgerError(f"Invoice {number} already exists.")
    invoice = Invoice.objects.create(
        organization=organization,
        customer=customer,
        number=number,
        issue_date=issue_date,
        due_date=due_date,
        currency=currency,
        amount=amount,
        balance=amount,
        po_number=po_number.strip(),
        description=description.strip(),
    )
    customer_balance_move(invoice=invoice, before=None)
    timeline_record(
        invoice=invoice,
        kind=event_kind,
        actor=actor,
        actor_label=actor_label,
        data={"amount": _money(amount, currency), "currency": currency, "due_date": str(due_date)},
    )
    return invoice


@transaction.atomic
def invoice_update(
    *, invoice: Invoice, actor: User | None = None, actor_label: str | None = None, **fields
) -> Invoice:
    unknown = set(fields) - set(INVOICE_EDITABLE)
    if unknown:
        raise LedgerError(f"These invoice fields cannot be changed: {', '.join(sorted(unknown))}.")
    for name, what in (("number", "The invoice number"), ("po_number", "The PO number")):
        if name in fields:
            text_check(fields[name], what, single_line=True)
    if "description" in fields:
        text_check(fields["description"], "The description")
    for name, what in (("issue_date", "The issue date"), ("due_date", "The due date")):
        if name in fields:
            date_check(fields[name], what)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if not invoice.is_open:
        raise LedgerError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; "
            "it can no longer be edited."
        )
    moved = invoice.amount - invoice.balance  # paid, credited or written off so far
    currency = fields.get("currency", invoice.currency).strip().upper()
    if currency != invoice.currency and moved:
        raise LedgerError("The currency of an invoice with payments or credits cannot change.")
    amount = _validate_invoice_values(
        currency=currency,
        amount=fields.get("amount", invoice.amount),
        issue_date=fields.get("issue_date", invoice.issue_date),
        due_date=fields.get("due_date", invoice.due_date),
    )
    if amount < moved:
        raise LedgerError(
            "The amount cannot be less than what has already been paid or credited "
            f"({_money(moved, invoice.currency)})."
        )
    if amount == moved and invoice.adjustments.exists():
        # Payments covering the corrected amount make it paid; credits or write-offs covering
        # it must not pass as a payment: that takes a write-off, with its own row.
        raise LedgerError(
            "The amount must stay above what has been paid and credited "
            f"({_money(moved, invoice.currency)}); write off the rest instead."
        )
    fields["currency"], fields["amount"] = currency, amount
    old_currency, old_balance, old_status = invoice.currency, invoice.balance, invoice.status
    changes = {}
    for name, value in fields.items():
        if isinstance(value, str) and name not in ("currency",):
            value = value.strip()
        old = getattr(invoice, name)
        if old != value:
            changes[name] = {
                "from": _jsonable(old, old_currency),
                "to": _jsonable(value, currency),
            }
            setattr(invoice, name, value)
    if not changes:
        return invoice
    invoice.balance = invoice.amount - moved
    wanted = _status_after_money_move(invoice)
    invoice.check_transition(wanted)
    invoice.status = wanted
    if invoice.balance != old_balance:
        changes["balance"] = {
            "from": _jsonable(old_balance, old_currency),
            "to": _jsonable(invoice.balance, currency),
        }
    if invoice.status != old_status:
        changes["status"] = {"from": old_status, "to": invoice.status}
    invoice.save()
    customer_balance_move(invoice=invoice, before=Share(old_currency, old_balance, old_status))
    timeline_record(
        invoice=invoice,
        kind=TimelineEvent.Kind.UPDATED,
        actor=actor,
        actor_label=actor_label,
        data={"changes": changes},
    )
    if {"due_date", "amount", "balance", "status"} & set(changes):
        # A new due date restarts the schedule (its unsent reminders say the wrong thing); a
        # closed invoice stops its cadence.
        if not invoice.is_open:
            change = "closed"
        else:
            change = "redated" if "due_date" in changes else "updated"
        cadence_notify(invoice=invoice, change=change, actor=actor)
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor: User | None, reason: str) -> Invoice:
    """Cancel an invoice issued in error. Only an invoice with no payments applied can be void."""
    if not reason.strip():
        raise LedgerError("Say why the invoice is void.")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.VOID:
        raise LedgerError(f"Invoice {invoice.number} is already void.")
    invoice.check_transition(InvoiceStatus.VOID)
    if invoice.allocations.exists():
        raise LedgerError(
            f"Invoice {invoice.number} has payments applied; refund or reallocate them first."
        )
    if invoice.balance:
        InvoiceAdjustment.objects.create(
            organization_id=invoice.organization_id,
            invoice=invoice,
            kind=InvoiceAdjustment.Kind.VOID,
            amount=invoice.balance,
            reason=reason.strip(),
            created_by=actor,
        )
    voided_balance = invoice.balance
    share = Share.of(invoice)
    invoice.balance = Decimal("0")
    before = invoice.status
    invoice.status = InvoiceStatus.VOID
    invoice.save(update_fields=["balance", "status", "updated_at"])
    customer_balance_move(invoice=invoice, before=share)
    timeline_record(
        invoice=invoice,
        kind=TimelineEvent.Kind.VOIDED,
        actor=actor,
        data={
            "reason": reason.strip(),
            "balance": _money(voided_balance, invoice.currency),
            "from": before,
        },
    )
    cadence_notify(invoice=invoice, change="closed", actor=actor)
    return invoice


@transaction.atomic
def invoice_write_off(
    *,
    invoice: Invoice,
    actor: User | None,
    reason: str,
    amount: Decimal | None = None,
    approval=None,
) -> Invoice:
    """Write off the whole balance (closing the invoice) or part of it.

    A write-off is a money decision: above the actor's approval limit (or in a currency the
    limit cannot be compared with) it raises `ApprovalRequired` and writes nothing; the caller
    offers an approval request instead. `approval` is the approved request that lets it go
    ahead (`plixo.approvals` passes it when the request is approved). `actor=None` is the
    system itself (imports, seeding), which no limit applies to."""
    if not reason.strip():
        raise LedgerError("A write-off needs a reason.")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if not invoice.is_open:
        invoice.check_transition(InvoiceStatus.WRITTEN_OFF)
        raise LedgerError(f"Invoice {invoice.number} is not open.")
    try:
        amount = invoice.balance if amount is None else parse_amount(amount, invoice.currency)
    except MoneyError as exc:
        raise LedgerError(str(exc)) from exc
    if amount <= 0 or amount > invoice.balance:
        raise LedgerError(
            "A write-off must be more than zero and at most the balance "
            f"({format_money(invoice.balance, invoice.currency)})."
        )
    if approval is not None:
        approval_authorizes(
            approval,
            kind="write_off",
            target_key=f"invoice:{invoice.public_id}",
            amount=amount,
            currency=invoice.currency,
        )
    elif actor is not None:
        guardrail = approval_check(
            organization=invoice.organization,
            actor=actor,
            kind="write_off",
            amount=amount,
            currency=invoice.currency,
        )
        if guardrail is not None:
            raise ApprovalRequired(guardrail, amount=amount)
    InvoiceAdjustment.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        kind=InvoiceAdjustment.Kind.WRITE_OFF,
        amount=amount,
        reason=reason.strip(),
        created_by=actor,
    )
    share = Share.of(invoice)
    invoice.balance -= amount
    before = invoice.status
    if invoice.balance == 0:
        invoice.check_transition(InvoiceStatus.WRITTEN_OFF)
        invoice.status = InvoiceStatus.WRITTEN_OFF
    else:
        invoice.status = _status_after_money_move(invoice)
    invoice.save(update_fields=["balance", "status", "updated_at"])
    customer_balance_move(invoice=invoice, before=share)
    data = {
        "reason": reason.strip(),
        "amount": _money(amount, invoice.currency),
        "balance": _money(invoice.balance, invoice.currency),
        "from": before,
        "to": invoice.status,
    }
    if approval is not None:
        data["approved_by"] = str(approval.decided_by) if approval.decided_by else ""
    timeline_record(invoice=invoice, kind=TimelineEvent.Kind.WRITTEN_OFF, actor=actor, data=data)
    cadence_notify(
        invoice=invoice, change="closed" if not invoice.is_open else "updated", actor=actor
    )
    return invoice
