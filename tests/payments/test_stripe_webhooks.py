"""Stripe webhooks end to end, through `/webhooks/stripe/<org slug>/` with events built from
Stripe's own example objects and signed with Stripe's scheme: signatures, exactly one effect
whatever the order and however often Stripe delivers (R1), amounts that must match, declines
(PAY-3), partial payments (PAY-4) and zero- and three-decimal currencies."""

import copy
import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from plixo.disputes.models import Dispute, DisputeSource
from plixo.ledger import services as ledger
from plixo.ledger.models import InvoiceStatus, LedgerError, Payment, Refund, TimelineEvent
from plixo.ledger.services import invoice_balance_from_rows
from plixo.payments.models import (
    CheckoutStatus,
    Receipt,
    StripeEvent,
    StripeEventStatus,
    WebhookDelivery,
)
from plixo.payments.stripe import webhooks
from plixo.payments.stripe.checkout import stripe_amount
from plixo.payments.stripe.webhooks import event_review_close
from plixo.portal.selectors import portal_summary
from tests.payments import stripe_support as ss

BALANCE = Decimal("1250.00")


@pytest.fixture
def org(invoice):
    """The invoice's organization, connected to its Stripe account."""
    ss.connect(invoice.organization)
    return invoice.organization


def paid_session_event(checkout, **fields) -> dict:
    return ss.envelope("checkout.session.completed", ss.session_object(checkout, **fields))


def timeline(invoice, kind: str) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(invoice=invoice, kind=kind).order_by("at", "id"))


def assert_untouched(invoice) -> None:
    """Nothing the webhook could have changed has changed."""
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (BALANCE, InvoiceStatus.OPEN)
    assert not StripeEvent.objects.exists()
    assert not Payment.objects.exists()
    assert not Receipt.objects.exists()
    assert not timeline(invoice, "payment_recorded")


def assert_ledger_consistent(invoice) -> None:
    invoice.refresh_from_db()
    assert invoice.balance == invoice_balance_from_rows(invoice)
    for payment in Payment.objects.filter(organization_id=invoice.organization_id):
        assert payment.allocated_amount + payment.refunded_amount <= payment.amount


# --- signatures ------------------------------------------------------------------------------


def test_valid_signature_is_answered_200_and_applied(client, org, invoice):
    checkout = ss.stripe_checkout(invoice)
    event = paid_session_event(checkout)

    response = ss.deliver(client, org, event)

    assert response.status_code == 200, response.content
    assert response.json()["event"] == event["id"]
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.status, stored.invoice_id) == (
        event["id"],
        StripeEventStatus.PROCESSED,
        invoice.pk,
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.verified is True
    assert delivery.event_id == stored.pk
    assert bytes(delivery.body) == ss.body_of(event)


def test_tampered_body_with_the_original_signature_is_refused_and_changes_nothing(
    client, org, invoice
):
    checkout = ss.stripe_checkout(invoice)
    event = paid_session_event(checkout)
    header = ss.signature(ss.body_of(event))
    forged = copy.deepcopy(event)
    forged["data"]["object"]["amount_total"] = 100  # "I paid 1.00 for the whole invoice"
    forged_body = ss.body_of(forged)

    response = ss.post_signed(client, org, forged_body, header)

    assert response.status_code == 400
    assert_untouched(invoice)
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.OPEN
    delivery = WebhookDelivery.objects.get()
    assert delivery.verified is False
    assert bytes(delivery.body) == forged_body
    assert "Signature" in delivery.rejection
    assert delivery.event_id is None


def test_signature_made_with_another_secret_is_refused(client, org, invoice):
    event = paid_session_event(ss.stripe_checkout(invoice))

    response = ss.deliver(client, org, event, secret="whsec_" + "someoneElsesSecret012345")

    assert response.status_code == 400
    assert_untouched(invoice)
    assert WebhookDelivery.objects.get().verified is False


@pytest.mark.parametrize(("age", "status"), [(301, 400), (299, 200)])
def test_signature_older_than_300_seconds_is_refused(client, org, invoice, age, status):
    event = paid_session_event(ss.stripe_checkout(invoice))
    now = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)

    with time_machine.travel(now, tick=False):
        response = ss.deliver(client, org, event, timestamp=now.timestamp() - age)

    assert response.status_code == status, response.content
    invoice.refresh_from_db()
    if status == 400:
        assert_untouched(invoice)
        assert WebhookDelivery.objects.get().verified is False
    else:
        assert invoice.status == InvoiceStatus.PAID
        assert Payment.objects.count() == 1


