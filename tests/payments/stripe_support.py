"""Stripe events for tests and the benchmark, built from Stripe's own example objects
(`tests/fixtures/stripe/`) and signed with Stripe's scheme:
`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`."""

import copy
import functools
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path

from plixo.payments.models import CheckoutSession
from plixo.payments.stripe.accounts import stripe_connect
from plixo.payments.stripe.checkout import checkout_metadata, stripe_amount

FIXTURES = (
    Path(__file__).resolve().parent.parent / "fixtures" / "stripe" / "ar-relevant-subset.json"
)
SECRET_KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
WEBHOOK_SECRET = "whsec_" + "plixoTestSigningSecret0123456789"


@functools.cache
def _resources() -> dict:
    return json.loads(FIXTURES.read_text())["resources"]


def stripe_object(kind: str, **fields) -> dict:
    """A copy of Stripe's example `kind` object with `fields` set."""
    obj = copy.deepcopy(_resources()[kind])
    obj.update(fields)
    return obj


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def envelope(event_type: str, obj: dict, *, event_id: str | None = None, created=None) -> dict:
    event = stripe_object("event")
    event.update(
        {
            "id": event_id or new_id("evt"),
            "type": event_type,
            "data": {"object": obj},
            "created": int(created if created is not None else time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "api_version": "2025-01-27.acacia",
        }
    )
    return event


def signature(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def body_of(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def connect(organization, *, secret_key: str = SECRET_KEY, webhook_secret: str = WEBHOOK_SECRET):
    return stripe_connect(
        organization=organization, secret_key=secret_key, webhook_secret=webhook_secret
    )


def deliver(client, organization, event: dict, *, secret=WEBHOOK_SECRET, timestamp=None, body=None):
    """POST one event to the organization's webhook URL as Stripe does."""
    body = body_of(event) if body is None else body
    return client.post(
        f"/webhooks/stripe/{organization.slug}/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature(body, secret, timestamp),
    )


# --- the objects a checkout produces ---------------------------------------------------------


def session_object(
    checkout: CheckoutSession,
    *,
    payment_status: str = "paid",
    payment_intent: str | None = None,
    amount_total: int | None = None,
    currency: str | None = None,
) -> dict:
    currency = (currency or checkout.currency).lower()
    total = (
        stripe_amount(checkout.amount, checkout.currency) if amount_total is None else amount_total
    )
    return stripe_object(
        "checkout.session",
        id=checkout.provider_ref or new_id("cs_test"),
        object="checkout.session",
        status="complete" if payment_status != "expired" else "expired",
        payment_status=payment_status,
        amount_total=total,
        amount_subtotal=total,
        currency=currency,
        client_reference_id=str(checkout.public_id),
        metadata=checkout_metadata(checkout),
        payment_intent=payment_intent or new_id("pi"),
        mode="payment",
    )


def payment_intent_failed_object(
    checkout: CheckoutSession,
    *,
    payment_intent: str,
    code="card_declined",
    decline_code=None,
    message="Your card was declined.",
) -> dict:
    return stripe_object(
        "payment_intent",
        id=payment_intent,
        amount=stripe_amount(checkout.amount, checkout.currency),
        currency=checkout.currency.lower(),
        status="requires_payment_method",
        canceled_at=None,
        metadata=checkout_metadata(checkout),
        last_payment_error={
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
        },
    )


def charge_object(
    *, payment_intent: str, amount, currency: str, refunded=0, refunds: list[dict] | None = None
) -> dict:
    units = stripe_amount(amount, currency)
    refunded_units = stripe_amount(refunded, currency)
    obj = stripe_object(
        "charge",
        id=new_id("ch"),
        payment_intent=payment_intent,
        amount=units,
        amount_captured=units,
        amount_refunded=refunded_units,
        refunded=refunded_units == units,
        currency=currency.lower(),
        paid=True,
        status="succeeded",
    )
    obj["refunds"] = {"object": "list", "data": refunds or [], "has_more": False}
    return obj


def refund_object(*, payment_intent: str, charge: str, amount, currency: str) -> dict:
    return stripe_object(
        "refund",
        id=new_id("re"),
        payment_intent=payment_intent,
        charge=charge,
        amount=stripe_amount(amount, currency),
        currency=currency.lower(),
        status="succeeded",
        reason="requested_by_customer",
    )


def dispute_object(*, payment_intent: str, amount, currency: str, reason="fraudulent") -> dict:
    return stripe_object(
        "dispute",
        id=new_id("dp"),
        payment_intent=payment_intent,
        charge=new_id("ch"),
        amount=stripe_amount(amount, currency),
        currency=currency.lower(),
        reason=reason,
        status="needs_response",
    )


# --- checkouts as the Stripe provider leaves them ---------------------------------------------


def stripe_checkout(invoice, amount=None, **kwargs) -> CheckoutSession:
    """A Stripe checkout for `amount` of the invoice (default: its balance) with the Checkout
    Session id Stripe would have answered, without calling Stripe."""
    from plixo.payments import services

    amount = invoice.balance if amount is None else amount
    checkout = services.checkout_create(invoice=invoice, amount=amount, provider="stripe", **kwargs)
    return services.checkout_provider_ref_set(checkout=checkout, provider_ref=new_id("cs_test"))


def post_signed(client, organization, body: bytes, signature_header: str | None):
    """POST raw bytes with whatever Stripe-Signature header is given (None: no header)."""
    headers = {} if signature_header is None else {"HTTP_STRIPE_SIGNATURE": signature_header}
    return client.post(
        f"/webhooks/stripe/{organization.slug}/",
        data=body,
        content_type="application/json",
        **headers,
    )
