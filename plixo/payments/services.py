"""Every write of the payments app: checkouts, their completion or decline, and receipts.

Completion is the one path from a provider to the ledger. It is idempotent — a provider may
report the same payment twice, or two notifications may race — because the checkout row is
locked (`select_for_update`) and its status checked before anything is recorded.
"""

import datetime as dt
import hashlib
import uuid
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from plixo.core.money import MoneyError, parse_amount, quantize
from plixo.ledger.models import Contact, Invoice, LedgerError, Payment, PaymentMethod
from plixo.ledger.services import AllocationRequest, payment_record, timeline_record
from plixo.ops.queue import task_enqueue
from plixo.payments.models import (
    CheckoutProvider,
    CheckoutSession,
    CheckoutStatus,
    Receipt,
    ReceiptCounter,
)

# Tasks are queued by name (see `plixo.ops.queue`): the tasks module imports this one.
STRIPE_SESSIONS_EXPIRE_TASK = "plixo.payments.tasks.stripe_sessions_expire"
RECEIPT_EMAIL_SEND_TASK = "plixo.payments.tasks.receipt_email_send"


class CheckoutError(LedgerError):
    """A checkout that cannot be opened, completed or failed as asked."""


class CheckoutMismatch(CheckoutError):
    """The provider reports an amount or currency other than the checkout's."""


def _money(amount: Decimal, currency: str) -> str:
    return str(quantize(amount, currency))


def _payer_label(contact: Contact | None) -> str:
    who = (contact.name or contact.email) if contact is not None else "Payer"
    return f"{who} (payer, portal)"


def _portal_contact(portal_session_ref: str) -> Contact | None:
    """The contact of the portal session that opens a checkout: receipts go to them."""
    if not portal_session_ref:
        return None
    from plixo.portal.models import PortalSession

    try:
        session_id = uuid.UUID(str(portal_session_ref))
    except ValueError:
        return None
    session = PortalSession.objects.filter(public_id=session_id).select_related("contact").first()
    return session.contact if session is not None else None


# ---------------------------------------------------------------------------------------------
# Checkouts


def _pays_the_next_installment(invoice: Invoice, amount) -> bool:
    """Whether `amount` is exactly what the next installment of the invoice's accepted payment
    plan owes: a plan is the organization's word that the invoice may be paid in parts."""
    from plixo.commitments.selectors import invoice_next_installment

    found = invoice_next_installment(invoice=invoice)
    return found is not None and found.owed == amount