def test_missing_signature_header_is_refused(client, org, invoice):
    event = paid_session_event(ss.stripe_checkout(invoice))

    response = ss.post_signed(client, org, ss.body_of(event), None)

    assert response.status_code == 400
    assert_untouched(invoice)
    delivery = WebhookDelivery.objects.get()
    assert delivery.verified is False
    assert "missing" in delivery.rejection


def test_organization_without_stripe_keys_refuses_deliveries(client, invoice):
    event = paid_session_event(ss.stripe_checkout(invoice))

    response = ss.deliver(client, invoice.organization, event)

    assert response.status_code == 400
    assert_untouched(invoice)
    assert "not connected" in WebhookDelivery.objects.get().rejection


def test_unknown_organization_slug_is_404(client, org, invoice):
    event = paid_session_event(ss.stripe_checkout(invoice))
    body = ss.body_of(event)

    response = client.post(
        "/webhooks/stripe/no-such-org/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=ss.signature(body),
    )

    assert response.status_code == 404
    assert_untouched(invoice)
    assert not WebhookDelivery.objects.exists()


def test_oversized_body_is_413(client, org, invoice):
    body = b'{"id":"evt_big","pad":"' + b"x" * webhooks.MAX_BODY_BYTES + b'"}'

    response = ss.post_signed(client, org, body, ss.signature(body))

    assert response.status_code == 413
    assert_untouched(invoice)
    # The service refuses it too when no Content-Length was there to check first.
    answer = webhooks.webhook_receive(organization=org, body=body, signature=ss.signature(body))
    assert answer.status_code == 413
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"this is not json", b"[1, 2, 3]", b'{"id": "evt_1", "type": "x"}', b"\xff\xfe{}"],
    ids=["text", "json-list", "not-an-event", "not-utf8"],
)
def test_validly_signed_body_that_is_not_a_stripe_event_is_400(client, org, invoice, body):
    response = ss.post_signed(client, org, body, ss.signature(body))

    assert response.status_code == 400
    assert_untouched(invoice)
    assert WebhookDelivery.objects.get().verified is False


def test_get_is_405(client, org):
    assert client.get(f"/webhooks/stripe/{org.slug}/").status_code == 405
    assert not WebhookDelivery.objects.exists()


# --- R1: every event 3 times, shuffled with its siblings → one effect ------------------------

T0 = 1_741_953_600  # Stripe's `created` of the first event of a scenario (2025-03-14)


@dataclass
class Scenario:
    events: list[dict]
    balance: Decimal
    status: str
    method: str | None = "card"
    refunded: Decimal = Decimal("0")
    disputes: int = 0
    ignored_types: set[str] = field(default_factory=set)


def _card(invoice) -> Scenario:
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    intent = ss.stripe_object(
        "payment_intent",
        id=pi,
        amount=125000,
        currency="usd",
        status="succeeded",
        metadata=ss.checkout_metadata(checkout),
    )
    charge = ss.charge_object(payment_intent=pi, amount=BALANCE, currency="USD")
    return Scenario(
        events=[
            ss.envelope("payment_intent.succeeded", intent, created=T0),
            ss.envelope("charge.succeeded", charge, created=T0),
            ss.envelope(
                "checkout.session.completed",
                ss.session_object(checkout, payment_intent=pi),
                created=T0 + 1,
            ),
        ],
        balance=Decimal("0"),
        status=InvoiceStatus.PAID,
        ignored_types={"payment_intent.succeeded", "charge.succeeded"},
    )


