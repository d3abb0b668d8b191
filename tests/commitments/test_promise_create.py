"""promise_create: amount, date and invoice rules, the timeline event, and one transaction."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from plixo.commitments.models import Promise
from plixo.commitments.services import promise_create
from plixo.commitments.services import records as services
from plixo.ledger.models import LedgerError, TimelineEvent
from plixo.ledger.services import invoice_void
from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

# 10:00 on a Monday in New York (the test organization's zone), 15:00 UTC.
NOW = dt.datetime(2025, 6, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def invoice(org):
    return InvoiceFactory(
        customer=CustomerFactory(organization=org), amount=Decimal("1000.00"), number="INV-P1"
    )


def test_a_promise_is_recorded_with_its_timeline_event(invoice, personas):
    contact = ContactFactory(customer=invoice.customer, name="Dana Ap")
    promise = promise_create(
        invoice=invoice,
        amount="400.00",
        promised_on=TODAY + dt.timedelta(days=10),
        contact=contact,
        note="Paying after the board meeting",
        actor=personas.operator.user,
    )
    assert promise.amount == Decimal("400.00")
    assert promise.currency == "USD"
    assert promise.status == Promise.Status.OPEN
    assert promise.created_by == personas.operator.user
    assert promise.actor_label == str(personas.operator.user)
    event = TimelineEvent.objects.get(invoice=invoice, kind="promise_made")
    assert event.actor == personas.operator.user
    assert event.data["promise"] == str(promise.public_id)
    assert event.data["amount"] == "400.00"
    assert event.data["promised_on"] == str(TODAY + dt.timedelta(days=10))
    assert event.data["note"] == "Paying after the board meeting"


def test_a_payer_promise_carries_the_payer_label(invoice):
    label = "Dana Ap (payer, portal)"
    promise = promise_create(
        invoice=invoice, amount="1", promised_on=TODAY, source="portal", actor_label=label
    )
    assert promise.actor_label == label and promise.created_by is None
    assert TimelineEvent.objects.get(kind="promise_made").actor_label == label


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "more than zero"),
        ("-5", "more than zero"),
        ("1000.01", "more than the balance"),
        ("10.001", "decimal places"),
        ("ten", "not an amount"),
    ],
)
def test_amount_rules(invoice, amount, message):
    with pytest.raises(LedgerError, match=message):
        promise_create(invoice=invoice, amount=amount, promised_on=TODAY)
    assert not Promise.objects.exists()


def test_the_whole_balance_can_be_promised(invoice):
    assert promise_create(invoice=invoice, amount="1000.00", promised_on=TODAY).pk


@pytest.mark.raw_invoice_writes
def test_the_balance_not_the_amount_is_the_limit(invoice, org):
    invoice.balance = Decimal("300.00")
    invoice.status = "partially_paid"
    invoice.save()
    promise_create(invoice=invoice, amount="300.00", promised_on=TODAY)
    with pytest.raises(LedgerError, match="more than the balance") as refused:
        promise_create(invoice=invoice, amount="300.01", promised_on=TODAY)
    # Amounts in the message read as money, not as raw decimals.
    assert "($300.01) is more than the balance ($300.00)" in str(refused.value)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(-1, False), (0, True), (1, True), (90, True), (91, False)],
)
def test_date_window_is_today_to_90_days(invoice, offset, ok):
    promised_on = TODAY + dt.timedelta(days=offset)
    if ok:
        assert promise_create(invoice=invoice, amount="10", promised_on=promised_on).pk
    else:
        with pytest.raises(LedgerError, match="past|within 90 days"):
            promise_create(invoice=invoice, amount="10", promised_on=promised_on)


def test_today_is_the_organizations_today(invoice):
    # 23:30 in New York is already tomorrow in UTC: a promise for New York's today stands.
    late = dt.datetime(2025, 6, 2, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    with time_machine.travel(late, tick=False):
        assert promise_create(invoice=invoice, amount="10", promised_on=dt.date(2025, 6, 2)).pk


def test_a_datetime_is_not_a_date(invoice):
    with pytest.raises(LedgerError, match="must be a date"):
        promise_create(invoice=invoice, amount="10", promised_on=NOW)


def test_closed_invoices_take_no_promises(invoice, personas):
    invoice_void(invoice=invoice, actor=personas.controller.user, reason="Issued in error")
    with pytest.raises(LedgerError, match="void"):
        promise_create(invoice=invoice, amount="10", promised_on=TODAY)


def test_contact_must_belong_to_the_invoice_customer(invoice, org):
    stranger = ContactFactory(customer=CustomerFactory(organization=org))
    with pytest.raises(LedgerError, match="contact"):
        promise_create(invoice=invoice, amount="10", promised_on=TODAY, contact=stranger)


def test_unknown_source_and_overlong_note(invoice):
    with pytest.raises(LedgerError, match="source"):
        promise_create(invoice=invoice, amount="10", promised_on=TODAY, source="fax")
    with pytest.raises(LedgerError, match="too long"):
        promise_create(invoice=invoice, amount="10", promised_on=TODAY, note="x" * 2001)


def test_promise_and_event_share_one_transaction(invoice, monkeypatch):
    """A failure after the timeline event leaves neither the promise nor the event."""
    real = services.timeline_record

    def record_then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "timeline_record", record_then_fail)
    with pytest.raises(RuntimeError):
        promise_create(invoice=invoice, amount="10", promised_on=TODAY)
    assert not Promise.objects.exists()
    assert not TimelineEvent.objects.filter(kind="promise_made").exists()


def test_promise_status_table():
    promise = Promise(status=Promise.Status.KEPT)
    with pytest.raises(LedgerError, match="kept cannot become open"):
        promise.check_transition(Promise.Status.OPEN)
    Promise(status=Promise.Status.OPEN).check_transition(Promise.Status.MISSED)
