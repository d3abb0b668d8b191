"""Payment providers: where a payer is sent to pay, and how the provider's answer comes back.

Every provider ends in the same two services: `checkout_complete` when money was taken and
`checkout_fail` when an attempt was declined. The sandbox provider drives them from its own
test checkout page; the Stripe provider (`plixo.payments.stripe`) drives them from verified
webhooks.
"""

import secrets
from typing import Protocol, runtime_checkable

from django.urls import reverse

from plixo.core.models import Organization
from plixo.ledger.models import Payment
from plixo.payments import services
from plixo.payments.models import CheckoutProvider, CheckoutSession


@runtime_checkable
class PaymentProvider(Protocol):
    name: str

    def checkout_start(
        self, *, checkout: CheckoutSession, success_url: str, cancel_url: str
    ) -> str:
        """Prepare the provider's side of `checkout`; return the URL to send the payer to."""
        ...


# Declines the sandbox can simulate, with what the payer is told (the codes are Stripe's).
SANDBOX_DECLINES = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.",
    "processing_error": "The payment could not be processed. Please try again.",
}


class SandboxProvider:
    """A test provider: its checkout page is ours, takes no card data and moves no money."""

    name = CheckoutProvider.SANDBOX

    def checkout_start(
        self, *, checkout: CheckoutSession, success_url: str, cancel_url: str
    ) -> str:
        services.checkout_redirects_set(
            checkout=checkout,
            success_url=success_url,
            cancel_url=cancel_url,
            provider_ref=f"sbx_cs_{secrets.token_hex(12)}",
        )
        return reverse("payments:sandbox-checkout", kwargs={"checkout_id": checkout.public_id})

    def simulate_success(self, *, checkout: CheckoutSession) -> Payment:
        """What a provider's "payment succeeded" notification does: complete the checkout with
        the amount and currency the provider says it took."""
        return services.checkout_complete(
            checkout=checkout,
            provider_ref=f"sbx_pi_{secrets.token_hex(12)}",
            amount=checkout.amount,
            currency=checkout.currency,
        )

    def simulate_decline(self, *, checkout: CheckoutSession, code: str) -> CheckoutSession:
        if code not in SANDBOX_DECLINES:
            code = "card_declined"
        return services.checkout_fail(
            checkout=checkout, failure_code=code, message=SANDBOX_DECLINES[code]
        )


_SANDBOX = SandboxProvider()

PROVIDERS: dict[str, PaymentProvider] = {_SANDBOX.name: _SANDBOX}


def provider_named(name: str) -> PaymentProvider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise LookupError(f"No payment provider {name!r} is available.") from None


def provider_for(organization: Organization) -> PaymentProvider:
    """The provider an organization's payers use: Stripe once the organization connected its
    Stripe account, the sandbox (test payments, no money moves) until then."""
    from plixo.payments.models import StripeAccount
    from plixo.payments.stripe.checkout import StripeProvider

    account = StripeAccount.objects.filter(
        organization_id=organization.pk, disconnected_at__isnull=True
    ).first()
    if account is not None:
        return StripeProvider(account)
    return _SANDBOX
