"""The outbox: every queued email is claimed by one worker, checked, sent once and recorded.

A message goes out only when all of these hold at the moment of sending, otherwise it is held
(the reason and the time it will go are kept on it and on the invoice timeline) or cancelled:
the invoice is still open and not paused by a promise, plan or dispute; the contact is not
suppressed; maintenance is off; the payer's send window is open (quiet hours in the payer's
time zone, weekends, the payer's public holidays); today's caps — the organization's, the
approving operator's and the sending domain's warmup — have room. In test mode the email goes
to the organization's test address instead, marked as a test.

Crash safety (R5). The claim is a conditional UPDATE (QUEUED → SENDING): two workers never send
one message. Just before the email is handed to the provider, `send_started_at` is committed.
A claim older than `COMMS_CLAIM_LEASE` with no `send_started_at` is a worker that died before
sending: the message is queued again and sent once. One with `send_started_at` died while
handing it over; whether the provider took it cannot be known, so it becomes "delivery
unknown" for a person to settle (retry, or confirm it went) rather than risk a second copy.
"""

import datetime as dt
import os
from email.utils import formataddr, parseaddr

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape, linebreaks, urlize
from django.utils.module_loading import import_string

from plixo.comms.merge import MergeContext, MergeFieldError, render
from plixo.comms.models import (
    CadenceEnrollment,
    Message,
    OperatorSendWindow,
    SendingDomain,
    SendingSettings,
)
from plixo.comms.services.notices import sends_while_paused
from plixo.comms.services.setup import sending_settings_for
from plixo.comms.windows import SendWindow, next_day_opening, window_check
from plixo.ledger.models import Contact, Invoice, InvoiceStatus, TimelineEvent

log = structlog.get_logger("plixo.comms")

MAX_ATTEMPTS = 5
RETRY_AFTER = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30))
OUTBOX_BATCH = 200
CADENCE_LABEL = "Plixo cadence"


def claim_lease() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "COMMS_CLAIM_LEASE", 300))


def worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"[:120]


# --- the checks ------------------------------------------------------------------------------


def payer_zone(message: Message, contact: Contact | None) -> str:
    invoice = message.invoice
    if contact is not None and contact.time_zone:
        return contact.time_zone
    return invoice.customer.time_zone or invoice.organization.time_zone or "UTC"


def sender_window(message: Message) -> tuple[dt.time, dt.time]:
    """The window an email goes out in: the approving operator's own, when a manager set one,
    else the organization's."""
    organization = message.invoice.organization
    if message.approved_by_id is not None:
        own = (
            OperatorSendWindow.objects.filter(
                organization_id=organization.pk, membership__user_id=message.approved_by_id
            )
            .values_list("start", "end")
            .first()
        )
        if own is not None:
            return own
    return organization.quiet_hours_start, organization.quiet_hours_end


def payer_window(message: Message, contact: Contact | None, sending: SendingSettings) -> SendWindow:
    start, end = sender_window(message)
    return SendWindow(
        start=start,
        end=end,
        time_zone=payer_zone(message, contact),
        country=message.invoice.customer.country or "",
        send_on_weekends=sending.send_on_weekends,
        skip_holidays=sending.skip_holidays,
    )


def sender_address(sending: SendingSettings) -> tuple[str, str]:
    """(From header, domain) — the organization's address or the installation's default."""
    name, address = parseaddr(sending.from_email or settings.DEFAULT_FROM_EMAIL)
    if sending.from_email:
        name = sending.from_name or name
    domain = address.rsplit("@", 1)[-1].lower() if "@" in address else ""
    return (formataddr((name, address)) if name else address), domain


def warmup_cap(sending: SendingSettings, domain: SendingDomain | None, today: dt.date) -> int:
    """A new sending domain starts at `warmup_first_day_cap` emails a day and doubles each day
    until it reaches the organization's daily cap."""
    if not sending.warmup_enabled or domain is None or domain.warmup_started_on is None:
        return sending.daily_cap if not sending.warmup_enabled else sending.warmup_first_day_cap
    days = max((today - domain.warmup_started_on).days, 0)
    if days >= 30:
        return sending.daily_cap
    return min(sending.daily_cap, sending.warmup_first_day_cap * (2**days))


def _local_midnight(zone_name: str, now: dt.datetime) -> dt.datetime:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(zone_name)
    local = now.astimezone(zone)
    return dt.datetime.combine(local.date(), dt.time(0, 0)).replace(tzinfo=zone)


