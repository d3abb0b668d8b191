"""Email provider tracking events (bounces, complaints, deliveries …) from anymail's webhooks.

anymail verifies each webhook (basic auth with `ANYMAIL["WEBHOOK_SECRET"]`, and Mailgun's
signature), normalises the provider's payload into `AnymailTrackingEvent`s and sends each
through its `tracking` signal; `tracking_received` (connected in `CommsConfig.ready`) hands
them to `email_event_record`, which stores one `EmailEvent` per provider event id and, in the
same transaction, suppresses the address (hard bounces, complaints, rejections, unsubscribes)
and writes the invoice's timeline. A duplicate delivery of the same event changes nothing.

Soft bounces and deferrals never suppress: the provider is still trying, or the mailbox is
full for a day. anymail reports some soft bounces as `bounced` (Postmark's SoftBounce, SES's
Transient, SendGrid's blocked), so the hard/soft decision reads the provider's own payload.
"""

import datetime as dt
import hashlib
import json
import re
import uuid

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from plixo.comms.models import EmailEvent, Message
from plixo.comms.services import contact_suppress
from plixo.ledger.models import Contact, TimelineEvent

log = structlog.get_logger(__name__)

Kind = EmailEvent.Kind

# anymail's normalised event types that Plixo keeps, and what they become (bounces are
# decided per provider below). `queued` and `sent` say nothing the outbox does not know.
EVENT_KINDS = {
    "delivered": Kind.DELIVERED,
    "deferred": Kind.DEFERRED,
    "complained": Kind.COMPLAINED,
    "rejected": Kind.REJECTED,
    "unsubscribed": Kind.UNSUBSCRIBED,
    "opened": Kind.OPENED,
    "clicked": Kind.CLICKED,
    "failed": Kind.OTHER,
    "subscribed": Kind.OTHER,
    "autoresponded": Kind.OTHER,
    "unknown": Kind.OTHER,
}
IGNORED_TYPES = frozenset({"queued", "sent", "inbound", "inbound_failed"})

# A provider's rejection for one of these reasons is about the sender or the content (a
# DMARC failure, an unconfirmed sender signature, a virus, an expired retry), not about the
# payer's address, so the address is not suppressed.
NOT_ADDRESS_REASONS = frozenset({None, "", "blocked", "timed_out"})

# Providers whose event id names a whole notification that may cover several recipients
# (Amazon SES through SNS): the stored id adds the recipient.
PER_NOTIFICATION_IDS = frozenset({"amazon_ses"})

TIMELINE_KINDS = {
    Kind.BOUNCED: "email_bounced",
    Kind.SOFT_BOUNCE: "email_soft_bounced",
    Kind.COMPLAINED: "email_complained",
}

EVENT_ID_MAX = 200
DESCRIPTION_MAX = 500
REASON_MAX = 150
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


def provider_slug(esp_name: str) -> str:
    """anymail's display name ("Amazon SES") as the stored provider ("amazon_ses")."""
    return re.sub(r"[^a-z0-9]+", "_", (esp_name or "unknown").lower()).strip("_")[:30]


def _one_line(value, limit: int) -> str:
    text = _UNPRINTABLE.sub(" ", str(value or "")).strip()
    return re.sub(r"\s{2,}", " ", text)[:limit]


def _json_safe(value):
    """The provider's raw event as JSON (Mailgun's legacy form posts arrive as a QueryDict)."""
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return {"raw": str(value)}


def _esp(event) -> dict:
    esp_event = getattr(event, "esp_event", None)
    return esp_event if isinstance(esp_event, dict) else {}


