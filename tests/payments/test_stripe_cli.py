"""`plixo stripe connect|disconnect|status|replay|rotate-keys`: keys stored encrypted and never
printed back, exit codes, and replays that apply what waited or failed without doubling
anything."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from plixo.core.crypto import SecretUnreadable
from plixo.ledger.models import InvoiceStatus, Payment, Refund, TimelineEvent
from plixo.ledger.services import invoice_balance_from_rows
from plixo.payments import services as payments
from plixo.payments.models import Receipt, StripeAccount, StripeEvent, StripeEventStatus
from plixo.payments.providers import provider_for
from plixo.payments.stripe import handlers
from tests.payments import stripe_support as ss

SECRET_KEY = "sk_test_" + "51NcLiveLooking0Key9876WXYZ"
WEBHOOK_SECRET = "whsec_" + "endpointSigningSecret4321abcd"


def run(*args) -> dict:
    """Run the command with --json and return its one JSON object."""
    out = StringIO()
    call_command("stripe", *args, "--json", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def run_text(*args) -> str:
    out = StringIO()
    call_command("stripe", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def connect_args(slug="acme", secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET):
    return (
        "connect",
        "--org",
        slug,
        "--secret-key",
        secret_key,
        "--webhook-secret",
        webhook_secret,
    )


def stored_row_text() -> str:
    """Everything the database holds for Stripe accounts, as the database has it."""
    table = connection.ops.quote_name(StripeAccount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (a model's own table name)
        rows = cursor.fetchall()
    assert rows
    return repr(rows)


# --- connect / status / disconnect ----------------------------------------------------------


def test_connect_stores_the_keys_encrypted_and_shows_only_their_last_four(personas):
    result = run(*connect_args())

    assert result["connected"] is True
    assert result["organization"] == "acme"
    assert result["mode"] == "test"
    assert result["secret_key"] == "sk_test_••••WXYZ"
    assert result["webhook_secret"] == "whsec_••••abcd"
    assert result["webhook_url"].endswith("/webhooks/stripe/acme/")
    printed = json.dumps(result, ensure_ascii=False)
    for secret in (SECRET_KEY, WEBHOOK_SECRET, SECRET_KEY[8:], WEBHOOK_SECRET[6:]):
        assert secret not in printed
    row = stored_row_text()
    for secret in (SECRET_KEY, WEBHOOK_SECRET, SECRET_KEY[8:], WEBHOOK_SECRET[6:]):
        assert secret not in row
    account = StripeAccount.objects.get(organization=personas.org)
    assert (account.secret_key, account.webhook_secret) == (SECRET_KEY, WEBHOOK_SECRET)


def test_status_and_disconnect(personas):
    run(*connect_args())

    status = run("status", "--org", "acme")
    assert (status["connected"], status["secret_key"]) == (True, "sk_test_••••WXYZ")
    assert (status["events_failed"], status["events_waiting"], status["events_review"]) == (0, 0, 0)
    text = run_text("status", "--org", "acme")
    assert "sk_test_••••WXYZ" in text
    assert SECRET_KEY not in text

    assert run("disconnect", "--org", "acme") == {"organization": "acme", "disconnected": True}
    # The keys stay (webhooks for money on its way still verify); payers use the sandbox.
    assert StripeAccount.objects.get(organization=personas.org).disconnected_at is not None
    assert provider_for(personas.org).name == "sandbox"
    status = run("status", "--org", "acme")
    assert (status["connected"], status["mode"]) == (False, None)
    assert run("disconnect", "--org", "acme")["disconnected"] is False


def test_live_key_is_reported_as_live_mode(personas):
    result = run(*connect_args(secret_key="sk_live_" + "51NcAnotherKey0000LIVE"))
    assert result["mode"] == "live"


def test_connecting_again_replaces_the_keys(personas):
    run(*connect_args())
    run(*connect_args(secret_key="rk_test_" + "restricted0000NEWK"))

    account = StripeAccount.objects.get()
    assert account.secret_key == "rk_test_" + "restricted0000NEWK"
    assert account.secret_key_hint == "rk_test_••••NEWK"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (connect_args(secret_key="pk_test_" + "publishableKey0000"), "secret key"),
        (connect_args(secret_key="sk_test_short"), "secret key"),
        (connect_args(webhook_secret="not-a-signing-secret"), "whsec_"),
        (connect_args(slug="no-such-org"), "No organization"),
        (("connect", "--org", "acme", "--secret-key", SECRET_KEY), "--webhook-secret"),
        (("connect", "--secret-key", SECRET_KEY, "--webhook-secret", WEBHOOK_SECRET), "--org"),
        (("status",), "--org"),
        (("teleport", "--org", "acme"), "Unknown action"),
    ],
    ids=[
        "publishable-key",
        "short-key",
        "bad-webhook-secret",
        "unknown-org",
        "no-webhook-secret",
        "no-org",
        "status-without-org",
        "unknown-action",
    ],
)
def test_bad_usage_exits_2_and_stores_nothing(personas, args, message):
    out = StringIO()
    with pytest.raises(CommandError, match=message) as raised:
        call_command("stripe", *args, "--json", stdout=out, stderr=StringIO())

    assert raised.value.returncode == 2
    assert message in json.loads(out.getvalue())["error"]
    assert not StripeAccount.objects.exists()


# --- rotate-keys ----------------------------------------------------------------------------


def test_rotate_keys_moves_stored_keys_to_the_new_encryption_key(personas):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(PLIXO_ENCRYPTION_KEYS=[old]):
        run(*connect_args())
        before = StripeAccount.objects.get().secret_key_encrypted

    with override_settings(PLIXO_ENCRYPTION_KEYS=[new, old]):
        assert StripeAccount.objects.get().secret_key == SECRET_KEY  # still readable
        assert run("rotate-keys") == {"reencrypted": 1}

    account = StripeAccount.objects.get()
    assert account.secret_key_encrypted != before
    with override_settings(PLIXO_ENCRYPTION_KEYS=[new]):
        assert (account.secret_key, account.webhook_secret) == (SECRET_KEY, WEBHOOK_SECRET)
    with override_settings(PLIXO_ENCRYPTION_KEYS=[old]), pytest.raises(SecretUnreadable):
        account.secret_key  # noqa: B018 (reading it is the test)
    assert stored_row_text().count(SECRET_KEY) == 0


def test_rotate_keys_with_nothing_stored(personas):
    assert run("rotate-keys") == {"reencrypted": 0}


# --- replay ---------------------------------------------------------------------------------


@pytest.fixture
def org(invoice):
    ss.connect(invoice.organization)
    return invoice.organization


def snapshot(invoice) -> tuple:
    invoice.refresh_from_db()
    return (
        invoice.balance,
        invoice.status,
        Payment.objects.count(),
        sum(Payment.objects.values_list("refunded_amount", flat=True), Decimal("0")),
        Refund.objects.count(),
        Receipt.objects.count(),
        TimelineEvent.objects.filter(invoice=invoice).count(),
    )


def test_replay_failed_applies_a_refund_that_waited_for_a_payment_recorded_another_way(
    client, org, invoice
):
    checkout = ss.stripe_checkout(invoice)
    pi, charge_id = ss.new_id("pi"), ss.new_id("ch")
    refund = ss.refund_object(payment_intent=pi, charge=charge_id, amount="200.00", currency="USD")
    charge = ss.charge_object(
        payment_intent=pi, amount="1250.00", currency="USD", refunded="200.00", refunds=[refund]
    )
    refunded = ss.envelope("charge.refunded", charge)
    ss.deliver(client, org, refunded)
    assert StripeEvent.objects.get().status == StripeEventStatus.WAITING
    assert run("status", "--org", org.slug)["events_waiting"] == 1
    # The payment arrives by another road than its webhook (recorded by hand from Stripe's
    # dashboard), so nothing wakes the waiting refund.
    payments.checkout_complete(checkout=checkout, provider_ref=pi, amount="1250.00", currency="USD")
    assert StripeEvent.objects.get().status == StripeEventStatus.WAITING

    result = run("replay", "--failed")

    assert result == {"replayed": 1, "by_status": {"processed": 1}}
    assert StripeEvent.objects.get().status == StripeEventStatus.PROCESSED
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("200.00"), InvoiceStatus.PARTIALLY_PAID)
    assert invoice.balance == invoice_balance_from_rows(invoice)

    # Replaying everything changes nothing.
    before = snapshot(invoice)
    again = run("replay")
    assert again["replayed"] == 1
    assert snapshot(invoice) == before
    assert run("replay", "--failed") == {"replayed": 0, "by_status": {}}


def test_replay_of_everything_is_idempotent(client, org, invoice):
    checkout = ss.stripe_checkout(invoice, amount=Decimal("1000.00"))
    pi = ss.new_id("pi")
    events = [
        ss.envelope("checkout.session.completed", ss.session_object(checkout, payment_intent=pi)),
        ss.envelope(
            "charge.dispute.created",
            ss.dispute_object(payment_intent=pi, amount="100.00", currency="USD"),
        ),
        ss.envelope(
            "payment_intent.payment_failed",
            ss.payment_intent_failed_object(checkout, payment_intent=pi),
        ),
        ss.envelope("customer.created", ss.stripe_object("customer")),
    ]
    for event in events:
        assert ss.deliver(client, org, event).status_code == 200
    before = snapshot(invoice)
    statuses = dict(StripeEvent.objects.values_list("event_id", "status"))

    for _ in range(2):
        result = run("replay", "--org", org.slug)
        assert result["replayed"] == len(events)

    assert snapshot(invoice) == before
    assert dict(StripeEvent.objects.values_list("event_id", "status")) == statuses


def test_failing_handler_keeps_the_error_and_replay_applies_the_event_once_fixed(
    client, org, invoice, monkeypatch
):
    def broken(event, obj):
        raise RuntimeError("ledger unavailable: simulated outage")

    monkeypatch.setitem(handlers.HANDLERS, "checkout.session.completed", broken)
    event = ss.envelope(
        "checkout.session.completed", ss.session_object(ss.stripe_checkout(invoice))
    )

    response = ss.deliver(client, org, event)

    assert response.status_code == 500  # so Stripe retries
    stored = StripeEvent.objects.get()
    assert stored.status == StripeEventStatus.FAILED
    assert "ledger unavailable: simulated outage" in stored.error
    assert "RuntimeError" in stored.error
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert run("status", "--org", org.slug)["events_failed"] == 1

    # Replayed while still broken: still failed, and the command exits 1.
    with pytest.raises(SystemExit) as exited:
        run_text("replay", "--failed")
    assert exited.value.code == 1
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == (StripeEventStatus.FAILED, 2)

    monkeypatch.undo()
    assert run("replay", "--failed", "--org", "globex") == {"replayed": 0, "by_status": {}}
    result = run("replay", "--failed", "--org", org.slug)

    assert result == {"replayed": 1, "by_status": {"processed": 1}}
    stored.refresh_from_db()
    assert (stored.status, stored.error) == (StripeEventStatus.PROCESSED, "")
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)

    # Stripe's own retry arrives afterwards: acknowledged, nothing more.
    assert ss.deliver(client, org, event).status_code == 200
    assert Payment.objects.count() == 1
    assert Receipt.objects.count() == 1
    stored.refresh_from_db()
    assert stored.deliveries == 2


def test_replay_of_everything_does_not_repeat_a_decline(client, org, invoice):
    # A replay never applies an event that already had its effect: a decline is counted once.
    checkout = ss.stripe_checkout(invoice)
    declined = ss.payment_intent_failed_object(
        checkout, payment_intent=ss.new_id("pi"), decline_code="insufficient_funds"
    )
    ss.deliver(client, org, ss.envelope("payment_intent.payment_failed", declined))
    before = snapshot(invoice)
    checkout.refresh_from_db()
    assert checkout.attempts == 1

    run("replay")

    checkout.refresh_from_db()
    assert checkout.attempts == 1
    assert snapshot(invoice) == before


def test_replay_of_everything_leaves_a_failed_ach_debit_failed(client, org, invoice):
    # Replaying a failed ACH debit's events leaves it failed (never back to processing).
    checkout = ss.stripe_checkout(invoice)
    unpaid = ss.session_object(checkout, payment_status="unpaid")
    ss.deliver(
        client, org, ss.envelope("checkout.session.completed", unpaid, created=1_741_953_600)
    )
    ss.deliver(
        client,
        org,
        ss.envelope("checkout.session.async_payment_failed", unpaid, created=1_742_212_800),
    )
    before = snapshot(invoice)

    run("replay")

    checkout.refresh_from_db()
    assert (checkout.status, checkout.attempts) == ("failed", 1)
    assert snapshot(invoice) == before