def _claimed_since(organization_id: int, since: dt.datetime, **extra) -> int:
    return Message.objects.filter(
        organization_id=organization_id,
        status__in=[Message.Status.SENDING, Message.Status.SENT, Message.Status.UNKNOWN],
        claimed_at__gte=since,
        **extra,
    ).count()


def caps_check(
    message: Message, sending: SendingSettings, window: SendWindow, now: dt.datetime
) -> tuple[str, dt.datetime | None]:
    """("", None) when today's caps have room; else the reason and the next window opening on a
    later day. Days are the organization's."""
    organization = message.invoice.organization
    since = _local_midnight(organization.time_zone, now)
    _from, domain_name = sender_address(sending)
    domain = SendingDomain.objects.filter(
        organization_id=organization.pk, domain=domain_name
    ).first()
    today = since.date()
    org_cap = min(sending.daily_cap, warmup_cap(sending, domain, today))
    sent = _claimed_since(organization.pk, since)
    reason = ""
    if sent >= org_cap:
        if org_cap < sending.daily_cap:
            reason = (
                f"warmup cap reached for {domain_name or 'the sending domain'} ({org_cap} today)"
            )
        else:
            reason = f"daily cap reached ({org_cap} emails)"
    elif message.approved_by_id is not None:
        mine = _claimed_since(organization.pk, since, approved_by_id=message.approved_by_id)
        if mine >= sending.operator_daily_cap:
            reason = f"operator's daily cap reached ({sending.operator_daily_cap} emails)"
    if not reason:
        return "", None
    return reason, next_day_opening(window, now)


def _blocked_by_cadence(invoice: Invoice, purpose: str = "") -> str:
    """Why the invoice must not be chased now (closed, disputed, paused), or "". A promise
    reminder or a plan notice still goes while a promise or plan pauses the cadence."""
    if not invoice.is_open or invoice.balance <= 0:
        return f"Invoice is {invoice.get_status_display().lower()}"
    enrollment = CadenceEnrollment.objects.filter(invoice_id=invoice.pk).first()
    if enrollment is None:
        return ""
    if purpose.startswith("followup:promise_reminder:") and (
        enrollment.state != CadenceEnrollment.State.PAUSED
        or not enrollment.reason.startswith("Promise")
    ):
        return "The promise is no longer pending"
    if (
        enrollment.state == CadenceEnrollment.State.PAUSED
        and invoice.status != InvoiceStatus.DISPUTED
        and sends_while_paused(purpose)
    ):
        return ""
    if enrollment.state in (CadenceEnrollment.State.PAUSED, CadenceEnrollment.State.STOPPED):
        return f"Cadence {enrollment.get_state_display().lower()}: {enrollment.reason}"
    return ""


def _timeline(message: Message, kind: str, data: dict, now: dt.datetime, actor=None) -> None:
    TimelineEvent.objects.create(
        organization_id=message.organization_id,
        invoice_id=message.invoice_id,
        kind=kind,
        actor=actor,
        actor_label=str(actor) if actor is not None else CADENCE_LABEL,
        at=now,
        data={"message": str(message.public_id), **data},
    )


def _hold(message: Message, reason: str, until: dt.datetime | None, now: dt.datetime) -> str:
    """Keep a queued message in the outbox until `until`, saying why (once per new reason)."""
    until = until or now + dt.timedelta(hours=1)
    changed = message.hold_reason != reason
    Message.objects.filter(pk=message.pk).update(
        send_after=until, hold_reason=reason[:300], updated_at=now
    )
    if changed:
        _timeline(
            message,
            "email_held",
            {"reason": reason, "until": until.isoformat(), "subject": message.subject},
            now,
        )
    return "held"


def _cancel(message: Message, reason: str, now: dt.datetime) -> str:
    Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).update(
        status=Message.Status.CANCELLED, status_reason=reason[:300], updated_at=now
    )
    _timeline(message, "email_cancelled", {"count": 1, "reason": reason}, now)
    return "cancelled"


def _recipient(message: Message) -> Contact | None:
    if message.contact_id is not None:
        return message.contact
    return (
        Contact.objects.filter(customer_id=message.invoice.customer_id)
        .order_by("-is_primary", "created_at", "id")
        .first()
    )


# --- delivering one message -------------------------------------------------------------------


def _sender_name(message: Message, sending: SendingSettings) -> str:
    if message.approved_by is not None and message.approved_by.full_name:
        return message.approved_by.full_name
    return sending.from_name or message.invoice.organization.name


