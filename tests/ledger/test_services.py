"""Ledger services: customers, contacts, invoices, voids and write-offs (payments have their own
file). Every change keeps the money rows, the status table and the timeline in step."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from plixo.ledger.models import (
    INVOICE_TRANSITIONS,
    Contact,
    InvalidTransition,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    LedgerError,
    TimelineEvent,
)
from plixo.ledger.services import (
    AllocationRequest,
    contact_create,
    contact_suppress,
    contact_update,
    contacts_reactivate_due,
    customer_create,
    customer_update,
    invoice_balance_from_rows,
    invoice_create,
    invoice_update,
    invoice_void,
    invoice_write_off,
    payment_record,
    timeline_record,
)
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

ISSUED = dt.date(2025, 3, 1)
DUE = dt.date(2025, 3, 31)


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Harbor Logistics", currency="USD")


def new_invoice(org, customer, number="INV-1", amount="1000.00", currency="USD", **extra):
    return invoice_create(
        organization=org,
        customer=customer,
        number=number,
        issue_date=ISSUED,
        due_date=DUE,
        currency=currency,
        amount=amount,
        **extra,
    )


def pay(org, invoice, amount, reference="PAY-1"):
    return payment_record(
        organization=org,
        reference=reference,
        amount=amount,
        currency=invoice.currency,
        allocations=[AllocationRequest(invoice=invoice, amount=Decimal(amount))],
    )


def fresh(invoice: Invoice) -> Invoice:
    invoice.refresh_from_db()
    assert invoice.balance == invoice_balance_from_rows(invoice)
    return invoice


# --- customers ---------------------------------------------------------------------------


def test_customer_create_and_update(org, personas):
    sales = personas.members["sales"].user
    customer = customer_create(
        organization=org,
        external_id=" C-100 ",
        name=" Brightwater Foods ",
        country="de",
        currency="EUR",
        time_zone="Europe/Berlin",
        owner=sales,
        risk_score=30,
    )
    assert (customer.external_id, customer.name, customer.country) == (
        "C-100",
        "Brightwater Foods",
        "DE",
    )
    updated = customer_update(customer=customer, segment="enterprise", country="at")
    assert (updated.segment, updated.country) == ("enterprise", "AT")


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"colour": "blue"}, "Unknown customer fields: colour"),
        ({"time_zone": "Mars/Olympus"}, "IANA time zone"),
        ({"currency": "ABC"}, "ISO 4217"),
    ],
)
def test_customer_create_refuses_bad_fields(org, fields, message):
    with pytest.raises(LedgerError, match=message):
        customer_create(organization=org, external_id="C-1", name="X", **fields)


def test_customer_risk_above_100_is_a_ledger_error(org):
    with pytest.raises(LedgerError):
        customer_create(organization=org, external_id="C-9", name="X", risk_score=101)


def test_external_ids_are_unique_per_organization(org, personas, customer):
    with pytest.raises(LedgerError, match="already exists"):
        customer_create(organization=org, external_id=customer.external_id, name="Dup")
    other = customer_create(
        organization=personas.other_org, external_id=customer.external_id, name="Same id"
    )
    assert other.organization == personas.other_org
    second = customer_create(organization=org, external_id="C-2", name="Second")
    with pytest.raises(LedgerError, match="already exists"):
        customer_update(customer=second, external_id=customer.external_id)
    with pytest.raises(LedgerError, match="Unknown customer fields: organization"):
        customer_update(customer=second, organization=personas.other_org)


# --- contacts ----------------------------------------------------------------------------


def test_first_contact_is_primary_and_a_new_primary_demotes_the_old(customer):
    first = contact_create(customer=customer, email=" AP@Harbor.Example ", name="AP")
    second = contact_create(customer=customer, email="cfo@harbor.example")
    assert first.email == "ap@harbor.example"
    assert first.is_primary and not second.is_primary
    third = contact_create(customer=customer, email="ops@harbor.example", is_primary=True)
    first.refresh_from_db()
    assert third.is_primary and not first.is_primary
    contact_update(contact=second, is_primary=True)
    assert list(customer.contacts.filter(is_primary=True)) == [second]


def test_contact_errors(customer):
    contact = contact_create(customer=customer, email="ap@harbor.example")
    other = contact_create(customer=customer, email="cfo@harbor.example")
    with pytest.raises(LedgerError, match="already has a contact ap@harbor.example"):
        contact_create(customer=customer, email="AP@harbor.example")
    with pytest.raises(LedgerError, match="already has a contact"):
        contact_update(contact=other, email="ap@harbor.example")
    with pytest.raises(LedgerError, match="email"):
        contact_create(customer=customer, email="not-an-email")
    with pytest.raises(LedgerError, match="Unknown contact fields: phone"):
        contact_update(contact=contact, phone="555")
    # The same address may belong to another customer.
    contact_create(
        customer=CustomerFactory(organization=customer.organization), email="ap@harbor.example"
    )


def test_suppression_needs_a_reason_and_reactivates_when_due(customer):
    now = timezone.now()
    paused = contact_create(customer=customer, email="ap@harbor.example")
    forever = contact_create(customer=customer, email="old@harbor.example")
    later = contact_create(customer=customer, email="cfo@harbor.example")
    with pytest.raises(LedgerError, match="reason"):
        contact_suppress(contact=paused, reason="  ")
    contact_suppress(contact=paused, reason="Out of office", until=now + dt.timedelta(days=2))
    contact_suppress(contact=forever, reason="Hard bounce")
    contact_suppress(contact=later, reason="On leave", until=now + dt.timedelta(days=30))
    assert paused.is_suppressed and forever.is_suppressed and later.is_suppressed

    assert contacts_reactivate_due(now=now + dt.timedelta(days=3)) == 1
    paused.refresh_from_db()
    forever.refresh_from_db()
    later.refresh_from_db()
    assert not paused.is_suppressed and paused.suppression_reason == ""
    assert paused.suppressed_until is None
    assert forever.is_suppressed  # no date: suppressed until someone lifts it
    assert later.is_suppressed
    assert Contact.objects.exclude(suppression_reason="").count() == 2


# --- invoices ----------------------------------------------------------------------------


def test_invoice_create_writes_a_timeline_event(org, customer, personas):
    actor = personas.members["billing_admin"].user
    invoice = new_invoice(
        org, customer, number=" INV-7 ", currency=" jpy ", amount="150000", actor=actor
    )
    assert (invoice.number, invoice.currency, invoice.status) == ("INV-7", "JPY", "open")
    assert invoice.balance == invoice.amount == Decimal("150000")
    event = invoice.timeline.get()
    assert event.kind == TimelineEvent.Kind.CREATED
    assert (event.actor, event.actor_label) == (actor, str(actor))
    assert event.data == {"amount": "150000", "currency": "JPY", "due_date": "2025-03-31"}
    imported = new_invoice(
        org, customer, number="INV-8", event_kind=TimelineEvent.Kind.IMPORTED, actor_label="ERP"
    )
    assert imported.timeline.get().kind == "imported"
    assert imported.timeline.get().actor_label == "ERP"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"number": "  "}, "needs a number"),
        ({"currency": "ABC"}, "ISO 4217"),
        ({"amount": "0"}, "greater than zero"),
        ({"amount": "-5"}, "greater than zero"),
        ({"amount": "12.345"}, "decimal places"),
        ({"amount": "10.5", "currency": "JPY"}, "decimal places than JPY"),
        ({"amount": "lots"}, "not an amount"),
        ({"due_date": dt.date(2025, 2, 1)}, "due date cannot be before"),
    ],
)
def test_invoice_create_refuses_bad_values(org, customer, changes, message):
    values = {"number": "INV-X", "amount": "100.00", "currency": "USD", "due_date": DUE} | changes
    with pytest.raises(LedgerError, match=message):
        invoice_create(organization=org, customer=customer, issue_date=ISSUED, **values)
    assert not Invoice.objects.exists()


def test_invoice_numbers_and_customers_stay_in_their_organization(org, personas, customer):
    new_invoice(org, customer)
    with pytest.raises(LedgerError, match="INV-1 already exists"):
        new_invoice(org, customer)
    with pytest.raises(LedgerError, match="another organization"):
        new_invoice(personas.other_org, customer, number="INV-2")
    other_customer = CustomerFactory(organization=personas.other_org)
    assert new_invoice(personas.other_org, other_customer).number == "INV-1"


def test_invoice_update_records_what_changed(org, customer, personas):
    invoice = new_invoice(org, customer)
    actor = personas.operator.user
    invoice_update(invoice=invoice, actor=actor, due_date=dt.date(2025, 4, 15), po_number=" PO-9 ")
    invoice = fresh(invoice)
    assert (invoice.due_date, invoice.po_number) == (dt.date(2025, 4, 15), "PO-9")
    event = invoice.timeline.get(kind=TimelineEvent.Kind.UPDATED)
    assert event.data["changes"] == {
        "due_date": {"from": "2025-03-31", "to": "2025-04-15"},
        "po_number": {"from": "", "to": "PO-9"},
    }
    assert event.actor == actor
    invoice_update(invoice=invoice, po_number="PO-9")  # nothing changes: no event
    assert invoice.timeline.filter(kind=TimelineEvent.Kind.UPDATED).count() == 1


def test_invoice_update_keeps_money_consistent(org, customer):
    invoice = new_invoice(org, customer, amount="1000.00")
    pay(org, invoice, "400.00")
    invoice = invoice_update(invoice=invoice, amount="1200.00")
    assert (invoice.balance, invoice.status) == (Decimal("800.00"), "partially_paid")
    with pytest.raises(LedgerError, match="less than what has already been paid"):
        invoice_update(invoice=invoice, amount="399.99")
    with pytest.raises(LedgerError, match="currency of an invoice with payments"):
        invoice_update(invoice=invoice, currency="EUR")
    invoice = invoice_update(invoice=invoice, amount="400.00")
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)
    fresh(invoice)
    with pytest.raises(LedgerError, match="is paid; it can no longer be edited"):
        invoice_update(invoice=invoice, po_number="late")
    with pytest.raises(LedgerError, match="cannot be changed: status"):
        invoice_update(invoice=new_invoice(org, customer, number="INV-2"), status="paid")


def test_unpaid_invoice_may_change_currency(org, customer):
    invoice = new_invoice(org, customer, amount="100.00")
    invoice = invoice_update(invoice=invoice, currency="eur")
    assert (invoice.currency, invoice.balance) == ("EUR", Decimal("100.00"))


# --- void and write-off ------------------------------------------------------------------


def test_void_closes_an_unpaid_invoice_with_an_adjustment(org, customer, personas):
    invoice = new_invoice(org, customer, amount="250.00")
    with pytest.raises(LedgerError, match="Say why"):
        invoice_void(invoice=invoice, actor=None, reason=" ")
    actor = personas.members["billing_admin"].user
    invoice = invoice_void(invoice=invoice, actor=actor, reason="Duplicate of INV-0")
    invoice = fresh(invoice)
    assert (invoice.status, invoice.balance) == (InvoiceStatus.VOID, Decimal("0"))
    adjustment = InvoiceAdjustment.objects.get(invoice=invoice)
    assert (adjustment.kind, adjustment.amount, adjustment.created_by) == (
        "void",
        Decimal("250"),
        actor,
    )
    event = invoice.timeline.get(kind=TimelineEvent.Kind.VOIDED)
    assert event.data == {"reason": "Duplicate of INV-0", "balance": "250.00", "from": "open"}
    with pytest.raises(LedgerError, match="takes no payments"):
        pay(org, invoice, "1.00")
    with pytest.raises(InvalidTransition, match="void cannot become written off"):
        invoice_write_off(invoice=invoice, actor=None, reason="Too late")


def test_voiding_twice_is_refused(org, customer):
    invoice = invoice_void(invoice=new_invoice(org, customer), actor=None, reason="Duplicate")
    with pytest.raises(LedgerError):
        invoice_void(invoice=invoice, actor=None, reason="Again")


def test_void_refuses_invoices_with_payments(org, customer):
    partly = new_invoice(org, customer, amount="100.00")
    pay(org, partly, "10.00")
    with pytest.raises(InvalidTransition, match="partially paid cannot become void"):
        invoice_void(invoice=partly, actor=None, reason="Wrong")
    disputed = InvoiceFactory(customer=customer, amount=Decimal("80.00"), status="disputed")
    pay(org, disputed, "30.00", reference="PAY-D")
    with pytest.raises(LedgerError, match="has payments applied"):
        invoice_void(invoice=disputed, actor=None, reason="Wrong")
    paid = new_invoice(org, customer, number="INV-2", amount="50.00")
    pay(org, paid, "50.00", reference="PAY-2")
    with pytest.raises(InvalidTransition, match="paid cannot become void"):
        invoice_void(invoice=paid, actor=None, reason="Wrong")
    assert fresh(partly).status == InvoiceStatus.PARTIALLY_PAID


def test_write_off_in_part_then_in_full(org, customer, personas):
    legal = personas.members["legal"].user
    invoice = new_invoice(org, customer, amount="1000.00")
    pay(org, invoice, "300.00")
    invoice = invoice_write_off(invoice=invoice, actor=legal, reason="Settlement", amount="200.00")
    assert (fresh(invoice).status, invoice.balance) == (
        InvoiceStatus.PARTIALLY_PAID,
        Decimal("500"),
    )
    invoice = invoice_write_off(invoice=invoice, actor=legal, reason="Customer insolvent")
    invoice = fresh(invoice)
    assert (invoice.status, invoice.balance) == (InvoiceStatus.WRITTEN_OFF, Decimal("0"))
    events = list(invoice.timeline.filter(kind=TimelineEvent.Kind.WRITTEN_OFF).order_by("id"))
    assert [e.data["to"] for e in events] == ["partially_paid", "written_off"]
    assert Decimal(events[1].data["amount"]) == Decimal("500")
    assert sum(a.amount for a in invoice.adjustments.all()) == Decimal("700")
    with pytest.raises(LedgerError, match="is not open"):
        invoice_write_off(invoice=invoice, actor=legal, reason="Again")


@pytest.mark.parametrize(
    "amount, message",
    [("0", "more than zero"), ("100.01", "at most the balance"), ("1.001", "decimal places")],
)
def test_write_off_amount_errors(org, customer, amount, message):
    invoice = new_invoice(org, customer, amount="100.00")
    with pytest.raises(LedgerError, match=message):
        invoice_write_off(invoice=invoice, actor=None, reason="Small balance", amount=amount)
    assert fresh(invoice).status == InvoiceStatus.OPEN
    with pytest.raises(LedgerError, match="needs a reason"):
        invoice_write_off(invoice=invoice, actor=None, reason="")


def test_paid_invoice_cannot_be_written_off(org, customer):
    invoice = new_invoice(org, customer, amount="20.00")
    pay(org, invoice, "20.00")
    with pytest.raises(InvalidTransition, match="paid cannot become written off"):
        invoice_write_off(invoice=invoice, actor=None, reason="No")


def test_disputed_invoice_stays_disputed_until_paid_in_full(org, customer):
    invoice = InvoiceFactory(customer=customer, amount=Decimal("100.00"), status="disputed")
    pay(org, invoice, "40.00")
    assert fresh(invoice).status == InvoiceStatus.DISPUTED
    pay(org, invoice, "60.00", reference="PAY-2")
    assert fresh(invoice).status == InvoiceStatus.PAID


# --- the status table and the timeline ---------------------------------------------------


def test_status_table_closes_void_and_written_off_for_good():
    assert INVOICE_TRANSITIONS[InvoiceStatus.VOID] == frozenset()
    assert INVOICE_TRANSITIONS[InvoiceStatus.WRITTEN_OFF] == frozenset()
    assert set(INVOICE_TRANSITIONS) == set(InvoiceStatus.values)
    for targets in INVOICE_TRANSITIONS.values():
        assert targets <= set(InvoiceStatus.values)


@pytest.mark.parametrize("current", InvoiceStatus.values)
@pytest.mark.parametrize("wanted", InvoiceStatus.values)
def test_check_transition_follows_the_table(current, wanted):
    invoice = Invoice(status=current)
    if wanted == current or wanted in INVOICE_TRANSITIONS[current]:
        invoice.check_transition(wanted)
    else:
        with pytest.raises(InvalidTransition) as caught:
            invoice.check_transition(wanted)
        assert InvoiceStatus(current).label.lower() in str(caught.value)
        assert (caught.value.current, caught.value.wanted) == (current, wanted)


def test_timeline_record_labels_the_actor(org, customer, personas):
    invoice = new_invoice(org, customer)
    system = timeline_record(invoice=invoice, kind=TimelineEvent.Kind.NOTE, data={"text": "Hi"})
    assert system.actor_label == "system" and system.organization_id == org.pk
    person = personas.operator.user
    noted = timeline_record(invoice=invoice, kind="note", actor=person)
    assert noted.actor_label == str(person)
    at = timezone.now() - dt.timedelta(days=3)
    assert timeline_record(invoice=invoice, kind="email_sent", at=at).at == at
    assert [e.kind for e in invoice.timeline.order_by("-at", "-id")][0] == "note"


def test_update_records_old_amount_in_the_old_currency(org, customer):
    from plixo.ledger.services import invoice_update

    invoice = new_invoice(org, customer, amount="100.50")
    invoice_update(invoice=invoice, currency="JPY", amount="15000")
    event = invoice.timeline.get(kind="updated")
    assert event.data["changes"]["amount"] == {"from": "100.50", "to": "15000"}


def test_editing_the_amount_down_to_what_was_credited_is_refused(org, customer):
    from plixo.ledger.services import invoice_update

    invoice = new_invoice(org, customer, amount="100.00")
    invoice_write_off(invoice=invoice, actor=None, reason="Goodwill", amount=Decimal("30.00"))
    with pytest.raises(LedgerError, match="must stay above"):
        invoice_update(invoice=invoice, amount="30.00")
    invoice.refresh_from_db()
    # A partial write-off is not a payment: the invoice stays open, with its lower balance.
    assert invoice.status == "open" and invoice.balance == Decimal("70.00")


def test_an_amount_change_records_the_balance_move(org, customer):
    from plixo.ledger.services import invoice_update

    invoice = new_invoice(org, customer, amount="100.00")
    pay(org, invoice, "40.00")
    invoice_update(invoice=invoice, amount="150.00")
    changes = invoice.timeline.get(kind="updated").data["changes"]
    assert changes["balance"] == {"from": "60.00", "to": "110.00"}