@transaction.atomic
def checkout_create(
    *,
    invoice: Invoice,
    amount,
    portal_session_ref: str = "",
    contact: Contact | None = None,
    provider: str | None = None,
    attempt: str = "",
) -> CheckoutSession:
    """Open a checkout for `amount` of the invoice. The whole balance, or part of it when the
    organization accepts partial payments. Earlier open checkouts of the same portal session
    for this invoice are cancelled, so a payer who starts over cannot pay twice.

    `attempt` is the nonce of the Pay form the payer submitted: the same form posted twice (a
    double click, a browser retry) returns the checkout the first post opened, whose
    idempotency key (derived from the attempt) makes the provider answer with one session."""
    from plixo.payments.providers import provider_for

    # No lock on the invoice: completion re-checks the balance under its own locks, and
    # locking here too would order invoice-then-checkout against completion's opposite order.
    invoice = Invoice.objects.select_related("organization", "customer").get(pk=invoice.pk)
    organization = invoice.organization
    if not invoice.is_open:
        raise CheckoutError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; "
            "there is nothing to pay."
        )
    try:
        amount = parse_amount(amount, invoice.currency)
    except MoneyError as exc:
        raise CheckoutError(str(exc)) from exc
    if amount <= 0:
        raise CheckoutError("Enter an amount greater than zero.")
    if amount > invoice.balance:
        raise CheckoutError(
            f"The amount is more than the balance due ({_money(invoice.balance, invoice.currency)}"
            f" {invoice.currency})."
        )
    if (
        amount != invoice.balance
        and not organization.allow_partial_payments
        and not _pays_the_next_installment(invoice, amount)
    ):
        raise CheckoutError(
            f"{organization.name} takes payment of the full balance "
            f"({_money(invoice.balance, invoice.currency)} {invoice.currency}) only."
        )
    if contact is not None and contact.customer_id != invoice.customer_id:
        raise CheckoutError("That contact does not belong to this invoice's customer.")
    portal_session_ref = str(portal_session_ref or "")
    if contact is None:
        contact = _portal_contact(portal_session_ref)
    provider_name = provider or provider_for(organization).name
    idempotency_key = uuid.uuid4().hex
    if attempt:
        seed = f"{invoice.pk}:{portal_session_ref}:{attempt}:{amount}:{provider_name}"
        idempotency_key = hashlib.sha256(seed.encode()).hexdigest()
        repeat = CheckoutSession.objects.filter(idempotency_key=idempotency_key).first()
        if repeat is not None:
            return repeat

    if portal_session_ref:
        replaced = CheckoutSession.objects.filter(
            invoice=invoice,
            portal_session_ref=portal_session_ref,
            status__in=(CheckoutStatus.OPEN, CheckoutStatus.FAILED),
        )
        at_stripe = list(
            replaced.filter(provider=CheckoutProvider.STRIPE)
            .exclude(provider_ref="")
            .values_list("provider_ref", flat=True)
        )
        replaced.update(status=CheckoutStatus.CANCELLED)
        if at_stripe:
            # Close the replaced sessions at Stripe too, so an old tab cannot pay them (if one
            # is paid first anyway, the money is still recorded: see `checkout_complete`).
            transaction.on_commit(lambda: _expire_at_provider(organization.pk, at_stripe))
    try:
        with transaction.atomic():
            checkout = CheckoutSession.objects.create(
                organization=organization,
                invoice=invoice,
                contact=contact,
                provider=provider_name,
                amount=amount,
                currency=invoice.currency,
                idempotency_key=idempotency_key,
                portal_session_ref=portal_session_ref,
            )
    except IntegrityError:
        # The same attempt posted twice at once: the other request's checkout is the one.
        return CheckoutSession.objects.get(idempotency_key=idempotency_key)
    timeline_record(
        invoice=invoice,
        kind="checkout_started",
        actor_label=_payer_label(contact),
        data={
            "amount": _money(amount, invoice.currency),
            "currency": invoice.currency,
            "provider": provider_name,
        },
    )
    return checkout


def _expire_at_provider(organization_id: int, session_ids: list[str]) -> None:
    task_enqueue(STRIPE_SESSIONS_EXPIRE_TASK, organization_id, session_ids)


def _local_path(url: str, field: str) -> str:
    """Return addresses must stay on this site: a path, never another host."""
    url = (url or "").strip()
    if not url.startswith("/") or not url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        raise CheckoutError(f"The {field} must be a path on this site.")
    return url


@transaction.atomic
def checkout_redirects_set(
    *, checkout: CheckoutSession, success_url: str, cancel_url: str, provider_ref: str = ""
) -> CheckoutSession:
    """Remember where the payer returns to, and the provider's id for its side of the checkout
    (for the sandbox, the test session id)."""
    checkout = CheckoutSession.objects.select_for_update().get(pk=checkout.pk)
    if not checkout.is_payable:
        raise CheckoutError(f"This checkout is {checkout.get_status_display().lower()}.")
    checkout.success_url = _local_path(success_url, "success address")
    checkout.cancel_url = _local_path(cancel_url, "cancel address")
    fields = ["success_url", "cancel_url"]
    if provider_ref and not checkout.provider_ref:
        checkout.provider_ref = provider_ref
        fields.append("provider_ref")
    checkout.save(update_fields=fields)
    return checkout


@transaction.atomic
def checkout_provider_ref_set(*, checkout: CheckoutSession, provider_ref: str) -> CheckoutSession:
    """The provider's id for its side of the checkout (a Stripe Checkout Session id)."""
    checkout = CheckoutSession.objects.select_for_update().get(pk=checkout.pk)
    if checkout.provider_ref != provider_ref:
        if checkout.provider_ref:
            raise CheckoutError("This checkout already has a session at the provider.")
        checkout.provider_ref = provider_ref
        checkout.save(update_fields=["provider_ref"])
    return checkout