def event_kind(*, provider: str, event) -> str | None:
    """The `EmailEvent.Kind` of an anymail tracking event, or None for one Plixo ignores."""
    event_type = str(event.event_type or "unknown")
    if event_type in IGNORED_TYPES:
        return None
    esp = _esp(event)
    if provider == "postmark" and esp.get("RecordType") == "Bounce":
        # anymail: HardBounce → bounced, SoftBounce → bounced, Transient/DnsError → deferred.
        # Every bounce record but a HardBounce is temporary.
        if event_type == "bounced":
            return Kind.BOUNCED if esp.get("Type") == "HardBounce" else Kind.SOFT_BOUNCE
        if event_type == "deferred":
            return Kind.SOFT_BOUNCE
    if event_type == "bounced":
        if provider == "amazon_ses":
            bounce_type = (esp.get("bounce") or {}).get("bounceType")
            # "Undetermined" is not proof the address is dead: treat it as soft.
            return Kind.BOUNCED if bounce_type == "Permanent" else Kind.SOFT_BOUNCE
        if provider == "sendgrid":
            # SendGrid's bounce event carries type "bounce" (permanent) or "blocked"
            # (refused for now, often reputation or content).
            return Kind.SOFT_BOUNCE if esp.get("type") == "blocked" else Kind.BOUNCED
        if provider == "mailgun":
            severity = (esp.get("event-data") or {}).get("severity")
            return Kind.BOUNCED if severity in (None, "permanent") else Kind.SOFT_BOUNCE
        return Kind.BOUNCED
    if event_type == "deferred" and provider == "mailgun":
        # Mailgun's "failed" with severity "temporary" (anymail calls it deferred): a bounce
        # that Mailgun will retry.
        return Kind.SOFT_BOUNCE
    return EVENT_KINDS.get(event_type, Kind.OTHER)


def event_key(*, provider: str, event) -> str:
    """The id this event is stored (and deduplicated) under."""
    recipient = (event.recipient or "").strip().lower()
    event_id = str(event.event_id or "").strip()
    if event_id and provider in PER_NOTIFICATION_IDS:
        event_id = f"{event_id}/{recipient}"
    if not event_id:
        # No id from the provider (Postmark deliveries and opens, for instance): the same
        # delivery posted again hashes to the same value.
        timestamp = event.timestamp.isoformat() if event.timestamp else ""
        fields = [
            provider,
            str(event.event_type or ""),
            str(event.message_id or ""),
            recipient,
            timestamp,
            json.dumps(_json_safe(getattr(event, "esp_event", None)), sort_keys=True),
        ]
        digest = hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()
        return f"sha256:{digest}"
    if len(event_id) > EVENT_ID_MAX:
        return "sha256:" + hashlib.sha256(event_id.encode("utf-8")).hexdigest()
    return event_id


def _message_for(event) -> Message | None:
    """The sent message this event is about: by the public id Plixo put in the email's
    metadata, else by the provider's message id recorded when it was sent."""
    metadata = event.metadata if isinstance(getattr(event, "metadata", None), dict) else {}
    public_id = metadata.get("plixo_message")
    if public_id:
        try:
            message = Message.objects.filter(public_id=uuid.UUID(str(public_id))).first()
        except ValueError:
            message = None
        if message is not None:
            return message
    provider_id = str(event.message_id or "").strip()
    if provider_id:
        return Message.objects.filter(provider_message_id=provider_id[:200]).first()
    return None


def _stored(provider: str, key: str) -> EmailEvent | None:
    return EmailEvent.objects.filter(provider=provider, event_id=key).first()


def _description(event) -> str:
    parts = [event.description, event.mta_response]
    return _one_line(" — ".join(str(p) for p in parts if p), DESCRIPTION_MAX)


def _suppression_kind(kind: str, event) -> str | None:
    """The contact suppression an event calls for, or None."""
    if kind == Kind.BOUNCED:
        return "bounced"
    if kind == Kind.COMPLAINED:
        return "complained"
    if kind == Kind.REJECTED:
        reason = event.reject_reason
        if reason in NOT_ADDRESS_REASONS:
            return None
        if reason == "spam":
            return "complained"
        if reason == "unsubscribed":
            return "other"
        return "bounced"  # bounced, invalid, other: the address does not take our email
    if kind == Kind.UNSUBSCRIBED:
        return "other"
    return None