def _ach(invoice) -> Scenario:
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    unpaid = ss.session_object(checkout, payment_status="unpaid", payment_intent=pi)
    paid = dict(unpaid, payment_status="paid")
    return Scenario(
        events=[
            ss.envelope("checkout.session.completed", unpaid, created=T0),
            ss.envelope("checkout.session.async_payment_succeeded", paid, created=T0 + 86_400 * 3),
        ],
        balance=Decimal("0"),
        status=InvoiceStatus.PAID,
        method="ach",
    )


def _decline_then_success(invoice) -> Scenario:
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    return Scenario(
        events=[
            ss.envelope(
                "payment_intent.payment_failed",
                ss.payment_intent_failed_object(
                    checkout, payment_intent=pi, decline_code="insufficient_funds"
                ),
                created=T0,
            ),
            ss.envelope(
                "checkout.session.completed",
                ss.session_object(checkout, payment_intent=pi),
                created=T0 + 60,
            ),
        ],
        balance=Decimal("0"),
        status=InvoiceStatus.PAID,
    )


def _refunded_partly_then_fully(invoice) -> Scenario:
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    charge_id = ss.new_id("ch")
    first = ss.refund_object(payment_intent=pi, charge=charge_id, amount="500.00", currency="USD")
    second = ss.refund_object(payment_intent=pi, charge=charge_id, amount="750.00", currency="USD")
    partly = ss.charge_object(
        payment_intent=pi, amount=BALANCE, currency="USD", refunded="500.00", refunds=[first]
    )
    # Stripe lists a charge's refunds newest first; `amount_refunded` is cumulative.
    fully = ss.charge_object(
        payment_intent=pi, amount=BALANCE, currency="USD", refunded=BALANCE, refunds=[second, first]
    )
    partly["id"] = fully["id"] = charge_id
    return Scenario(
        events=[
            ss.envelope(
                "checkout.session.completed",
                ss.session_object(checkout, payment_intent=pi),
                created=T0,
            ),
            ss.envelope("charge.refunded", partly, created=T0 + 3_600),
            ss.envelope("charge.refunded", fully, created=T0 + 7_200),
        ],
        balance=BALANCE,
        status=InvoiceStatus.OPEN,
        refunded=BALANCE,
    )


def _chargeback(invoice) -> Scenario:
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    return Scenario(
        events=[
            ss.envelope(
                "checkout.session.completed",
                ss.session_object(checkout, payment_intent=pi),
                created=T0,
            ),
            ss.envelope(
                "charge.dispute.created",
                ss.dispute_object(payment_intent=pi, amount=BALANCE, currency="USD"),
                created=T0 + 86_400,
            ),
        ],
        balance=BALANCE,
        status=InvoiceStatus.DISPUTED,
        refunded=BALANCE,
        disputes=1,
    )


SCENARIOS = {
    "card": _card,
    "ach": _ach,
    "decline-then-success": _decline_then_success,
    "refund-partly-then-fully": _refunded_partly_then_fully,
    "chargeback": _chargeback,
}
SEEDS = range(6)


def deliver_shuffled(client, org, events: list[dict], seed: int, times: int = 3) -> list[str]:
    """Every event `times` times, in an order drawn from `seed`; returns the order, as
    "type#index" with the event's index in `events`, for failure messages."""
    deliveries = [index for index in range(len(events)) for _ in range(times)]
    random.Random(seed).shuffle(deliveries)
    for index in deliveries:
        response = ss.deliver(client, org, events[index])
        assert response.status_code == 200, (events[index]["type"], response.content)
    return [f"{events[index]['type']}#{index}" for index in deliveries]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_event_three_times_shuffled_has_one_effect(client, org, invoice, name, seed):
    scenario = SCENARIOS[name](invoice)

    order = deliver_shuffled(client, org, scenario.events, seed)

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (scenario.balance, scenario.status), order
    payment = Payment.objects.get()
    assert payment.amount == BALANCE
    assert payment.method == scenario.method
    assert payment.refunded_amount == scenario.refunded
    assert Receipt.objects.count() == 1
    refunded = sum(Refund.objects.values_list("amount", flat=True), Decimal("0"))
    assert refunded == scenario.refunded
    assert Dispute.objects.filter(invoice=invoice, source=DisputeSource.STRIPE).count() == (
        scenario.disputes
    )
    assert len(timeline(invoice, "payment_recorded")) == 1
    events = StripeEvent.objects.all()
    assert events.count() == len(scenario.events)
    for event in events:
        assert event.deliveries == 3, event
        wanted = (
            StripeEventStatus.IGNORED
            if event.type in scenario.ignored_types
            else StripeEventStatus.PROCESSED
        )
        assert event.status == wanted, (event, event.error, order)
    assert_ledger_consistent(invoice)