@transaction.atomic
def checkout_processing(
    *, checkout: CheckoutSession, amount, currency: str, method: str = PaymentMethod.ACH
) -> CheckoutSession:
    """The payer finished at the provider with a payment that settles later (an ACH debit):
    nothing is recorded yet; the checkout waits for the provider's final word."""
    checkout = (
        CheckoutSession.objects.select_for_update(of=("self",))
        .select_related("invoice", "contact")
        .get(pk=checkout.pk)
    )
    if checkout.status in (CheckoutStatus.PROCESSING, CheckoutStatus.COMPLETED):
        return checkout
    # As for `checkout_complete`: a debit a real provider started on a checkout Plixo had
    # given up on (the payer started over) is still money on its way.
    if not checkout.is_payable and checkout.provider == CheckoutProvider.SANDBOX:
        raise CheckoutError(
            f"This checkout is {checkout.get_status_display().lower()} and takes no payment."
        )
    _check_matches(checkout, amount, currency)
    checkout.status = CheckoutStatus.PROCESSING
    checkout.save(update_fields=["status"])
    timeline_record(
        invoice=checkout.invoice,
        kind="payment_processing",
        actor_label=_payer_label(checkout.contact),
        data={
            "amount": _money(checkout.amount, checkout.currency),
            "currency": checkout.currency,
            "provider": checkout.provider,
            "method": method,
        },
    )
    return checkout


def _check_matches(checkout: CheckoutSession, amount, currency: str):
    """The provider's amount and currency must be the checkout's, to the minor unit."""
    currency = (currency or "").strip().upper()
    if currency != checkout.currency:
        raise CheckoutMismatch(
            f"The provider reports a payment in {currency or 'no currency'}; "
            f"this checkout is in {checkout.currency}."
        )
    try:
        amount = parse_amount(amount, checkout.currency)
    except MoneyError as exc:
        raise CheckoutMismatch(str(exc)) from exc
    if amount != checkout.amount:
        raise CheckoutMismatch(
            f"The provider reports {_money(amount, currency)} {currency}; this checkout is for "
            f"{_money(checkout.amount, currency)} {currency}."
        )
    return amount, currency


def _next_receipt_number(organization_id: int) -> tuple[int, str]:
    """Take the organization's next receipt number. The counter row stays locked until the
    transaction ends, so concurrent payments queue here and numbers neither repeat nor skip
    (a rolled-back payment rolls its number back too)."""
    counter, _ = ReceiptCounter.objects.select_for_update().get_or_create(
        organization_id=organization_id
    )
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number, f"R-{counter.last_number:06d}"


