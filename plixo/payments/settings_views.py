"""Settings → Payments: connect the organization's Stripe account (Controller or Billing
Admin), see the webhook URL to give Stripe and how the connection is doing, and choose whether
payers may pay part of a balance."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from plixo.core.access import requires
from plixo.core.permissions import Cap
from plixo.ledger.models import LedgerError
from plixo.payments import services
from plixo.payments.forms import PartialPaymentsForm, StripeKeysForm
from plixo.payments.selectors import stripe_health
from plixo.payments.stripe import accounts
from plixo.payments.stripe.handlers import HANDLERS


def _page(request, *, keys_form=None, partial_form=None, status=200):
    organization = request.organization
    health = stripe_health(organization=organization)
    account = health.account
    context = {
        "health": health,
        "account": account if account is not None and account.is_connected else None,
        "disconnected": account if account is not None and not account.is_connected else None,
        "keys_form": keys_form or StripeKeysForm(),
        "partial_form": partial_form
        or PartialPaymentsForm(
            initial={"allow_partial_payments": organization.allow_partial_payments}
        ),
        "webhook_url": f"{settings.PLIXO_PUBLIC_URL}/webhooks/stripe/{organization.slug}/",
        "event_types": list(HANDLERS),
    }
    return render(request, "payments/settings.html", context, status=status)


@requires(Cap.PAYMENTS_SETTINGS)
@require_http_methods(["GET", "POST"])
def payment_settings(request):
    if request.method == "GET":
        return _page(request)
    form = StripeKeysForm(request.POST)
    if form.is_valid():
        try:
            account = accounts.stripe_connect(
                organization=request.organization, actor=request.user, **form.cleaned_data
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            mode = "live" if account.livemode else "test"
            messages.success(
                request,
                f"Stripe connected ({account.secret_key_hint}, {mode} mode). Payers now pay "
                "through Stripe Checkout.",
            )
            return redirect("payments:settings")
    return _page(request, keys_form=form, status=400)


@requires(Cap.PAYMENTS_SETTINGS)
@require_POST
def stripe_disconnect(request):
    if accounts.stripe_disconnect(organization=request.organization, actor=request.user):
        messages.success(
            request,
            "Stripe disconnected: payers use the sandbox (test payments) until it is connected "
            "again. Stripe's webhooks are still accepted, so money already on its way is "
            "recorded.",
        )
    return redirect("payments:settings")


@requires(Cap.PAYMENTS_SETTINGS)
@require_POST
def partial_payments(request):
    form = PartialPaymentsForm(request.POST)
    if not form.is_valid():
        return _page(request, partial_form=form, status=400)
    services.partial_payments_set(
        organization=request.organization,
        allowed=form.cleaned_data["allow_partial_payments"],
        actor=request.user,
    )
    if form.cleaned_data["allow_partial_payments"]:
        messages.success(request, "Partial payments are on: payers may pay part of a balance.")
    else:
        messages.success(request, "Partial payments are off: payers pay the full balance.")
    return redirect("payments:settings")