def test_ach_success_before_its_unpaid_completion_still_ends_paid(client, org, invoice):
    completed, succeeded = _ach(invoice).events

    assert ss.deliver(client, org, succeeded).status_code == 200
    assert ss.deliver(client, org, completed).status_code == 200

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    checkout = invoice.checkouts.get()
    assert checkout.status == CheckoutStatus.COMPLETED
    assert Payment.objects.get().method == "ach"
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {
        StripeEventStatus.PROCESSED
    }


def test_ach_completion_waits_unpaid_until_the_debit_settles(client, org, invoice):
    completed, succeeded = _ach(invoice).events

    ss.deliver(client, org, completed)

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (BALANCE, InvoiceStatus.OPEN)
    assert invoice.checkouts.get().status == CheckoutStatus.PROCESSING
    assert not Payment.objects.exists()
    assert len(timeline(invoice, "payment_processing")) == 1

    ss.deliver(client, org, succeeded)

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)


def test_ach_debit_that_fails_records_nothing_and_lets_the_payer_retry(client, org, invoice):
    completed, succeeded = _ach(invoice).events
    failed = ss.envelope("checkout.session.async_payment_failed", succeeded["data"]["object"])

    ss.deliver(client, org, completed)
    ss.deliver(client, org, failed)

    checkout = invoice.checkouts.get()
    assert checkout.status == CheckoutStatus.FAILED
    assert checkout.failure_code == "bank_debit_failed"
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (BALANCE, InvoiceStatus.OPEN)


@pytest.mark.parametrize("seed", SEEDS)
def test_failed_ach_debit_shuffled_with_its_siblings_is_one_failure(client, org, invoice, seed):
    # Whatever the order: an `async_payment_failed` before the unpaid
    # `checkout.session.completed` must not send the checkout back to processing, and the
    # debit's `payment_intent.payment_failed` after it must not count a second failure.
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    unpaid = ss.session_object(checkout, payment_status="unpaid", payment_intent=pi)
    intent = ss.payment_intent_failed_object(
        checkout,
        payment_intent=pi,
        code="payment_method_provider_decline",
        message="The customer's bank account could not be debited.",
    )
    events = [
        ss.envelope("checkout.session.completed", unpaid, created=T0),
        ss.envelope("payment_intent.payment_failed", intent, created=T0 + 86_400 * 3),
        ss.envelope("checkout.session.async_payment_failed", unpaid, created=T0 + 86_400 * 3),
    ]

    order = deliver_shuffled(client, org, events, seed)

    checkout.refresh_from_db()
    assert (checkout.status, checkout.attempts) == (CheckoutStatus.FAILED, 1), order
    assert len(timeline(invoice, "payment_failed")) == 1, order
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (BALANCE, InvoiceStatus.OPEN)
    assert not portal_summary(invoice=invoice).payment_processing  # the payer can pay again
    assert set(StripeEvent.objects.values_list("deliveries", flat=True)) == {3}