def receipt_issue(*, payment: Payment, invoice: Invoice, checkout=None) -> Receipt:
    """Number and store the receipt of a payment; call inside the payment's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("receipt_issue must run inside the payment's transaction.")
    sequence, number = _next_receipt_number(payment.organization_id)
    return Receipt.objects.create(
        organization_id=payment.organization_id,
        sequence=sequence,
        number=number,
        payment=payment,
        invoice=invoice,
        checkout=checkout,
        amount=payment.amount,
        currency=payment.currency,
        invoice_balance_after=invoice.balance,
        issued_at=timezone.now(),
    )


@transaction.atomic
def checkout_complete(
    *,
    checkout: CheckoutSession,
    provider_ref: str,
    amount,
    currency: str,
    method: str = PaymentMethod.CARD,
    received_at: dt.datetime | None = None,
) -> Payment:
    """The provider took the money: record the payment on the ledger, issue the receipt and
    queue its email. Calling it again for the same checkout returns the same payment."""
    checkout = (
        CheckoutSession.objects.select_for_update(of=("self",))
        .select_related("organization", "contact")
        .get(pk=checkout.pk)
    )
    if checkout.status == CheckoutStatus.COMPLETED:
        # Read the payment on its own: rows joined to a locked row come from the snapshot
        # taken before the lock wait, so a joined payment committed meanwhile would be missing.
        return Payment.objects.get(pk=checkout.payment_id)
    # Money a real provider took completes its checkout even if Plixo had meanwhile given it
    # up (the payer started over, the session expired): taken money is never dropped, and
    # what the invoice no longer owes stays on the payment as unapplied.
    if not checkout.is_payable and checkout.provider == CheckoutProvider.SANDBOX:
        raise CheckoutError(
            f"This checkout is {checkout.get_status_display().lower()} and takes no payment."
        )
    provider_ref = (provider_ref or "").strip()
    if not provider_ref:
        raise CheckoutError("The provider's payment reference is missing.")
    amount, currency = _check_matches(checkout, amount, currency)

    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=checkout.invoice_id)
    )
    # The money has been taken whatever happened meanwhile (another payment, a write-off), so
    # apply what the invoice still owes and leave the rest on the payment as unapplied.
    applied = min(amount, invoice.balance) if invoice.is_open else Decimal("0")
    actor_label = _payer_label(checkout.contact)
    payment = payment_record(
        organization=checkout.organization,
        reference=provider_ref,
        amount=amount,
        currency=currency,
        received_at=received_at,
        method=method,
        source=checkout.provider,
        customer=invoice.customer,
        allocations=[AllocationRequest(invoice=invoice, amount=applied)] if applied else [],
        memo=f"{checkout.get_provider_display()} checkout {checkout.public_id}",
        actor_label=actor_label,
    )
    now = timezone.now()
    checkout.status = CheckoutStatus.COMPLETED
    checkout.completed_at = now
    checkout.payment = payment
    checkout.failure_code = ""
    if not checkout.provider_ref:
        checkout.provider_ref = provider_ref
    checkout.save(
        update_fields=["status", "completed_at", "payment", "failure_code", "provider_ref"]
    )
    invoice.refresh_from_db(fields=["balance", "status"])
    receipt = receipt_issue(payment=payment, invoice=invoice, checkout=checkout)
    data = {
        "amount": _money(amount, currency),
        "currency": currency,
        "provider": checkout.provider,
        "reference": provider_ref,
        "receipt": receipt.number,
    }
    if applied != amount:
        data["unapplied"] = _money(amount - applied, currency)
    timeline_record(invoice=invoice, kind="checkout_completed", actor_label=actor_label, data=data)
    receipt_id = receipt.pk
    transaction.on_commit(lambda: _queue_receipt_email(receipt_id))
    return payment


def _queue_receipt_email(receipt_id: int) -> None:
    """The task sends it unless maintenance holds all email: then the receipt stays pending
    (`emailed_at` empty) and the `payments.receipts_send_pending` job sends it once
    maintenance is over."""
    task_enqueue(RECEIPT_EMAIL_SEND_TASK, receipt_id)


@transaction.atomic
def checkout_fail(
    *, checkout: CheckoutSession, failure_code: str, message: str = ""
) -> CheckoutSession:
    """The provider declined an attempt. The checkout stays payable so the payer can retry."""
    checkout = (
        CheckoutSession.objects.select_for_update(of=("self",))
        .select_related("invoice", "contact")
        .get(pk=checkout.pk)
    )
    if not checkout.is_payable and checkout.status != CheckoutStatus.PROCESSING:
        raise CheckoutError(
            f"This checkout is {checkout.get_status_display().lower()}; a decline no longer "
            "applies to it."
        )
    failure_code = (failure_code or "").strip()[:60] or "declined"
    checkout.status = CheckoutStatus.FAILED
    checkout.failure_code = failure_code
    checkout.attempts += 1
    checkout.save(update_fields=["status", "failure_code", "attempts"])
    data = {
        "code": failure_code,
        "amount": _money(checkout.amount, checkout.currency),
        "currency": checkout.currency,
        "provider": checkout.provider,
    }
    if message:
        data["message"] = message[:300]
    timeline_record(
        invoice=checkout.invoice,
        kind="payment_failed",
        actor_label=_payer_label(checkout.contact),
        data=data,
    )
    return checkout


@transaction.atomic
def checkout_expire(*, checkout: CheckoutSession) -> CheckoutSession:
    """The provider closed its side unpaid (a Stripe session expires after 24 hours)."""
    checkout = CheckoutSession.objects.select_for_update(of=("self",)).get(pk=checkout.pk)
    if checkout.is_payable:
        checkout.status = CheckoutStatus.EXPIRED
        checkout.save(update_fields=["status"])
    return checkout


@transaction.atomic
def checkout_cancel(*, checkout: CheckoutSession) -> CheckoutSession:
    """The payer left the checkout without paying. Cancelling twice changes nothing."""
    checkout = (
        CheckoutSession.objects.select_for_update(of=("self",))
        .select_related("invoice", "contact")
        .get(pk=checkout.pk)
    )
    if checkout.status == CheckoutStatus.CANCELLED:
        return checkout
    if not checkout.is_payable:
        raise CheckoutError(f"This checkout is {checkout.get_status_display().lower()}.")
    checkout.status = CheckoutStatus.CANCELLED
    checkout.save(update_fields=["status"])
    timeline_record(
        invoice=checkout.invoice,
        kind="checkout_cancelled",
        actor_label=_payer_label(checkout.contact),
        data={
            "amount": _money(checkout.amount, checkout.currency),
            "currency": checkout.currency,
        },
    )
    return checkout


# ---------------------------------------------------------------------------------------------
# Receipt email


def receipt_recipient(receipt: Receipt) -> Contact | None:
    """Who gets the receipt: the contact who paid, else the customer's primary contact; never
    a suppressed address."""
    candidates = []
    if receipt.checkout_id and receipt.checkout.contact_id:
        candidates.append(receipt.checkout.contact)
    primary = (
        Contact.objects.filter(customer_id=receipt.invoice.customer_id, is_primary=True)
        .order_by("pk")
        .first()
    )
    if primary is not None:
        candidates.append(primary)
    for contact in candidates:
        if not contact.is_suppressed:
            return contact
    return None


def receipt_email_claim(*, receipt: Receipt, recipient: str) -> bool:
    """Claim a pending receipt for sending with a conditional update, so two workers (the
    queued task and the pending-receipts job) never both send it. False: someone else has."""
    claimed = Receipt.objects.filter(pk=receipt.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now(), emailed_to=recipient, email_error=""
    )
    return claimed == 1


def receipt_email_release(*, receipt: Receipt, error: str) -> None:
    """Sending failed: put the receipt back to pending with the reason."""
    Receipt.objects.filter(pk=receipt.pk).update(emailed_at=None, email_error=error[:300])


def receipt_email_skip(*, receipt: Receipt, reason: str) -> None:
    """No one to send to: keep the receipt pending with the reason staff see."""
    Receipt.objects.filter(pk=receipt.pk, emailed_at__isnull=True).update(email_error=reason[:300])


@transaction.atomic
def receipt_emailed_record(*, receipt: Receipt, recipient: str) -> None:
    timeline_record(
        invoice=receipt.invoice,
        kind="receipt_emailed",
        data={
            "receipt": receipt.number,
            "to": recipient,
            "amount": _money(receipt.amount, receipt.currency),
            "currency": receipt.currency,
        },
    )


def checkout_confirm_still_owed(*, checkout: CheckoutSession) -> None:
    """Before a provider takes the payer's money: the invoice must still owe what the checkout
    asks. A checkout opened before the invoice was paid, credited or voided another way is
    cancelled instead, so the payer is never charged twice. A checkout that is already complete
    is left to `checkout_complete`, which answers a repeat with the same payment."""
    if not checkout.is_payable:
        return
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=checkout.invoice_id)
        owed = invoice.is_open and checkout.amount <= invoice.balance
    if not owed:
        checkout_cancel(checkout=checkout)
        raise CheckoutError(
            f"Invoice {invoice.number} no longer owes {_money(checkout.amount, checkout.currency)} "
            f"{checkout.currency}; nothing was charged. Go back to the invoice to see what is due."
        )


# ---------------------------------------------------------------------------------------------
# Settings


@transaction.atomic
def partial_payments_set(*, organization, allowed: bool, actor=None):
    """Whether the portal lets payers pay part of a balance (PORTAL-4)."""
    from plixo.core.models import Organization

    Organization.objects.filter(pk=organization.pk).update(allow_partial_payments=bool(allowed))
    organization.allow_partial_payments = bool(allowed)
    return organization