def merge_context(
    message: Message, contact: Contact | None, sending: SendingSettings, pay_link: str
) -> MergeContext:
    invoice = message.invoice
    from plixo.ledger.selectors import org_today

    today = org_today(invoice.organization)
    return MergeContext(
        invoice_number=invoice.number,
        amount_due=invoice.balance,
        currency=invoice.currency,
        due_date=invoice.due_date,
        customer_name=invoice.customer.name,
        contact_name=(contact.name if contact else "") or "",
        days_overdue=(today - invoice.due_date).days,
        sender_name=_sender_name(message, sending),
        pay_link=pay_link,
        locale=invoice.organization.locale or "en_US",
    )


def _email(
    message: Message, sending: SendingSettings, domain: str, *, body: str
) -> EmailMultiAlternatives:
    from_header, _ = sender_address(sending)
    if message.is_test:
        body = (
            f"[Test mode] This email would have gone to {message.intended_email or 'nobody'}. "
            "The organization is not live yet; a Controller switches it live in the sending "
            "settings.\n\n" + body
        )
    email = EmailMultiAlternatives(
        subject=message.rendered_subject,
        body=body,
        from_email=from_header,
        to=[message.to_email],
        reply_to=[sending.reply_to] if sending.reply_to else None,
        headers={
            # The same id on every attempt: providers and mail servers can tell a retry.
            "Message-ID": f"<{message.idempotency_key.replace(':', '.')}@{domain or 'plixo'}>",
            "X-Plixo-Message": str(message.public_id),
            **({"X-Plixo-Test": "1"} if message.is_test else {}),
        },
    )
    email.attach_alternative(linebreaks(urlize(escape(body), autoescape=False)), "text/html")
    # Read by anymail backends (and ignored by SMTP): tracking events carry these back.
    email.metadata = {"plixo_message": str(message.public_id)}
    email.tags = ["plixo", message.kind]
    return email


# A one-off email written from the workspace with "attach the invoice PDF" ticked.
PDF_PURPOSE_PREFIX = "notice:oneoff-pdf:"


def _attach_documents(email: EmailMultiAlternatives, message: Message) -> None:
    """The documents a person attached, and the current invoice PDF, rendered at send time (so
    it shows the balance as it is then), on the messages that asked for it. A PDF that cannot
    be rendered fails the attempt, which is retried: the payer never gets the email without
    the document it promises."""
    for attachment in message.attachments.all():
        # A document a person attached (a revised invoice PDF), as they uploaded it.
        with attachment.file.open("rb") as handle:
            email.attach(attachment.original_name, handle.read(), attachment.content_type)
    if not (message.purpose or "").startswith(PDF_PURPOSE_PREFIX) or message.invoice_id is None:
        return
    from plixo.payments.documents import invoice_pdf, pdf_filename

    invoice = message.invoice
    email.attach(pdf_filename("Invoice", invoice.number), invoice_pdf(invoice), "application/pdf")


def message_deliver(
    *, message_id: int, now: dt.datetime | None = None, worker: str | None = None
) -> str:
    """Try to send one queued message now. Returns what happened: "sent", "held",
    "cancelled", "retry", "failed", or "skipped" (not queued, not due, or another worker
    has it)."""
    from plixo.ops.selectors import maintenance_active

    now = now or timezone.now()
    worker = worker or worker_name()
    if maintenance_active():
        return "skipped"
    message = (
        Message.objects.select_related(
            "invoice__organization", "invoice__customer", "contact", "approved_by"
        )
        .filter(pk=message_id)
        .first()
    )
    if message is None or message.status != Message.Status.QUEUED:
        return "skipped"
    if message.send_after is not None and message.send_after > now:
        return "skipped"
    organization = message.invoice.organization
    sending = sending_settings_for(organization)
    with transaction.atomic():
        # One sender per organization at a time from here to the claim, so two workers cannot
        # both see room under the day's cap.
        sending = SendingSettings.objects.select_for_update().get(pk=sending.pk)
        blocked = _blocked_by_cadence(message.invoice, message.purpose)
        if blocked:
            return _cancel(message, blocked, now)
        contact = _recipient(message)
        if contact is None:
            return _hold(message, "no contact on file for this customer", None, now)
        if contact.suppressed_at(now):
            why = f"contact suppressed ({contact.suppression_reason or 'no reason given'})"
            if contact.suppressed_until is not None:
                return _hold(message, why, contact.suppressed_until, now)
            return _cancel(message, why, now)
        if not organization.is_live and not sending.test_address:
            return _hold(
                message, "test mode and no test address set in the sending settings", None, now
            )
        window = payer_window(message, contact, sending)
        check = window_check(window, now)
        if not check.open_now:
            return _hold(message, check.reason, check.opens_at, now)
        cap_reason, cap_until = caps_check(message, sending, window, now)
        if cap_reason:
            return _hold(message, cap_reason, cap_until, now)
        claimed = Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).update(
            status=Message.Status.SENDING,
            claimed_at=timezone.now(),
            claimed_by=worker,
            attempts=message.attempts + 1,
            contact=contact,
            updated_at=now,
        )
        if claimed != 1:
            return "skipped"
    message.contact = contact
    message.attempts += 1
    hook = getattr(settings, "COMMS_OUTBOX_AFTER_CLAIM", None)
    if hook:
        # A seam for the crash tests: a worker killed here has claimed but not sent.
        import_string(hook)(message)
    return _send_claimed(message, contact, sending, now, worker)