def test_refund_before_its_payment_ends_in_the_right_balance(client, org, invoice):
    completed, partly, _fully = _refunded_partly_then_fully(invoice).events

    ss.deliver(client, org, partly)

    waiting = StripeEvent.objects.get(event_id=partly["id"])
    assert waiting.status == StripeEventStatus.WAITING
    assert waiting.waits_for == completed["data"]["object"]["payment_intent"]
    invoice.refresh_from_db()
    assert invoice.balance == BALANCE
    assert not Refund.objects.exists()

    ss.deliver(client, org, completed)

    waiting.refresh_from_db()
    assert waiting.status == StripeEventStatus.PROCESSED
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("500.00"), InvoiceStatus.PARTIALLY_PAID)
    assert Payment.objects.get().refunded_amount == Decimal("500.00")
    assert_ledger_consistent(invoice)


# --- amount or currency other than Plixo asked for -------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [{"amount_total": 100_000}, {"amount_total": 125_001}, {"currency": "eur"}],
    ids=["less", "one-cent-more", "other-currency"],
)
@pytest.mark.parametrize("payment_status", ["paid", "unpaid"])
def test_mismatched_amount_or_currency_is_flagged_for_review_and_not_applied(
    client, org, invoice, personas, fields, payment_status
):
    checkout = ss.stripe_checkout(invoice)
    event = ss.envelope(
        "checkout.session.completed",
        ss.session_object(checkout, payment_status=payment_status, **fields),
    )

    response = ss.deliver(client, org, event)

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.status == StripeEventStatus.REVIEW
    assert stored.invoice_id == invoice.pk
    assert not Payment.objects.exists()
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.OPEN
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (BALANCE, InvoiceStatus.OPEN)
    (flag,) = timeline(invoice, "payment_review")
    assert flag.data["session"] == checkout.provider_ref
    assert flag.data["payment_intent"] == event["data"]["object"]["payment_intent"]
    # The message says what Plixo asked for: the amount, or the currency that differs.
    assert ("EUR" if "currency" in fields else "1250.00 USD") in flag.data["message"]

    # Delivered again: still one flag, still nothing applied.
    ss.deliver(client, org, event)
    assert len(timeline(invoice, "payment_review")) == 1
    assert not Payment.objects.exists()

    # A person closes it, with a note.
    with pytest.raises(LedgerError, match="note is required"):
        event_review_close(event=stored, actor=personas.controller.user, note="  ")
    closed = event_review_close(
        event=stored, actor=personas.controller.user, note="Refunded in Stripe; payer re-paid."
    )
    assert closed.status == StripeEventStatus.REVIEWED
    assert closed.reviewed_by == personas.controller.user
    (reviewed,) = timeline(invoice, "payment_reviewed")
    assert reviewed.data["note"] == "Refunded in Stripe; payer re-paid."
    with pytest.raises(LedgerError, match="not waiting for review"):
        event_review_close(event=stored, actor=personas.controller.user, note="again")
    # A later delivery or a replay leaves a reviewed event alone.
    ss.deliver(client, org, event)
    webhooks.events_replay()
    stored.refresh_from_db()
    assert stored.status == StripeEventStatus.REVIEWED
    assert not Payment.objects.exists()


def test_review_flag_keeps_the_amount_in_the_currencys_own_decimals(client, org, invoice):
    # Money columns keep four decimals; the timeline stores amounts in the currency's own
    # ("1250.00", JPY "120000"), as every other entry does.
    checkout = ss.stripe_checkout(invoice)
    event = ss.envelope("checkout.session.completed", ss.session_object(checkout, amount_total=1))

    ss.deliver(client, org, event)

    (flag,) = timeline(invoice, "payment_review")
    assert (flag.data["amount"], flag.data["currency"]) == ("1250.00", "USD")


def test_mismatched_ach_success_is_flagged_for_review(client, org, invoice):
    checkout = ss.stripe_checkout(invoice)
    obj = ss.session_object(checkout, amount_total=1)
    ss.deliver(client, org, ss.envelope("checkout.session.async_payment_succeeded", obj))

    assert StripeEvent.objects.get().status == StripeEventStatus.REVIEW
    assert not Payment.objects.exists()
    assert len(timeline(invoice, "payment_review")) == 1