def _suppression_reason(kind: str, suppression: str, event, provider_name: str) -> str:
    if suppression == "other":
        what = "Unsubscribed" if kind == Kind.UNSUBSCRIBED else "Refused"
        detail = _one_line(event.description, REASON_MAX)
        return _one_line(
            f"{what} through {provider_name}" + (f": {detail}" if detail else ""), REASON_MAX
        )
    return _one_line(
        event.description or event.mta_response or f"Reported by {provider_name}", REASON_MAX
    )


def _suppress(
    *, organization_id: int, recipient: str, kind: str, event, provider_name: str, now
) -> int:
    """Suppress every contact of the organization at that address (case-insensitive); one
    already suppressed for the same reason is left alone. Returns how many changed."""
    suppression = _suppression_kind(kind, event)
    if suppression is None or not recipient:
        return 0
    reason = _suppression_reason(kind, suppression, event, provider_name)
    contacts = list(
        Contact.objects.filter(organization_id=organization_id, email__iexact=recipient)
        .exclude(suppression_kind=suppression, suppressed_until__isnull=True)
        .order_by("pk")
    )
    for contact in contacts:
        contact_suppress(
            contact=contact,
            kind=suppression,
            reason=reason,
            actor_label=f"Email provider ({provider_name})",
            now=now,
        )
    return len(contacts)


def email_event_record(
    *, provider: str, event, now: dt.datetime | None = None
) -> EmailEvent | None:
    """Store one tracking event from an email provider and apply it, once.

    `provider` is anymail's name for the provider ("Postmark", "Amazon SES") or its slug.
    Returns the stored event (the earlier one when this is a duplicate delivery), or None for
    event types Plixo does not keep (queued, sent)."""
    now = now or timezone.now()
    provider_name = provider
    provider = provider_slug(provider)
    kind = event_kind(provider=provider, event=event)
    if kind is None:
        return None
    key = event_key(provider=provider, event=event)
    existing = _stored(provider, key)
    if existing is not None:
        return existing

    recipient = _one_line(event.recipient, 254)
    description = _description(event)
    with transaction.atomic():
        message = _message_for(event)
        try:
            # A savepoint of its own: when two deliveries of the same event race, the loser's
            # insert fails here and it returns the winner's row, having changed nothing.
            with transaction.atomic():
                stored = EmailEvent.objects.create(
                    provider=provider,
                    event_id=key,
                    kind=kind,
                    recipient=recipient,
                    provider_message_id=_one_line(event.message_id, 200),
                    organization_id=message.organization_id if message else None,
                    message=message,
                    sending_domain=message.sending_domain if message else "",
                    description=description,
                    occurred_at=event.timestamp or now,
                    payload=_json_safe(getattr(event, "esp_event", None) or {}),
                )
        except IntegrityError:
            return EmailEvent.objects.get(provider=provider, event_id=key)
        if message is None:
            log.info("comms.email_event_unmatched", provider=provider, kind=kind, event_id=key)
            return stored

        suppressed = _suppress(
            organization_id=message.organization_id,
            recipient=recipient,
            kind=kind,
            event=event,
            provider_name=provider_name,
            now=now,
        )
        timeline_kind = TIMELINE_KINDS.get(kind)
        if timeline_kind:
            TimelineEvent.objects.create(
                organization_id=message.organization_id,
                invoice_id=message.invoice_id,
                kind=timeline_kind,
                actor_label=f"Email provider ({provider_name})",
                at=now,
                data={
                    "message": str(message.public_id),
                    "recipient": recipient,
                    "description": description,
                    "provider": provider,
                },
            )
    log.info(
        "comms.email_event",
        provider=provider,
        kind=kind,
        message=str(message.public_id),
        suppressed=suppressed,
    )
    return stored


def tracking_received(sender, event, esp_name, **kwargs) -> None:
    """Receiver for anymail's `tracking` signal (connected in `CommsConfig.ready`). An error
    here answers the provider 500, so it delivers the event again later."""
    email_event_record(provider=esp_name, event=event)
