"""Refunds (PAY-5) and chargebacks on the ledger: `refund_record` itself, then the Stripe events
that drive it (`charge.refunded` with its cumulative `amount_refunded`, and
`charge.dispute.created`). The invariant throughout:
balance = amount − Σ allocations + Σ refund allocations − Σ adjustments."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from plixo.disputes.models import Dispute, DisputeSource
from plixo.ledger import services as ledger
from plixo.ledger.models import (
    Invoice,
    InvoiceStatus,
    LedgerError,
    Payment,
    PaymentSource,
    Refund,
    RefundAllocation,
    TimelineEvent,
)
from plixo.ledger.services import AllocationRequest, invoice_balance_from_rows, refund_record
from plixo.payments.models import StripeEvent, StripeEventStatus
from plixo.payments.stripe import webhooks
from tests.payments import stripe_support as ss
from tests.payments.conftest import pay

BALANCE = Decimal("1250.00")


def assert_invariant(*invoices) -> None:
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.balance == invoice_balance_from_rows(invoice), invoice.number
    for payment in Payment.objects.all():
        assert payment.allocated_amount + payment.refunded_amount <= payment.amount, payment
        refunds = sum(payment.refunds.values_list("amount", flat=True), Decimal("0"))
        assert payment.refunded_amount == refunds


def record_payment(invoice, amount, *, applied=None, reference=None) -> Payment:
    applied = Decimal(amount) if applied is None else Decimal(applied)
    return ledger.payment_record(
        organization=invoice.organization,
        reference=reference or f"pay_{uuid.uuid4().hex[:12]}",
        amount=Decimal(amount),
        currency=invoice.currency,
        customer=invoice.customer,
        allocations=[AllocationRequest(invoice=invoice, amount=applied)] if applied else [],
    )


def new_invoice(org, customer, amount=BALANCE, number=None) -> Invoice:
    today = timezone.now().date()
    return ledger.invoice_create(
        organization=org,
        customer=customer,
        number=number or f"INV-{uuid.uuid4().hex[:8]}",
        issue_date=today - dt.timedelta(days=30),
        due_date=today,
        currency="USD",
        amount=amount,
    )


# --- refund_record --------------------------------------------------------------------------


def test_partial_refund_reopens_a_paid_invoice_to_partially_paid(invoice):
    _, payment = pay(invoice)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID

    refund = refund_record(
        payment=payment, reference="re_1", amount="200.00", source=PaymentSource.STRIPE
    )

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("200.00"), InvoiceStatus.PARTIALLY_PAID)
    payment.refresh_from_db()
    assert (payment.refunded_amount, payment.allocated_amount) == (
        Decimal("200.00"),
        Decimal("1050.00"),
    )
    (allocation,) = refund.allocations.all()
    assert (allocation.invoice_id, allocation.amount) == (invoice.pk, Decimal("200.00"))
    entry = TimelineEvent.objects.get(invoice=invoice, kind="refund_recorded")
    assert entry.data["amount"] == "200.00"
    assert (entry.data["from"], entry.data["to"]) == ("paid", "partially_paid")
    assert_invariant(invoice)


@pytest.mark.parametrize("amount", ["200.10", "0.30", "1249.99", "0.01"])
def test_refund_of_any_cent_amount_is_recorded(invoice, amount):
    # SQLite keeps decimal columns as floating point: a CHECK doing column arithmetic
    # (refunded <= amount - allocated) read 200.1 <= 1250 - 1049.9 = 200.0999999999999 and
    # refused these refunds there, while PostgreSQL's exact numeric took them.
    _, payment = pay(invoice)

    refund_record(payment=payment, reference="re_1", amount=amount)

    invoice.refresh_from_db()
    assert invoice.balance == Decimal(amount)
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal(amount)
    assert_invariant(invoice)


def test_full_refund_takes_the_invoice_back_to_open(invoice):
    _, payment = pay(invoice)
    refund_record(payment=payment, reference="re_1", amount="200.00")

    refund_record(payment=payment, reference="re_2", amount="1050.00")

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (BALANCE, InvoiceStatus.OPEN)
    payment.refresh_from_db()
    assert (payment.refunded_amount, payment.allocated_amount) == (BALANCE, Decimal("0"))
    assert_invariant(invoice)


def test_refund_comes_from_unapplied_money_first(invoice):
    payment = record_payment(invoice, "1500.00", applied=BALANCE)
    assert payment.unapplied_amount == Decimal("250.00")

    first = refund_record(payment=payment, reference="re_1", amount="200.00")

    assert not first.allocations.exists()
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)

    second = refund_record(payment=payment, reference="re_2", amount="100.00")

    # 50.00 unapplied were left; the other 50.00 reopen the invoice.
    assert [a.amount for a in second.allocations.all()] == [Decimal("50.00")]
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("50.00"), InvoiceStatus.PARTIALLY_PAID)
    payment.refresh_from_db()
    assert payment.unapplied_amount == Decimal("0")
    assert_invariant(invoice)


def test_refund_reopens_the_newest_allocation_first(org, customer):
    older = new_invoice(org, customer, Decimal("300.00"), "INV-OLD")
    newer = new_invoice(org, customer, Decimal("200.00"), "INV-NEW")
    payment = ledger.payment_record(
        organization=org,
        reference="wire-1",
        amount=Decimal("500.00"),
        currency="USD",
        allocations=[
            AllocationRequest(invoice=older, amount=Decimal("300.00")),
            AllocationRequest(invoice=newer, amount=Decimal("200.00")),
        ],
    )

    refund_record(payment=payment, reference="re_1", amount="250.00")

    older.refresh_from_db()
    newer.refresh_from_db()
    assert {older.balance, newer.balance} == {Decimal("50.00"), Decimal("200.00")}
    assert older.balance + newer.balance == Decimal("250.00")
    assert_invariant(older, newer)


@pytest.mark.parametrize("amount", ["1250.01", "5000.00", "0", "-1.00", "1.001"])
def test_refund_beyond_what_is_left_or_not_money_is_refused(invoice, amount):
    _, payment = pay(invoice)

    with pytest.raises(LedgerError):
        refund_record(payment=payment, reference="re_x", amount=amount)

    assert not Refund.objects.exists()
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)
    assert_invariant(invoice)


def test_refund_beyond_what_earlier_refunds_left_is_refused(invoice):
    _, payment = pay(invoice)
    refund_record(payment=payment, reference="re_1", amount="1000.00")

    with pytest.raises(LedgerError, match="left to refund"):
        refund_record(payment=payment, reference="re_2", amount="250.01")

    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("1000.00")
    refund_record(payment=payment, reference="re_3", amount="250.00")
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (BALANCE, InvoiceStatus.OPEN)
    assert_invariant(invoice)


def test_same_reference_twice_is_one_refund(invoice):
    _, payment = pay(invoice)

    first = refund_record(payment=payment, reference="re_same", amount="100.00")
    again = refund_record(payment=payment, reference="re_same", amount="100.00")

    assert first.pk == again.pk
    assert Refund.objects.count() == 1
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("100.00")
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("100.00")
    assert TimelineEvent.objects.filter(invoice=invoice, kind="refund_recorded").count() == 1


def test_refund_cannot_reopen_a_written_off_invoice(invoice, personas):
    _, payment = pay(invoice, amount="500.00")
    ledger.invoice_write_off(invoice=invoice, actor=personas.controller.user, reason="Settled")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF

    with pytest.raises(LedgerError, match="written off"):
        refund_record(payment=payment, reference="re_1", amount="100.00")

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.WRITTEN_OFF)
    assert not Refund.objects.exists()
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("0")
    assert_invariant(invoice)


def test_refund_cannot_reopen_a_void_invoice(invoice):
    _, payment = pay(invoice)
    # No service voids an invoice with payments applied; the refund refuses the state anyway.
    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.VOID)

    with pytest.raises(LedgerError, match="void"):
        refund_record(payment=payment, reference="re_1", amount="100.00")

    assert not Refund.objects.exists()
    assert not RefundAllocation.objects.exists()
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.VOID)


def test_refund_of_unapplied_money_on_a_written_off_invoice_is_allowed(invoice, personas):
    payment = record_payment(invoice, "600.00", applied="500.00")
    ledger.invoice_write_off(invoice=invoice, actor=personas.controller.user, reason="Settled")

    refund_record(payment=payment, reference="re_1", amount="100.00")

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF
    payment.refresh_from_db()
    assert (payment.refunded_amount, payment.unapplied_amount) == (Decimal("100.00"), Decimal("0"))
    assert_invariant(invoice)


# --- random sequences of payments and refunds -----------------------------------------------

OPS = st.lists(
    st.one_of(
        # pay: cents offered to the invoice, cents beyond it left unapplied
        st.tuples(st.just("pay"), st.integers(1, 150_000), st.integers(0, 30_000)),
        # refund: which payment, how many cents
        st.tuples(st.just("refund"), st.integers(0, 7), st.integers(1, 160_000)),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # No shrinking: each example writes to the database, and shrinking a failure would take
    # minutes. The explicit examples are the shapes that have failed before.
    phases=[Phase.explicit, Phase.generate],
)
@given(ops=OPS)
@example(ops=[("pay", 2, 1), ("refund", 0, 1)])
@example(ops=[("pay", 125_000, 0), ("refund", 0, 20_010)])
def test_random_payments_and_refunds_keep_the_balance_invariant(org, customer, ops):
    invoice = new_invoice(org, customer)
    payments: list[Payment] = []
    # The model: what each payment has applied and refunded, and the balance that implies.
    applied: dict[int, Decimal] = {}
    refunded: dict[int, Decimal] = {}
    balance = BALANCE

    for op in ops:
        if op[0] == "pay":
            offered = Decimal(op[1]) / 100
            share = min(offered, balance)
            amount = share + Decimal(op[2]) / 100
            if amount <= 0:
                continue
            payment = record_payment(invoice, amount, applied=share)
            payments.append(payment)
            applied[payment.pk], refunded[payment.pk] = share, Decimal("0")
            balance -= share
        else:
            if not payments:
                continue
            payment = payments[op[1] % len(payments)]
            amount = Decimal(op[2]) / 100
            left = payment.amount - refunded[payment.pk]
            if amount > left:
                with pytest.raises(LedgerError):
                    refund_record(payment=payment, reference=uuid.uuid4().hex, amount=amount)
            else:
                refund_record(payment=payment, reference=uuid.uuid4().hex, amount=amount)
                unapplied = payment.amount - applied[payment.pk] - refunded[payment.pk]
                reopened = amount - min(amount, unapplied)
                applied[payment.pk] -= reopened
                refunded[payment.pk] += amount
                balance += reopened

        invoice.refresh_from_db()
        assert invoice.balance == balance == invoice_balance_from_rows(invoice), ops
        if balance == 0:
            assert invoice.status == InvoiceStatus.PAID
        elif balance < invoice.amount:
            assert invoice.status == InvoiceStatus.PARTIALLY_PAID
        else:
            assert invoice.status == InvoiceStatus.OPEN
        for payment in payments:
            payment.refresh_from_db()
            assert payment.allocated_amount == applied[payment.pk]
            assert payment.refunded_amount == refunded[payment.pk]
            assert payment.allocated_amount + payment.refunded_amount <= payment.amount


# --- charge.refunded: cumulative amounts, in any order --------------------------------------


@pytest.fixture
def paid_by_stripe(client, invoice):
    """The invoice paid in full through a Stripe checkout; returns (payment intent, charge id)."""
    org = invoice.organization
    ss.connect(org)
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    response = ss.deliver(
        client,
        org,
        ss.envelope("checkout.session.completed", ss.session_object(checkout, payment_intent=pi)),
    )
    assert response.status_code == 200
    return pi, ss.new_id("ch")


def refunded_event(pi, charge_id, cumulative, refunds, *, currency="USD", created=None):
    charge = ss.charge_object(
        payment_intent=pi, amount=BALANCE, currency=currency, refunded=cumulative, refunds=refunds
    )
    charge["id"] = charge_id
    return ss.envelope("charge.refunded", charge, created=created)


def refund_objects(pi, charge_id, *amounts):
    return [
        ss.refund_object(payment_intent=pi, charge=charge_id, amount=amount, currency="USD")
        for amount in amounts
    ]


@pytest.mark.parametrize("order", ["100-then-40", "40-then-100"])
def test_cumulative_refund_amounts_in_any_order_refund_the_largest_once(
    client, invoice, paid_by_stripe, order
):
    org = invoice.organization
    pi, charge_id = paid_by_stripe
    first, second = refund_objects(pi, charge_id, "40.00", "60.00")
    forty = refunded_event(pi, charge_id, "40.00", [first], created=1_741_953_600)
    hundred = refunded_event(pi, charge_id, "100.00", [second, first], created=1_741_953_700)
    events = [hundred, forty] if order == "100-then-40" else [forty, hundred]

    for event in events + events:
        assert ss.deliver(client, org, event).status_code == 200

    payment = Payment.objects.get()
    assert payment.refunded_amount == Decimal("100.00")
    assert sum(Refund.objects.values_list("amount", flat=True), Decimal("0")) == Decimal("100.00")
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("100.00"), InvoiceStatus.PARTIALLY_PAID)
    assert set(
        StripeEvent.objects.filter(type="charge.refunded").values_list("status", flat=True)
    ) == {StripeEventStatus.PROCESSED}
    # A replay of everything changes nothing.
    webhooks.events_replay()
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("100.00")
    assert_invariant(invoice)


def test_refund_of_odd_cents_through_stripe_is_recorded(client, invoice, paid_by_stripe):
    # See test_refund_of_any_cent_amount_is_recorded: through Stripe such a refusal left the
    # event failed and Stripe answered 500, retrying for days.
    pi, charge_id = paid_by_stripe
    (refund,) = refund_objects(pi, charge_id, "200.10")

    response = ss.deliver(
        client, invoice.organization, refunded_event(pi, charge_id, "200.10", [refund])
    )

    assert response.status_code == 200, StripeEvent.objects.order_by("pk").last().error[-300:]
    assert Payment.objects.get().refunded_amount == Decimal("200.10")
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("200.10"), InvoiceStatus.PARTIALLY_PAID)


def test_refund_in_another_currency_is_flagged_not_applied(client, invoice, paid_by_stripe):
    pi, charge_id = paid_by_stripe
    event = refunded_event(pi, charge_id, "100.00", [], currency="EUR")

    ss.deliver(client, invoice.organization, event)

    assert StripeEvent.objects.get(event_id=event["id"]).status == StripeEventStatus.REVIEW
    assert not Refund.objects.exists()
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("0")


def test_refund_of_a_charge_plixo_never_took_waits_and_then_stays_waiting(client, invoice):
    ss.connect(invoice.organization)
    event = refunded_event(ss.new_id("pi"), ss.new_id("ch"), "100.00", [])

    assert ss.deliver(client, invoice.organization, event).status_code == 200

    stored = StripeEvent.objects.get()
    assert stored.status == StripeEventStatus.WAITING
    assert not Refund.objects.exists()


# --- chargebacks ------------------------------------------------------------------------------


def test_chargeback_reopens_the_invoice_and_opens_a_dispute_once(client, invoice, paid_by_stripe):
    org = invoice.organization
    pi, _ = paid_by_stripe
    dispute = ss.dispute_object(
        payment_intent=pi, amount="300.00", currency="USD", reason="product_not_received"
    )
    event = ss.envelope("charge.dispute.created", dispute)

    assert ss.deliver(client, org, event).status_code == 200

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("300.00"), InvoiceStatus.DISPUTED)
    opened = Dispute.objects.get(invoice=invoice)
    assert (opened.source, opened.amount, opened.reason_code) == (
        DisputeSource.STRIPE,
        Decimal("300.00"),
        "not_received",
    )
    assert dispute["id"] in opened.description
    payment = Payment.objects.get()
    assert payment.refunded_amount == Decimal("300.00")
    assert Refund.objects.get().reference == dispute["id"]

    # Delivered again, replayed, and sent again under a new event id: nothing more.
    assert ss.deliver(client, org, event).status_code == 200
    webhooks.events_replay()
    ss.deliver(client, org, ss.envelope("charge.dispute.created", dispute))

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("300.00"), InvoiceStatus.DISPUTED)
    assert Dispute.objects.count() == 1
    assert Refund.objects.count() == 1
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("300.00")
    assert StripeEvent.objects.get(event_id=event["id"]).deliveries == 2
    assert_invariant(invoice)


def test_chargeback_is_not_counted_as_a_refund_by_later_refund_events(
    client, invoice, paid_by_stripe
):
    org = invoice.organization
    pi, charge_id = paid_by_stripe
    ss.deliver(
        client,
        org,
        ss.envelope(
            "charge.dispute.created",
            ss.dispute_object(payment_intent=pi, amount="300.00", currency="USD"),
        ),
    )
    (refund,) = refund_objects(pi, charge_id, "100.00")

    ss.deliver(client, org, refunded_event(pi, charge_id, "100.00", [refund]))

    payment = Payment.objects.get()
    assert payment.refunded_amount == Decimal("400.00")
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("400.00")
    assert_invariant(invoice)


def test_chargeback_after_a_full_refund_is_acknowledged_without_effect(
    client, invoice, paid_by_stripe
):
    org = invoice.organization
    pi, charge_id = paid_by_stripe
    ss.deliver(
        client,
        org,
        refunded_event(pi, charge_id, BALANCE, refund_objects(pi, charge_id, BALANCE)),
    )
    event = ss.envelope(
        "charge.dispute.created",
        ss.dispute_object(payment_intent=pi, amount=BALANCE, currency="USD"),
    )

    assert ss.deliver(client, org, event).status_code == 200

    assert StripeEvent.objects.get(event_id=event["id"]).status == StripeEventStatus.IGNORED
    assert not Dispute.objects.exists()
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (BALANCE, InvoiceStatus.OPEN)


def test_the_invoice_pdf_adds_up_after_a_refund(invoice):
    from plixo.payments.documents import invoice_context

    payment = record_payment(invoice, "1250.00")
    refund_record(payment=payment, reference="re_pdf", amount="250.00", source="stripe")
    invoice.refresh_from_db()

    context = invoice_context(invoice)

    assert (context["paid"], context["balance"]) == ("$1,000.00", "$250.00")
    assert (context["payments"][-1]["method"], context["payments"][-1]["amount"]) == (
        "Refund",
        "−$250.00",
    )