REDACTED_LINK = "[single-use pay link, sent only in the email]"


def _claimed_update(message: Message, worker: str, **fields) -> bool:
    """Write to a message only while this worker still holds its claim."""
    return bool(
        Message.objects.filter(
            pk=message.pk, status=Message.Status.SENDING, claimed_by=worker
        ).update(**fields)
    )


def _send_claimed(
    message: Message, contact: Contact, sending: SendingSettings, now: dt.datetime, worker: str
) -> str:
    from plixo.portal.services import portal_link_issue

    organization = message.invoice.organization
    from_header, domain_name = sender_address(sending)
    try:
        with transaction.atomic():
            # The invoice row lock orders this send against a payment, a promise or a dispute
            # (their hooks cancel unsent email under the same lock): look again now.
            invoice = (
                Invoice.objects.select_for_update()
                .select_related("customer", "organization")
                .get(pk=message.invoice_id)
            )
            message.invoice = invoice
            contact = Contact.objects.filter(pk=contact.pk).first()
            blocked = _blocked_by_cadence(invoice, message.purpose)
            if not blocked and (contact is None or contact.suppressed_at(timezone.now())):
                blocked = "Contact suppressed or removed"
            if blocked:
                if _claimed_update(
                    message,
                    worker,
                    status=Message.Status.CANCELLED,
                    status_reason=blocked[:300],
                    updated_at=now,
                ):
                    _timeline(message, "email_cancelled", {"count": 1, "reason": blocked}, now)
                return "cancelled"
            link, path = portal_link_issue(
                invoice=invoice, contact=contact, actor=None, revoke_earlier=False, source="email"
            )
            real = merge_context(message, contact, sending, f"{settings.PLIXO_PUBLIC_URL}{path}")
            # What is stored (and shown to staff) never holds the raw token: a copy of the
            # email with the link redacted. The email itself gets the real link.
            stored = merge_context(message, contact, sending, REDACTED_LINK)
            # One line, whatever stored text (a name, an invoice number) brought along.
            subject = " ".join(render(message.subject, real).split())[:400]
            body = render(message.body, real)
            is_test = not organization.is_live
            if is_test:
                subject = f"[TEST] {subject}"[:400]
            message.rendered_subject = subject
            message.rendered_body = render(message.body, stored)
            message.is_test = is_test
            message.intended_email = contact.email
            message.to_email = sending.test_address if is_test else contact.email
            message.sending_domain = domain_name
            message.portal_link = link
            message.send_started_at = timezone.now()
            if not _claimed_update(
                message,
                worker,
                rendered_subject=message.rendered_subject,
                rendered_body=message.rendered_body,
                is_test=message.is_test,
                intended_email=message.intended_email,
                to_email=message.to_email,
                sending_domain=domain_name,
                portal_link=link,
                send_started_at=message.send_started_at,
                updated_at=now,
            ):
                # The claim was taken over (it looked dead): the other worker sends it.
                transaction.set_rollback(True)
                return "skipped"
            domain, _ = SendingDomain.objects.get_or_create(
                organization_id=organization.pk, domain=domain_name
            )
            if domain.warmup_started_on is None:
                SendingDomain.objects.filter(pk=domain.pk).update(
                    warmup_started_on=_local_midnight(organization.time_zone, now).date()
                )
    except MergeFieldError as exc:
        return _fail(
            message, f"The template cannot be filled: {exc}", now, final=True, worker=worker
        )
    email = _email(message, sending, domain_name, body=body)
    try:
        _attach_documents(email, message)
        email.send()
    except Exception as exc:  # any provider or SMTP error: keep it, retry later
        log.warning("comms.send_failed", message=str(message.public_id), error=str(exc))
        return _fail(message, f"{type(exc).__name__}: {exc}", now, worker=worker)
    status = getattr(email, "anymail_status", None)
    provider_id = (getattr(status, "message_id", None) or "") if status is not None else ""
    with transaction.atomic():
        if not _claimed_update(
            message,
            worker,
            status=Message.Status.SENT,
            sent_at=timezone.now(),
            provider_message_id=str(provider_id)[:200],
            hold_reason="",
            last_error="",
            updated_at=timezone.now(),
        ):
            log.error("comms.claim_lost_after_send", message=str(message.public_id))
            return "sent"
        data = {
            "to": message.to_email,
            "subject": message.rendered_subject,
            "step": f"{message.step.offset_days:+d}" if message.step else message.purpose,
        }
        if message.is_test:
            data["test_mode"] = True
            data["intended_for"] = message.intended_email
        actor = message.approved_by
        _timeline(message, "email_sent", data, now, actor=actor)
    log.info("comms.sent", message=str(message.public_id), test=message.is_test)
    return "sent"


