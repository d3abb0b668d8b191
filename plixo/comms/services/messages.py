"""What operators do with drafts: edit, approve (queue for the outbox), send now, cancel."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from plixo.comms.merge import MergeFieldError, template_check
from plixo.comms.models import BODY_MAX, SUBJECT_MAX, CommsError, Message, Tone
from plixo.core.models import User
from plixo.ledger.models import TimelineEvent
from plixo.ledger.validation import text_check


def _locked(message: Message) -> Message:
    return (
        Message.objects.select_for_update(of=("self",))
        .select_related("invoice", "contact", "cadence", "step")
        .get(pk=message.pk)
    )


def _event(message: Message, kind: str, actor: User | None, data: dict, now: dt.datetime):
    TimelineEvent.objects.create(
        organization_id=message.organization_id,
        invoice_id=message.invoice_id,
        kind=kind,
        actor=actor,
        actor_label=str(actor) if actor is not None else "Plixo cadence",
        at=now,
        data={"message": str(message.public_id), **data},
    )


@transaction.atomic
def message_edit(
    *,
    message: Message,
    subject: str | None = None,
    body: str | None = None,
    tone: str | None = None,
    actor: User | None,
) -> Message:
    """Change a draft's text or tone before it goes. Merge fields are checked as for cadence
    templates; a sent or cancelled email cannot change."""
    message = _locked(message)
    if message.status != Message.Status.DRAFT:
        raise CommsError(
            f"Only drafts can be edited; this email is {message.get_status_display().lower()}."
        )
    new_subject = message.subject if subject is None else subject
    new_body = message.body if body is None else body
    new_subject = text_check(new_subject, "The subject", single_line=True).strip()
    new_body = text_check(new_body, "The body").strip()
    if not new_subject or not new_body:
        raise CommsError("A draft needs a subject and a body.")
    if len(new_subject) > SUBJECT_MAX or len(new_body) > BODY_MAX:
        raise CommsError(
            f"The subject is at most {SUBJECT_MAX} characters and the body {BODY_MAX}."
        )
    try:
        template_check(subject=new_subject, body=new_body, require_pay_link=True)
    except MergeFieldError as exc:
        raise CommsError(str(exc)) from None
    if tone is not None and tone not in Tone.values:
        raise CommsError(f"The tone must be one of {', '.join(Tone.values)}.")
    message.subject, message.body = new_subject, new_body
    if tone is not None:
        message.tone = tone
    message.edited_at = timezone.now()
    message.save(update_fields=["subject", "body", "tone", "edited_at", "updated_at"])
    return message


@transaction.atomic
def message_approve(
    *, message: Message, actor: User | None, now: dt.datetime | None = None
) -> Message:
    """Approve a draft: it joins the outbox and goes at the payer's next send window, within
    the day's caps. Approving an email already in the outbox, being sent or sent changes
    nothing (a double press must never send twice); a failed email is retried, not approved."""
    now = now or timezone.now()
    message = _locked(message)
    if message.status in (Message.Status.QUEUED, Message.Status.SENDING, Message.Status.SENT):
        return message
    if message.status != Message.Status.DRAFT:
        raise CommsError(
            f"This email is {message.get_status_display().lower()}; only drafts are approved"
            + (
                " (use Retry)."
                if message.status in (Message.Status.FAILED, Message.Status.UNKNOWN)
                else "."
            )
        )
    if message.contact_id is None:
        raise CommsError(
            "This invoice's customer has no contact with an email address; add one first."
        )
    message.check_transition(Message.Status.QUEUED)
    if not message.invoice.is_open or message.invoice.balance <= 0:
        raise CommsError(
            f"Invoice {message.invoice.number} is "
            f"{message.invoice.get_status_display().lower()}; there is nothing to chase."
        )
    message.status = Message.Status.QUEUED
    message.approved_by = actor
    message.approved_at = now
    message.send_after = now
    message.hold_reason = ""
    message.save(
        update_fields=[
            "status",
            "approved_by",
            "approved_at",
            "send_after",
            "hold_reason",
            "updated_at",
        ]
    )
    _event(message, "email_approved", actor, {"subject": message.subject}, now)
    return message


def message_send_now(*, message: Message, actor: User | None) -> Message:
    """Approve if needed and try to send at once (quiet hours, caps, test mode and suppression
    still apply: the email may be held, with the reason and the time it will go)."""
    from plixo.comms.services.outbox import message_deliver

    if message.status == Message.Status.SENT:
        raise CommsError("This email was already sent; it is never sent twice.")
    message = message_approve(message=message, actor=actor)
    if message.status != Message.Status.QUEUED:
        return message  # being sent right now: a second press sends nothing
    # A held email is looked at again now: the window may be open or the cap have room. Every
    # check still applies, so it may be held again, with the reason.
    Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).update(
        send_after=timezone.now()
    )
    message_deliver(message_id=message.pk)
    message.refresh_from_db()
    return message


@transaction.atomic
def message_cancel(*, message: Message, actor: User | None, reason: str = "") -> Message:
    message = _locked(message)
    if message.status == Message.Status.CANCELLED:
        raise CommsError("This email is already cancelled.")
    message.check_transition(Message.Status.CANCELLED)
    reason = text_check(reason or "", "The reason", single_line=True).strip()[:300]
    now = timezone.now()
    message.status = Message.Status.CANCELLED
    message.status_reason = reason or "Cancelled by hand"
    message.save(update_fields=["status", "status_reason", "updated_at"])
    _event(message, "email_cancelled", actor, {"count": 1, "reason": message.status_reason}, now)
    return message


@transaction.atomic
def message_requeue(*, message: Message, actor: User | None) -> Message:
    """Send a failed email again, or one whose delivery is unknown (a worker died while
    handing it to the provider) once someone has checked it did not go."""
    message = _locked(message)
    if message.status not in (Message.Status.FAILED, Message.Status.UNKNOWN):
        raise CommsError("Only failed emails, or those whose delivery is unknown, are retried.")
    now = timezone.now()
    message.status = Message.Status.QUEUED
    message.send_after = now
    message.send_started_at = None
    message.claimed_at = None
    message.hold_reason = ""
    message.save(
        update_fields=[
            "status",
            "send_after",
            "send_started_at",
            "claimed_at",
            "hold_reason",
            "updated_at",
        ]
    )
    _event(message, "email_requeued", actor, {"subject": message.subject}, now)
    return message
