"""Payments and their allocations to invoices."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from plixo.core.models import Organization, User
from plixo.core.money import MoneyError, format_money, is_currency, parse_amount, quantize
from plixo.ledger.models import (
    Allocation,
    Customer,
    Invoice,
    InvoiceStatus,
    LedgerError,
    Payment,
    PaymentMethod,
    PaymentSource,
    Refund,
    RefundAllocation,
    TimelineEvent,
)
from plixo.ledger.services.balances import Share, customer_balance_move, customer_balances_shift
from plixo.ledger.services.cadence import cadence_notify
from plixo.ledger.services.invoices import _status_after_money_move
from plixo.ledger.services.timeline import _money, timeline_record
from plixo.ledger.validation import date_check, text_check


@dataclass(frozen=True)
class AllocationRequest:
    invoice: Invoice
    amount: Decimal


@transaction.atomic
def payment_record(
    *,
    organization: Organization,
    reference: str,
    amount,
    currency: str,
    received_at: dt.datetime | None = None,
    method: str = PaymentMethod.OTHER,
    source: str = PaymentSource.MANUAL,
    customer: Customer | None = None,
    allocations: Iterable[AllocationRequest] = (),
    memo: str = "",
    actor: User | None = None,
    actor_label: str | None = None,
) -> Payment:
    """Record money received and apply it to invoices: balances, statuses and timelines move
    together, or not at all."""
    reference = text_check(reference, "The reference", single_line=True).strip()
    if not reference:
        raise LedgerError("A payment needs a reference (check number, transfer id …).")
    text_check(memo, "The memo")
    if received_at is not None:
        if timezone.is_naive(received_at):
            raise LedgerError("The received time needs a time zone.")
        date_check(received_at, "The received date")
    currency = currency.strip().upper()
    if not is_currency(currency):
        raise LedgerError(f"{currency!r} is not an ISO 4217 currency code.")
    try:
        amount = parse_amount(amount, currency)
    except MoneyError as exc:
        raise LedgerError(str(exc)) from exc
    if amount <= 0:
        raise LedgerError("A payment amount must be greater than zero.")
    if method not in PaymentMethod.values:
        raise LedgerError(f"Unknown payment method {method!r}.")
    if source not in PaymentSource.values:
        raise LedgerError(f"Unknown payment source {source!r}.")
    if customer is not None and customer.organization_id != organization.pk:
        raise LedgerError("That customer belongs to another organization.")

    requests = list(allocations)
    wanted: dict[int, Decimal] = {}
    for request in requests:
        if request.invoice.organization_id != organization.pk:
            raise LedgerError("An allocation points at another organization's invoice.")
        try:
            share = parse_amount(request.amount, currency)
        except MoneyError as exc:
            raise LedgerError(f"Invoice {request.invoice.number}: {exc}") from exc
        if share <= 0:
            raise LedgerError(f"Invoice {request.invoice.number}: allocate more than zero.")
        wanted[request.invoice.pk] = wanted.get(request.invoice.pk, Decimal("0")) + share
    total = sum(wanted.values(), Decimal("0"))
    if total > amount:
        raise LedgerError(
            f"Allocations ({format_money(total, currency)}) exceed the payment "
            f"({format_money(amount, currency)})."
        )
    # Lock invoices in one fixed order so two payments touching the same invoices never deadlock.
    invoices = list(Invoice.objects.select_for_update().filter(pk__in=wanted.keys()).order_by("pk"))
    for invoice in invoices:
        if invoice.currency != currency:
            raise LedgerError(
                f"Invoice {invoice.number} is in {invoice.currency}; this payment is in {currency}."
            )
        if not invoice.is_open:
            raise LedgerError(
                f"Invoice {invoice.number} is {invoice.get_status_display().lower()} "
                "and takes no payments."
            )
        if wanted[invoice.pk] > invoice.balance:
            raise LedgerError(
                f"Invoice {invoice.number}: {format_money(wanted[invoice.pk], currency)} is more "
                f"than its balance ({format_money(invoice.balance, currency)})."
            )
    if customer is None and invoices:
        customer_ids = {invoice.customer_id for invoice in invoices}
        if len(customer_ids) == 1:
            customer = Customer.objects.get(pk=customer_ids.pop())

    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                organization=organization,
                customer=customer,
                reference=reference,
                amount=amount,
                allocated_amount=total,
                currency=currency,
                received_at=received_at or timezone.now(),
                method=method,
                source=source,
                memo=memo.strip(),
                created_by=actor,
            )
    except IntegrityError as exc:
        raise LedgerError(f"A payment with reference {reference!r} already exists.") from exc

    moves = []
    for invoice in invoices:
        share = wanted[invoice.pk]
        Allocation.objects.create(
            organization=organization, payment=payment, invoice=invoice, amount=share
        )
        moves.append([invoice.customer_id, Share.of(invoice), None])
        invoice.balance -= share
        before = invoice.status
        invoice.status = _status_after_money_move(invoice)
        if invoice.status != before:
            invoice.status, wanted_status = before, invoice.status
            invoice.check_transition(wanted_status)
            invoice.status = wanted_status
        invoice.save(update_fields=["balance", "status", "updated_at"])
        moves[-1][2] = Share.of(invoice)
        timeline_record(
            invoice=invoice,
            kind=TimelineEvent.Kind.PAYMENT_RECORDED,
            actor=actor,
            actor_label=actor_label,
            data={
                "payment": str(payment.public_id),
                "reference": reference,
                "amount": _money(share, currency),
                "currency": currency,
                "method": method,
                "source": source,
                "balance": _money(invoice.balance, currency),
                "from": before,
                "to": invoice.status,
            },
        )
        commitments_payment_applied(invoice=invoice, amount=share, actor=actor)
        cadence_notify(invoice=invoice, change="payment", actor=actor)
    customer_balances_shift(organization_id=organization.pk, moves=moves)
    return payment


@transaction.atomic
def refund_record(
    *,
    payment: Payment,
    reference: str,
    amount,
    reason: str = "",
    source: str = PaymentSource.MANUAL,
    refunded_at: dt.datetime | None = None,
    actor: User | None = None,
    actor_label: str | None = None,
) -> Refund:
    """Record money given back on a payment (the provider already sent it). What the payment
    had not applied goes back first; the rest reopens the invoices it paid, newest allocation
    first, each with a timeline entry. A refund reference seen before returns that refund."""
    reference = (reference or "").strip()
    if not reference:
        raise LedgerError("A refund needs the provider's refund reference.")
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    existing = Refund.objects.filter(
        organization_id=payment.organization_id, reference=reference
    ).first()
    if existing is not None:
        return existing
    try:
        amount = parse_amount(amount, payment.currency)
    except MoneyError as exc:
        raise LedgerError(str(exc)) from exc
    refundable = payment.amount - payment.refunded_amount
    if amount <= 0:
        raise LedgerError("A refund amount must be greater than zero.")
    if amount > refundable:
        raise LedgerError(
            f"The refund ({format_money(amount, payment.currency)}) is more than payment "
            f"{payment.reference} has left to refund "
            f"({format_money(refundable, payment.currency)})."
        )
    if source not in PaymentSource.values:
        raise LedgerError(f"Unknown payment source {source!r}.")

    rest = amount - min(amount, payment.unapplied_amount)
    takes: list[tuple[Invoice, Decimal]] = []
    if rest:
        # What this payment still has on each invoice: its allocations less earlier refunds.
        net: dict[int, Decimal] = {}
        for invoice_id, share in payment.allocations.values_list("invoice_id", "amount"):
            net[invoice_id] = net.get(invoice_id, Decimal("0")) + share
        for invoice_id, share in RefundAllocation.objects.filter(
            refund__payment=payment
        ).values_list("invoice_id", "amount"):
            net[invoice_id] -= share
        latest_first = payment.allocations.order_by("-created_at", "-id").values_list(
            "invoice_id", flat=True
        )
        order = list(dict.fromkeys(latest_first))
        invoices = Invoice.objects.select_for_update().filter(pk__in=order).order_by("pk")
        by_id = {invoice.pk: invoice for invoice in invoices}
        for invoice_id in order:
            if not rest:
                break
            take = min(rest, net.get(invoice_id, Decimal("0")))
            if take <= 0:
                continue
            invoice = by_id[invoice_id]
            if invoice.status in (InvoiceStatus.VOID, InvoiceStatus.WRITTEN_OFF):
                raise LedgerError(
                    f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; a "
                    "refund cannot reopen it. Settle it with the payer outside Plixo and close "
                    "the review with a note."
                )
            takes.append((invoice, take))
            rest -= take
        if rest:
            raise LedgerError(
                f"Payment {payment.reference} has no applied money left to refund "
                f"{_money(rest, payment.currency)} from."
            )

    refund = Refund.objects.create(
        organization_id=payment.organization_id,
        payment=payment,
        amount=amount,
        currency=payment.currency,
        reference=reference,
        reason=(reason or "").strip()[:300],
        source=source,
        refunded_at=refunded_at or timezone.now(),
    )
    reopened = sum((take for _, take in takes), Decimal("0"))
    payment.refunded_amount += amount
    payment.allocated_amount -= reopened
    payment.save(update_fields=["refunded_amount", "allocated_amount"])
    moves = []
    for invoice, take in takes:
        RefundAllocation.objects.create(
            organization_id=payment.organization_id, refund=refund, invoice=invoice, amount=take
        )
        moves.append((invoice.customer_id, Share.of(invoice)))
        before = invoice.status
        invoice.balance += take
        wanted = _status_after_money_move(invoice)
        invoice.check_transition(wanted)
        invoice.status = wanted
        invoice.save(update_fields=["balance", "status", "updated_at"])
        customer_balance_move(invoice=invoice, before=moves[-1][1])
        timeline_record(
            invoice=invoice,
            kind=TimelineEvent.Kind.REFUND_RECORDED,
            actor=actor,
            actor_label=actor_label,
            data={
                "payment": str(payment.public_id),
                "payment_reference": payment.reference,
                "reference": reference,
                "amount": _money(take, payment.currency),
                "currency": payment.currency,
                "source": source,
                "reason": refund.reason,
                "balance": _money(invoice.balance, payment.currency),
                "from": before,
                "to": invoice.status,
            },
        )
        cadence_notify(invoice=invoice, change="refunded", actor=actor)
    return refund


def commitments_payment_applied(*, invoice: Invoice, amount: Decimal, actor) -> None:
    # Imported here: commitments build on the ledger, not the other way round.
    from plixo.commitments.services import commitments_payment_applied as applied

    applied(invoice=invoice, amount=amount, actor=actor)


def invoice_balance_from_rows(invoice: Invoice) -> Decimal:
    """The balance as the money rows say it is; the `balance` column must always equal this."""
    allocated = invoice.allocations.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    adjusted = invoice.adjustments.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    reopened = invoice.refund_allocations.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return quantize(invoice.amount - allocated + reopened - adjusted, invoice.currency)