def _fail(
    message: Message, error: str, now: dt.datetime, *, final: bool = False, worker: str = ""
) -> str:
    """The provider refused or could not be reached: nothing left the building, so the message
    is queued again with a backoff, or failed for good after MAX_ATTEMPTS."""
    from plixo.portal.models import PortalLink

    with transaction.atomic():
        if message.portal_link_id:
            PortalLink.objects.filter(pk=message.portal_link_id, revoked_at=None).update(
                revoked_at=now
            )
        final = final or message.attempts >= MAX_ATTEMPTS
        fields = {
            "send_started_at": None,
            "claimed_at": None,
            "last_error": error[:4000],
            "updated_at": now,
        }
        if final:
            fields.update(status=Message.Status.FAILED, status_reason=error[:300])
        else:
            delay = RETRY_AFTER[min(message.attempts - 1, len(RETRY_AFTER) - 1)]
            fields.update(status=Message.Status.QUEUED, send_after=now + delay)
        held = Message.objects.filter(pk=message.pk, status=Message.Status.SENDING)
        if worker:
            held = held.filter(claimed_by=worker)
        if not held.update(**fields):
            return "skipped"
        if final:
            _timeline(message, "email_failed", {"error": error[:300]}, now)
    return "failed" if final else "retry"


# --- the outbox job ----------------------------------------------------------------------------


def outbox_recover(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Claims whose worker died. (requeued, unknown)."""
    now = now or timezone.now()
    stale = now - claim_lease()
    requeued = Message.objects.filter(
        status=Message.Status.SENDING, claimed_at__lt=stale, send_started_at__isnull=True
    ).update(status=Message.Status.QUEUED, claimed_at=None, claimed_by="", send_after=now)
    unknown = list(Message.objects.filter(status=Message.Status.SENDING, send_started_at__lt=stale))
    for message in unknown:
        with transaction.atomic():
            if Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
                status=Message.Status.UNKNOWN,
                status_reason="The worker stopped while handing this email to the provider.",
                updated_at=now,
            ):
                _timeline(
                    message,
                    "email_delivery_unknown",
                    {
                        "to": message.to_email,
                        "reason": "The worker stopped while handing this email to the "
                        "provider; check the provider's log, then retry or leave it.",
                    },
                    now,
                )
    return requeued, len(unknown)


def outbox_send(*, now: dt.datetime | None = None, limit: int = OUTBOX_BATCH) -> dict:
    """One run of the outbox: recover dead claims, then deliver what is due, oldest first."""
    from plixo.ops.selectors import maintenance_active

    explicit = now is not None
    now = now or timezone.now()
    requeued, unknown = outbox_recover(now=now)
    counts = {"sent": 0, "held": 0, "cancelled": 0, "retry": 0, "failed": 0, "skipped": 0}
    if maintenance_active():
        return {**counts, "requeued": requeued, "unknown": unknown, "maintenance": True}
    due = list(
        Message.objects.filter(status=Message.Status.QUEUED)
        .filter(Q(send_after__lte=now) | Q(send_after__isnull=True))
        .order_by("send_after", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        try:
            # Each email is judged at its own moment (a slow batch must not send on a window
            # that has closed since the batch began), unless a caller fixed the time.
            outcome = message_deliver(message_id=pk, now=now if explicit else None)
        except Exception:
            log.exception("comms.deliver_error", message=pk)
            outcome = "failed"
        counts[outcome] = counts.get(outcome, 0) + 1
    return {**counts, "requeued": requeued, "unknown": unknown}