# --- declines (PAY-3) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "decline_code", "message", "shown"),
    [
        ("card_declined", "insufficient_funds", "Your card has insufficient funds.", None),
        ("card_declined", "generic_decline", "Your card was declined.", None),
        ("expired_card", None, "Your card has expired.", "expired_card"),
        ("incorrect_cvc", None, "Your card's security code is incorrect.", "incorrect_cvc"),
    ],
)
def test_decline_goes_on_the_timeline_and_the_payer_can_pay_after(
    client, org, invoice, code, decline_code, message, shown
):
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    failed = ss.envelope(
        "payment_intent.payment_failed",
        ss.payment_intent_failed_object(
            checkout, payment_intent=pi, code=code, decline_code=decline_code, message=message
        ),
    )

    assert ss.deliver(client, org, failed).status_code == 200

    checkout.refresh_from_db()
    expected_code = shown or decline_code
    assert (checkout.status, checkout.failure_code, checkout.attempts) == (
        CheckoutStatus.FAILED,
        expected_code,
        1,
    )
    (entry,) = timeline(invoice, "payment_failed")
    assert (entry.data["code"], entry.data["message"]) == (expected_code, message)
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (BALANCE, InvoiceStatus.OPEN)
    assert not Payment.objects.exists()

    # The payer tries another card on Stripe's page; the session completes paid.
    response = ss.deliver(client, org, paid_session_event(checkout, payment_intent=pi))
    assert response.status_code == 200

    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.COMPLETED
    assert checkout.failure_code == ""
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)
    # The same decline delivered late changes nothing.
    ss.deliver(client, org, failed)
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.COMPLETED
    assert len(timeline(invoice, "payment_failed")) == 1


def test_second_decline_counts_a_second_attempt(client, org, invoice):
    checkout = ss.stripe_checkout(invoice)
    for code in ("insufficient_funds", "do_not_honor"):
        obj = ss.payment_intent_failed_object(
            checkout, payment_intent=ss.new_id("pi"), decline_code=code
        )
        ss.deliver(client, org, ss.envelope("payment_intent.payment_failed", obj))

    checkout.refresh_from_db()
    assert (checkout.attempts, checkout.failure_code) == (2, "do_not_honor")
    assert [e.data["code"] for e in timeline(invoice, "payment_failed")] == [
        "insufficient_funds",
        "do_not_honor",
    ]


def test_decline_after_the_payment_landed_is_not_a_failure(client, org, invoice):
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    ss.deliver(client, org, paid_session_event(checkout, payment_intent=pi))
    late = ss.payment_intent_failed_object(checkout, payment_intent=pi)

    response = ss.deliver(client, org, ss.envelope("payment_intent.payment_failed", late))
    assert response.status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.COMPLETED
    assert not timeline(invoice, "payment_failed")


# --- events Plixo has nothing to do with -----------------------------------------------------


def test_unknown_event_type_is_stored_and_acknowledged(client, org, invoice):
    event = ss.envelope("customer.created", ss.stripe_object("customer"))

    response = ss.deliver(client, org, event)

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.type, stored.status) == (
        event["id"],
        "customer.created",
        StripeEventStatus.IGNORED,
    )
    assert stored.payload == event
    invoice.refresh_from_db()
    assert invoice.balance == BALANCE


def test_session_plixo_never_created_is_ignored(client, org, invoice):
    foreign = ss.stripe_object(
        "checkout.session",
        id=ss.new_id("cs_test"),
        payment_status="paid",
        status="complete",
        amount_total=125000,
        currency="usd",
        client_reference_id=None,
        metadata={},
        payment_intent=ss.new_id("pi"),
    )
    before = TimelineEvent.objects.count()

    response = ss.deliver(client, org, ss.envelope("checkout.session.completed", foreign))

    assert response.status_code == 200
    assert StripeEvent.objects.get().status == StripeEventStatus.IGNORED
    assert not Payment.objects.exists()
    assert TimelineEvent.objects.count() == before
    invoice.refresh_from_db()
    assert invoice.balance == BALANCE


