"""The official `stripe` SDK client for one organization, and the health of its calls.

Every call goes through `call()`, which records whether Stripe answered: consecutive rate
limits (429), server errors (5xx) and unreachable hosts raise the organization's failure count
that the Ops page turns into a degraded banner; a good answer resets it. Nothing secret is
logged: errors are kept as Stripe's code and message, never the request.
"""

from collections.abc import Callable
from typing import TypeVar

import stripe
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from plixo.payments.models import StripeAccount

T = TypeVar("T")

# Retries inside the SDK reuse the request's idempotency key, so a retried create is one object.
NETWORK_RETRIES = 2
TIMEOUT_SECONDS = 20


class StripeUnavailable(Exception):
    """Stripe could not be reached or is rate limiting / failing; try again shortly."""


class StripeRefused(Exception):
    """Stripe refused the request (bad key, invalid parameters); the message says why."""


def client_for(account: StripeAccount) -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE
    kwargs = {}
    if base:
        kwargs["base_addresses"] = {"api": base, "connect": base, "files": base}
    return stripe.StripeClient(
        account.secret_key,
        max_network_retries=NETWORK_RETRIES,
        http_client=stripe.new_default_http_client(timeout=TIMEOUT_SECONDS),
        **kwargs,
    )


def _describe(exc: stripe.StripeError) -> str:
    code = getattr(exc, "code", None) or type(exc).__name__
    message = exc.user_message or ""
    return f"{code}: {message}"[:300] if message else str(code)[:300]


def _failed(account: StripeAccount, error: str) -> None:
    StripeAccount.objects.filter(pk=account.pk).update(
        api_failures=F("api_failures") + 1, api_last_error=error, api_last_error_at=timezone.now()
    )


def call(account: StripeAccount, request: Callable[[stripe.StripeClient], T]) -> T:
    """Run `request` with the organization's client; classify and record the outcome."""
    try:
        result = request(client_for(account))
    except stripe.RateLimitError as exc:
        _failed(account, f"rate limited (429): {_describe(exc)}")
        raise StripeUnavailable("Stripe is rate limiting requests; try again shortly.") from exc
    except stripe.APIConnectionError as exc:
        _failed(account, f"unreachable: {type(exc).__name__}")
        raise StripeUnavailable("Stripe could not be reached; try again shortly.") from exc
    except stripe.StripeError as exc:
        status = getattr(exc, "http_status", None) or 0
        if status >= 500:
            _failed(account, f"server error ({status}): {_describe(exc)}")
            raise StripeUnavailable("Stripe is having trouble; try again shortly.") from exc
        if isinstance(exc, stripe.AuthenticationError):
            _failed(account, f"authentication failed ({status}): check the secret key")
        else:
            StripeAccount.objects.filter(pk=account.pk).update(
                api_last_error=f"refused ({status}): {_describe(exc)}",
                api_last_error_at=timezone.now(),
            )
        raise StripeRefused(_describe(exc)) from exc
    StripeAccount.objects.filter(pk=account.pk).update(
        api_failures=0, api_last_ok_at=timezone.now()
    )
    return result
