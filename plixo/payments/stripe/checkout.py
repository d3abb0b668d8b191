"""The Stripe provider: the payer's Pay click creates a Checkout Session on the organization's
own Stripe account and the payer is sent to Stripe's hosted page (no card data ever reaches
Plixo: PCI SAQ A). The money comes back through webhooks (`handlers`)."""

from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings

from plixo.core.money import MoneyError, parse_amount, quantize
from plixo.payments import services
from plixo.payments.models import CheckoutProvider, CheckoutSession, StripeAccount
from plixo.payments.stripe.client import StripeRefused, StripeUnavailable, call

# Stripe's own table of minor units, which is not ISO 4217's: every currency is two-decimal in
# Stripe's API except these. (ISK, HUF, COP, IDR … have 0 digits in CLDR but are two-decimal at
# Stripe; sending them in ISO units would charge a hundredth.)
STRIPE_ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
STRIPE_THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


def stripe_exponent(currency: str) -> int:
    currency = currency.upper()
    if currency in STRIPE_ZERO_DECIMAL:
        return 0
    if currency in STRIPE_THREE_DECIMAL:
        return 3
    return 2


def stripe_amount(amount, currency: str) -> int:
    """The amount in the units Stripe's API takes for `currency` (JPY 0 decimals, KWD 3, most
    others 2, ISK and HUF included)."""
    scaled = quantize(amount, currency).scaleb(stripe_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise services.CheckoutError(
            f"Stripe takes {currency} in whole units; enter an amount without decimals."
        )
    units = int(scaled)
    if stripe_exponent(currency) == 3 and units % 10:
        # Stripe takes three-decimal currencies in multiples of ten thousandths.
        raise services.CheckoutError(
            f"Card payments in {currency} go in steps of 0.010; enter an amount that ends in 0."
        )
    return units


def amount_from_stripe(units: int, currency: str):
    """Stripe's units back to an amount in the currency's own minor units; None when they do
    not fit them (never rounded)."""
    currency = currency.upper()
    amount = Decimal(units).scaleb(-stripe_exponent(currency))
    try:
        return parse_amount(amount, currency)
    except MoneyError:
        return None


def payment_method_types(currency: str) -> list[str]:
    """Card everywhere; ACH Direct Debit (us_bank_account) where the invoice is in USD."""
    return ["card", "us_bank_account"] if currency == "USD" else ["card"]


def _absolute(path: str) -> str:
    return f"{settings.PLIXO_PUBLIC_URL}{path}"


def checkout_metadata(checkout: CheckoutSession) -> dict[str, str]:
    invoice = checkout.invoice
    return {
        "plixo_organization": str(invoice.organization.public_id),
        "plixo_organization_slug": invoice.organization.slug,
        "plixo_invoice": str(invoice.public_id),
        "plixo_invoice_number": invoice.number[:100],
        "plixo_checkout": str(checkout.public_id),
    }


def checkout_session_params(
    checkout: CheckoutSession, *, success_url: str, cancel_url: str
) -> dict:
    invoice = checkout.invoice
    currency = checkout.currency
    metadata = checkout_metadata(checkout)
    params = {
        "mode": "payment",
        "client_reference_id": str(checkout.public_id),
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": stripe_amount(checkout.amount, currency),
                    "product_data": {
                        "name": f"Invoice {invoice.number}"[:250],
                        "description": f"{invoice.organization.name} — {invoice.customer.name}"[
                            :500
                        ],
                    },
                },
            }
        ],
        "payment_method_types": payment_method_types(currency),
        "metadata": metadata,
        "payment_intent_data": {
            "metadata": metadata,
            "description": f"Invoice {invoice.number}"[:1000],
        },
        "success_url": _absolute(success_url),
        "cancel_url": _absolute(cancel_url),
    }
    if checkout.contact is not None and checkout.contact.email:
        params["customer_email"] = checkout.contact.email
    return params


# Where Stripe Checkout's hosted pages live.
CHECKOUT_ORIGIN = "https://checkout.stripe.com"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class StripeProvider:
    name = CheckoutProvider.STRIPE

    def __init__(self, account: StripeAccount):
        self.account = account

    def form_action_origins(self) -> list[str]:
        """The origins the portal's Pay form may lead to (its CSP `form-action`)."""
        origins = [CHECKOUT_ORIGIN]
        if stand_in := _origin(settings.STRIPE_API_BASE):
            origins.append(stand_in)
        return origins

    def checkout_start(
        self, *, checkout: CheckoutSession, success_url: str, cancel_url: str
    ) -> str:
        checkout = CheckoutSession.objects.select_related(
            "invoice__organization", "invoice__customer", "contact"
        ).get(pk=checkout.pk)
        # Paths first (refused when not on this site), then the call to Stripe.
        services.checkout_redirects_set(
            checkout=checkout, success_url=success_url, cancel_url=cancel_url
        )
        params = checkout_session_params(checkout, success_url=success_url, cancel_url=cancel_url)
        try:
            session = call(
                self.account,
                lambda client: client.v1.checkout.sessions.create(
                    params, {"idempotency_key": f"plixo-checkout-{checkout.idempotency_key}"}
                ),
            )
        except StripeUnavailable as exc:
            raise services.CheckoutError(
                f"{exc} Nothing was charged; press Pay again in a minute."
            ) from exc
        except StripeRefused as exc:
            # Stripe's reason (kept for the Ops page in the account's last error) is for
            # staff; the payer gets what they can act on.
            raise services.CheckoutError(
                "The payment page could not be opened. Nothing was charged; please contact "
                f"{checkout.invoice.organization.name}."
            ) from exc
        services.checkout_provider_ref_set(checkout=checkout, provider_ref=session.id)
        return session.url
