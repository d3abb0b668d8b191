"""Receipt emails: one task per receipt, queued when the payment commits, and the periodic job
that sends receipts still pending (held by maintenance, or a failed send).

A receipt is claimed with a conditional update before it is sent, so the queued task and the
job never both send it; a failed send puts it back to pending.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django_tasks import task

from plixo.core.text import header_text
from plixo.ops.selectors import maintenance_active
from plixo.payments import services
from plixo.payments.documents import DocumentFormat, pdf_filename, receipt_pdf
from plixo.payments.models import Receipt

logger = logging.getLogger(__name__)

PENDING_BATCH = 200


def receipt_email_message(receipt: Receipt, to: str) -> EmailMultiAlternatives:
    invoice = receipt.invoice
    organization = invoice.organization
    fmt = DocumentFormat(organization)
    context = {
        "organization": organization,
        "receipt": receipt,
        "invoice": invoice,
        "amount": fmt.money(receipt.amount, receipt.currency),
        "balance_after": fmt.money(receipt.invoice_balance_after, receipt.currency),
        "paid_in_full": receipt.invoice_balance_after == 0,
        "issued_on": fmt.date(receipt.issued_at),
        "is_test": receipt.payment.source == "sandbox",
    }
    subject = header_text(
        f"Receipt {receipt.number} for invoice {invoice.number} from {organization.name}"
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("payments/email/receipt.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(
        render_to_string("payments/email/receipt.html", context), "text/html"
    )
    message.attach(pdf_filename("receipt", receipt.number), receipt_pdf(receipt), "application/pdf")
    return message


def receipt_send(receipt: Receipt) -> bool:
    """Send one pending receipt now. False when maintenance holds email, nobody can receive
    it, or another worker already took it."""
    if maintenance_active():
        return False
    contact = services.receipt_recipient(receipt)
    if contact is None:
        services.receipt_email_skip(
            receipt=receipt, reason="No contact with an email address that may be emailed."
        )
        return False
    if not services.receipt_email_claim(receipt=receipt, recipient=contact.email):
        return False
    try:
        receipt_email_message(receipt, contact.email).send()
    except Exception as exc:
        services.receipt_email_release(receipt=receipt, error=f"Sending failed: {exc}")
        raise
    services.receipt_emailed_record(receipt=receipt, recipient=contact.email)
    return True


def _receipts():
    return Receipt.objects.select_related(
        "invoice__organization", "invoice__customer", "payment", "checkout__contact"
    )


@task()
def receipt_email_send(receipt_id: int) -> bool:
    receipt = _receipts().filter(pk=receipt_id).first()
    if receipt is None or receipt.emailed_at is not None:
        return False
    return receipt_send(receipt)


@task()
def receipts_send_pending() -> int:
    """Send receipts not emailed yet (oldest first); returns how many went out."""
    if maintenance_active():
        return 0
    sent = 0
    # Receipts that never failed go first, so a few undeliverable ones cannot crowd them out.
    pending = _receipts().filter(emailed_at__isnull=True).order_by("email_error", "issued_at", "pk")
    for receipt in pending[:PENDING_BATCH]:
        try:
            sent += receipt_send(receipt)
        except Exception:
            # One bad address or provider hiccup must not hold back the other receipts; the
            # failure is kept on the receipt and it is tried again on the next run.
            logger.exception("receipt email failed", extra={"receipt": receipt.number})
    return sent


@task()
def stripe_events_retry() -> int:
    """Stripe events that failed or waited for their payment, applied again."""
    from plixo.payments.stripe.webhooks import events_retry_due

    return events_retry_due()


@task()
def stripe_deliveries_prune() -> int:
    from plixo.payments.stripe.webhooks import deliveries_prune

    return deliveries_prune()


@task()
def stripe_sessions_expire(organization_id: int, session_ids: list[str]) -> int:
    """Expire Checkout Sessions Plixo replaced (best effort: one already paid or expired at
    Stripe is left as it is)."""
    from plixo.payments.models import StripeAccount
    from plixo.payments.stripe.client import StripeRefused, StripeUnavailable, call

    account = StripeAccount.objects.filter(organization_id=organization_id).first()
    if account is None:
        return 0
    expired = 0
    for session_id in session_ids:
        try:
            call(account, lambda client, sid=session_id: client.v1.checkout.sessions.expire(sid))
        except (StripeRefused, StripeUnavailable):
            logger.info("stripe session not expired", extra={"session": session_id})
            continue
        expired += 1
    return expired
