"""Every write to the ledger. One function per use case, keyword-only, one transaction.

Each change to an invoice's story writes a timeline event in the same transaction. Balances
move only with a money row (allocation or adjustment) beside them, and statuses only along
`INVOICE_TRANSITIONS`.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from plixo.core.models import Organization, User
from plixo.core.money import MoneyError, is_currency, parse_amount, quantize
from plixo.ledger.models import (
    Allocation,
    Contact,
    Customer,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    LedgerError,
    Payment,
    PaymentMethod,
    PaymentSource,
    TimelineEvent,
)

# ---------------------------------------------------------------------------------------------
# Timeline


def timeline_record(
    *,
    invoice: Invoice,
    kind: str,
    actor: User | None = None,
    actor_label: str | None = None,
    data: dict | None = None,
    at: dt.datetime | None = None,
) -> TimelineEvent:
    """Append an event to an invoice's timeline. Call it inside the transaction of the change."""
    if actor_label is None:
        actor_label = str(actor) if actor is not None else "system"
    return TimelineEvent.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        kind=kind,
        actor=actor,
        actor_label=actor_label,
        at=at or timezone.now(),
        data=data or {},
    )


def _money(amount: Decimal, currency: str) -> str:
    """An amount as timeline data: a string in the currency's minor units ("1050.00")."""
    return str(quantize(amount, currency))


def _jsonable(value, currency: str):
    if isinstance(value, Decimal):
        return _money(value, currency)
    if isinstance(value, dt.date):
        return str(value)
    if isinstance(value, Customer):
        return value.name
    return value


# ---------------------------------------------------------------------------------------------
# Customers and contacts

CUSTOMER_FIELDS = ("name", "segment", "owner", "time_zone", "country", "currency", "risk_score")


def _clean_or_raise(obj, exclude: Iterable[str] = ()) -> None:
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        messages = []
        for field, errors in exc.message_dict.items():
            label = field if field != "__all__" else ""
            messages.extend(f"{label}: {e}" if label else e for e in errors)
        raise LedgerError("; ".join(messages)) from exc


@transaction.atomic
def customer_create(
    *, organization: Organization, external_id: str, name: str, **fields
) -> Customer:
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise LedgerError(f"Unknown customer fields: {', '.join(sorted(unknown))}.")
    customer = Customer(
        organization=organization, external_id=external_id.strip(), name=name.strip(), **fields
    )
    if "country" in fields:
        customer.country = (customer.country or "").upper()
    _clean_or_raise(customer, exclude=["organization", "owner"])
    if Customer.objects.filter(
        organization=organization, external_id=customer.external_id
    ).exists():
        raise LedgerError(f"A customer with external id {customer.external_id!r} already exists.")
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **fields) -> Customer:
    unknown = set(fields) - set(CUSTOMER_FIELDS) - {"external_id"}
    if unknown:
        raise LedgerError(f"Unknown customer fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(customer, name, value)
    if "country" in fields:
        customer.country = (customer.country or "").upper()
    _clean_or_raise(customer, exclude=["organization", "owner"])
    if (
        "external_id" in fields
        and Customer.objects.filter(
            organization_id=customer.organization_id, external_id=customer.external_id
        )
        .exclude(pk=customer.pk)
        .exists()
    ):
        raise LedgerError(f"A customer with external id {customer.external_id!r} already exists.")
    customer.save()
    return customer


CONTACT_FIELDS = ("name", "email", "role", "is_primary", "suppressed_until", "suppression_reason")


def _demote_other_primaries(contact: Contact) -> None:
    if contact.is_primary:
        Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(
            pk=contact.pk
        ).update(is_primary=False)


@transaction.atomic
def contact_create(*, customer: Customer, email: str, **fields) -> Contact:
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise LedgerError(f"Unknown contact fields: {', '.join(sorted(unknown))}.")
    contact = Contact(
        organization_id=customer.organization_id,
        customer=customer,
        email=email.strip().lower(),
        **fields,
    )
    _clean_or_raise(contact, exclude=["organization", "customer"])
    if Contact.objects.filter(customer=customer, email=contact.email).exists():
        raise LedgerError(f"{customer.name} already has a contact {contact.email}.")
    if not Contact.objects.filter(customer=customer).exists():
        contact.is_primary = True
    _demote_other_primaries(contact)
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, **fields) -> Contact:
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise LedgerError(f"Unknown contact fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.email = contact.email.strip().lower()
    _clean_or_raise(contact, exclude=["organization", "customer"])
    if (
        Contact.objects.filter(customer_id=contact.customer_id, email=contact.email)
        .exclude(pk=contact.pk)
        .exists()
    ):
        raise LedgerError(f"This customer already has a contact {contact.email}.")
    _demote_other_primaries(contact)
    contact.save()
    return contact


@transaction.atomic
def contact_suppress(*, contact: Contact, reason: str, until: dt.datetime | None = None) -> Contact:
    if not reason.strip():
        raise LedgerError("A suppression needs a reason.")
    contact.suppression_reason = reason.strip()
    contact.suppressed_until = until
    contact.save(update_fields=["suppression_reason", "suppressed_until", "updated_at"])
    return contact


def contacts_reactivate_due(*, now: dt.datetime | None = None) -> int:
    """Lift suppressions whose reactivation date has passed, so contacts re-enter automations."""
    now = now or timezone.now()
    return Contact.objects.filter(suppressed_until__isnull=False, suppressed_until__lte=now).update(
        suppressed_until=None, suppression_reason="", updated_at=now
    )


# ---------------------------------------------------------------------------------------------
# Invoices

INVOICE_EDITABLE = ("issue_date", "due_date", "amount", "currency", "po_number", "description")


def _status_after_money_move(invoice: Invoice) -> str:
    """The status an invoice's balance implies, keeping dispute, void and write-off states."""
    if invoice.status in (InvoiceStatus.VOID, InvoiceStatus.WRITTEN_OFF):
        return invoice.status
    if invoice.balance == 0:
        return InvoiceStatus.PAID
    if invoice.status == InvoiceStatus.DISPUTED:
        return InvoiceStatus.DISPUTED
    if invoice.balance < invoice.amount:
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
    number = number.strip()
    if not number:
        raise LedgerError("An invoice needs a number.")
    currency = currency.strip().upper()
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
            f"The amount cannot be less than what has already been paid or credited ({moved})."
        )
    fields["currency"], fields["amount"] = currency, amount
    changes = {}
    for name, value in fields.items():
        if isinstance(value, str) and name not in ("currency",):
            value = value.strip()
        old = getattr(invoice, name)
        if old != value:
            changes[name] = {
                "from": _jsonable(old, invoice.currency),
                "to": _jsonable(value, currency),
            }
            setattr(invoice, name, value)
    if not changes:
        return invoice
    invoice.balance = invoice.amount - moved
    invoice.status = _status_after_money_move(invoice)
    invoice.save()
    timeline_record(
        invoice=invoice,
        kind=TimelineEvent.Kind.UPDATED,
        actor=actor,
        actor_label=actor_label,
        data={"changes": changes},
    )
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
    invoice.balance = Decimal("0")
    before = invoice.status
    invoice.status = InvoiceStatus.VOID
    invoice.save(update_fields=["balance", "status", "updated_at"])
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
    return invoice