def test_another_organizations_checkout_is_never_applied_here(client, org, invoice, personas):
    other = personas.other_org
    customer = ledger.customer_create(organization=other, external_id="G-1", name="Globex Buyer")
    today = timezone.now().date()
    theirs = ledger.invoice_create(
        organization=other,
        customer=customer,
        number="G-100",
        issue_date=today,
        due_date=today,
        currency="USD",
        amount=BALANCE,
    )
    event = paid_session_event(ss.stripe_checkout(theirs))

    response = ss.deliver(client, org, event)  # to acme's URL, with acme's secret

    assert response.status_code == 200
    assert StripeEvent.objects.get(organization=org).status == StripeEventStatus.IGNORED
    assert not Payment.objects.exists()
    theirs.refresh_from_db()
    invoice.refresh_from_db()
    assert theirs.balance == invoice.balance == BALANCE

    # The same event at its own organization's endpoint is applied there (and only there).
    ss.connect(other)
    assert ss.deliver(client, other, event).status_code == 200
    theirs.refresh_from_db()
    assert theirs.status == InvoiceStatus.PAID
    assert Payment.objects.get().organization == other
    invoice.refresh_from_db()
    assert invoice.balance == BALANCE


# --- partial payments (PAY-4) and currencies --------------------------------------------------


def test_partial_payment_leaves_the_invoice_partially_paid(client, org, invoice):
    org.allow_partial_payments = True
    org.save(update_fields=["allow_partial_payments"])
    checkout = ss.stripe_checkout(invoice, amount=Decimal("400.00"))
    session = ss.session_object(checkout)
    assert session["amount_total"] == 40000

    ss.deliver(client, org, ss.envelope("checkout.session.completed", session))

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("850.00"), InvoiceStatus.PARTIALLY_PAID)
    assert Payment.objects.get().amount == Decimal("400.00")

    rest = ss.stripe_checkout(invoice)
    ss.deliver(client, org, paid_session_event(rest))

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)
    assert Payment.objects.count() == 2
    assert_ledger_consistent(invoice)


@pytest.mark.parametrize(
    ("currency", "amount", "units"),
    [
        ("JPY", Decimal("120000"), 120000),
        ("KWD", Decimal("12.340"), 12340),
        ("USD", Decimal("1250.00"), 125000),
    ],
)
def test_amounts_in_stripe_units_convert_with_the_currencys_own_decimals(
    client, org, customer, currency, amount, units
):
    today = timezone.now().date()
    invoice = ledger.invoice_create(
        organization=org,
        customer=customer,
        number=f"INV-{currency}",
        issue_date=today,
        due_date=today,
        currency=currency,
        amount=amount,
    )
    checkout = ss.stripe_checkout(invoice)
    assert stripe_amount(amount, currency) == units

    session = ss.session_object(checkout, amount_total=units, currency=currency.lower())
    response = ss.deliver(client, org, ss.envelope("checkout.session.completed", session))
    assert response.status_code == 200

    payment = Payment.objects.get()
    assert (payment.amount, payment.currency) == (amount, currency)
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)


@pytest.mark.parametrize(
    ("currency", "amount", "wrong_units"),
    [("JPY", Decimal("120000"), 12000000), ("KWD", Decimal("12.340"), 1234)],
    ids=["jpy-read-as-cents", "kwd-read-as-cents"],
)
def test_units_read_with_the_wrong_decimals_are_a_mismatch(
    client, org, customer, currency, amount, wrong_units
):
    today = timezone.now().date()
    invoice = ledger.invoice_create(
        organization=org,
        customer=customer,
        number=f"INV-{currency}",
        issue_date=today,
        due_date=today,
        currency=currency,
        amount=amount,
    )
    checkout = ss.stripe_checkout(invoice)
    session = ss.session_object(checkout, amount_total=wrong_units, currency=currency.lower())

    ss.deliver(client, org, ss.envelope("checkout.session.completed", session))

    assert StripeEvent.objects.get().status == StripeEventStatus.REVIEW
    assert not Payment.objects.exists()
