"""The sandbox checkout page (payer-facing) and the staff PDF downloads.

The sandbox page stands where a provider's hosted checkout would: it belongs to the portal
session that opened the checkout (any other session gets 404), takes no card data, and answers
through the same provider → `checkout_complete` / `checkout_fail` path as a real provider.
"""

from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from plixo.core.access import public, requires
from plixo.core.models import Organization
from plixo.core.permissions import Cap
from plixo.ledger.models import LedgerError
from plixo.ledger.selectors import invoice_for
from plixo.payments import services
from plixo.payments.documents import DocumentFormat, invoice_pdf, pdf_filename, receipt_pdf
from plixo.payments.models import (
    CheckoutProvider,
    CheckoutSession,
    CheckoutStatus,
    StripeAccount,
)
from plixo.payments.providers import SANDBOX_DECLINES, provider_named
from plixo.payments.selectors import checkout_for_portal_session, receipt_for
from plixo.payments.stripe import webhooks
from plixo.portal.csrf import payer_csrf
from plixo.portal.gate import portal_session_required

PORTAL_HOME = "/portal/"


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    # RFC 6266: an ASCII `filename` plus `filename*` in UTF-8 when the name needs it.
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _back_to(url: str, request) -> HttpResponseRedirect:
    """Return to a URL the checkout stored; only ever a path on this site."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        url = PORTAL_HOME
    return HttpResponseRedirect(url)


def _sandbox_page(request, checkout: CheckoutSession, *, error: str = "", status: int = 200):
    invoice = checkout.invoice
    fmt = DocumentFormat(invoice.organization)
    context = {
        "checkout": checkout,
        "invoice": invoice,
        "organization": invoice.organization,
        "amount": fmt.money(checkout.amount, checkout.currency),
        "balance": fmt.money(invoice.balance, invoice.currency),
        "declines": SANDBOX_DECLINES,
        "error": error,
        "payable": checkout.is_payable,
        "completed": checkout.status == CheckoutStatus.COMPLETED,
    }
    return render(request, "payments/sandbox_checkout.html", context, status=status)


@portal_session_required
@payer_csrf  # served under /portal/ with no-referrer, so the form posts with Origin: null
@require_http_methods(["GET", "POST"])
def sandbox_checkout(request, checkout_id):
    checkout = checkout_for_portal_session(
        portal_session=request.portal_session, public_id=checkout_id
    )
    if checkout.provider != CheckoutProvider.SANDBOX:
        raise Http404("No such checkout.")
    if request.method == "GET":
        return _sandbox_page(request, checkout)

    provider = provider_named(CheckoutProvider.SANDBOX)
    action = request.POST.get("action", "")
    try:
        if action == "pay":
            services.checkout_confirm_still_owed(checkout=checkout)
            provider.simulate_success(checkout=checkout)
            return _back_to(checkout.success_url, request)
        if action == "cancel":
            services.checkout_cancel(checkout=checkout)
            return _back_to(checkout.cancel_url, request)
        if action == "decline":
            checkout = provider.simulate_decline(
                checkout=checkout, code=request.POST.get("code", "")
            )
            message = SANDBOX_DECLINES.get(checkout.failure_code, "The payment was declined.")
            return _sandbox_page(
                request,
                checkout,
                # In words for the payer; the code is on the invoice's timeline for staff.
                error=f"{message} No money moved; try again or use another card.",
                status=402,
            )
        error, status = "Choose Pay or Simulate decline.", 400
    except LedgerError as exc:
        error, status = str(exc), 409
    checkout.refresh_from_db()
    return _sandbox_page(request, checkout, error=error, status=status)


@requires(Cap.LEDGER_VIEW)
@require_http_methods(["GET"])
def invoice_pdf_download(request, invoice_id):
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    invoice.organization = request.organization
    return _pdf_response(invoice_pdf(invoice), pdf_filename("invoice", invoice.number))


@requires(Cap.LEDGER_VIEW)
@require_http_methods(["GET"])
def receipt_pdf_download(request, receipt_id):
    receipt = receipt_for(membership=request.membership, public_id=receipt_id)
    return _pdf_response(receipt_pdf(receipt), pdf_filename("receipt", receipt.number))


@public
@csrf_exempt  # Stripe signs its deliveries; there is no browser session to protect
@require_http_methods(["POST"])
def stripe_webhook(request, org_slug):
    """`/webhooks/stripe/<org slug>/`: see `plixo.payments.stripe.webhooks`."""
    # The organization with its Stripe account in one read; the organization alone when it
    # has none (its deliveries are refused, and stored, all the same).
    account = (
        StripeAccount.objects.select_related("organization")
        .filter(organization__slug=org_slug)
        .first()
    )
    organization = (
        account.organization
        if account is not None
        else Organization.objects.filter(slug=org_slug).first()
    )
    if organization is None:
        raise Http404("No such organization.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > webhooks.MAX_BODY_BYTES:
        return JsonResponse({"error": "The delivery is larger than any Stripe event."}, status=413)
    answer = webhooks.webhook_receive(
        organization=organization,
        account=account,
        body=request.body,
        signature=request.headers.get("Stripe-Signature", ""),
    )
    body = {"status": answer.message}
    if answer.event is not None:
        body["event"] = answer.event.event_id
    return JsonResponse(body, status=answer.status_code)