@transaction.atomic
def invoice_write_off(
    *, invoice: Invoice, actor: User | None, reason: str, amount: Decimal | None = None
) -> Invoice:
    """Write off the whole balance (closing the invoice) or part of it."""
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
            f"A write-off must be more than zero and at most the balance ({invoice.balance})."
        )
    InvoiceAdjustment.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        kind=InvoiceAdjustment.Kind.WRITE_OFF,
        amount=amount,
        reason=reason.strip(),
        created_by=actor,
    )
    invoice.balance -= amount
    before = invoice.status
    if invoice.balance == 0:
        invoice.check_transition(InvoiceStatus.WRITTEN_OFF)
        invoice.status = InvoiceStatus.WRITTEN_OFF
    else:
        invoice.status = _status_after_money_move(invoice)
    invoice.save(update_fields=["balance", "status", "updated_at"])
    timeline_record(
        invoice=invoice,
        kind=TimelineEvent.Kind.WRITTEN_OFF,
        actor=actor,
        data={
            "reason": reason.strip(),
            "amount": _money(amount, invoice.currency),
            "balance": _money(invoice.balance, invoice.currency),
            "from": before,
            "to": invoice.status,
        },
    )
    return invoice


# ---------------------------------------------------------------------------------------------
# Payments


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
    reference = reference.strip()
    if not reference:
        raise LedgerError("A payment needs a reference (check number, transfer id …).")
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
        raise LedgerError(f"Allocations ({total}) exceed the payment ({amount} {currency}).")
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
                f"Invoice {invoice.number}: {wanted[invoice.pk]} is more than its balance "
                f"({invoice.balance})."
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

    for invoice in invoices:
        share = wanted[invoice.pk]
        Allocation.objects.create(
            organization=organization, payment=payment, invoice=invoice, amount=share
        )
        invoice.balance -= share
        before = invoice.status
        invoice.status = _status_after_money_move(invoice)
        if invoice.status != before:
            invoice.status, wanted_status = before, invoice.status
            invoice.check_transition(wanted_status)
            invoice.status = wanted_status
        invoice.save(update_fields=["balance", "status", "updated_at"])
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
    return payment


def invoice_balance_from_rows(invoice: Invoice) -> Decimal:
    """The balance as the money rows say it is; the `balance` column must always equal this."""
    allocated = invoice.allocations.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    adjusted = invoice.adjustments.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return quantize(invoice.amount - allocated - adjusted, invoice.currency)


# ---------------------------------------------------------------------------------------------
# Disputes


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
    before = invoice.status
    invoice.status = InvoiceStatus.DISPUTED
    invoice.save(update_fields=["status", "updated_at"])
    timeline_record(
        invoice=invoice,
        kind=TimelineEvent.Kind.STATUS_CHANGED,
        actor=actor,
        actor_label=actor_label,
        data={"from": before, "to": invoice.status, "reason": "Dispute filed"},
    )
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
    before = invoice.status
    invoice.status = InvoiceStatus.OPEN
    wanted = _status_after_money_move(invoice)
    invoice.status = before
    invoice.check_transition(wanted)
    invoice.status = wanted
    invoice.save(update_fields=["status", "updated_at"])
    timeline_record(
        invoice=invoice,
        kind=TimelineEvent.Kind.STATUS_CHANGED,
        actor=actor,
        actor_label=actor_label,
        data={"from": before, "to": invoice.status, "reason": "Dispute closed"},
    )
    return invoice
