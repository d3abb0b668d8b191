"""Every write of the payer portal: issuing, consuming and renewing links, keeping portal
sessions alive, and recording funnel events.

Raw tokens live only in memory: `portal_link_issue` returns one to its caller, who shows it
once or emails it; the database keeps its SHA-256 digest. Renewal emails are sent by a task
that issues the link itself, so no raw token ever sits in the task queue either.
"""

import datetime as dt
import secrets

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from plixo.core.models import User
from plixo.core.text import header_text
from plixo.ledger.models import Contact, Invoice, LedgerError
from plixo.ledger.services import timeline_record
from plixo.ops.queue import task_enqueue
from plixo.portal.models import LinkSource, PortalEvent, PortalLink, PortalSession
from plixo.portal.selectors import token_hash

log = structlog.get_logger("plixo.portal")

LINK_PATH_PREFIX = "/p/"
# Queued by name (see `plixo.ops.queue`): the tasks module imports this one.
PORTAL_LINK_EMAIL_SEND_TASK = "plixo.portal.tasks.portal_link_email_send"
# A live session is written back at most this often: sliding expiry to the minute without a
# write on every page view.
TOUCH_EVERY = dt.timedelta(seconds=60)
# `invoice_viewed` is recorded at most once per portal session in this window: the funnel asks
# whether a payer looked at the invoice, not how often they pressed reload, and an insert on
# every view would make the portal's busiest page a write.
VIEW_EVENT_EVERY = dt.timedelta(minutes=30)


def payer_label(contact: Contact | None) -> str:
    if contact is None:
        return "Payer (portal)"
    return f"{contact.name or contact.email} (payer, portal)"


def _contact_on_file(invoice: Invoice) -> Contact | None:
    """The address a payer link goes to: the primary contact, else the first one."""
    return invoice.customer.contacts.order_by("-is_primary", "created_at", "id").first()


@transaction.atomic
def portal_link_issue(
    *,
    invoice: Invoice,
    contact: Contact | None = None,
    actor: User | None = None,
    revoke_earlier: bool = True,
    source: str = "",
) -> tuple[PortalLink, str]:
    """A new single-use link for the invoice; every earlier link of the invoice is revoked in
    the same transaction (PORTAL-2). Returns the link and its path `/p/<raw token>`.

    Self-service renewal passes `revoke_earlier=False`: anyone holding an old token may ask
    for a renewal (the link only goes to the contact on file), so it must not be a way to end
    the payer's live session or the link a colleague just sent."""
    # The invoice row lock serialises two issues at once, so exactly one link stays live.
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    if invoice.status in ("void", "written_off"):
        raise LedgerError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; a payer has "
            "nothing to do there."
        )
    if contact is None:
        contact = _contact_on_file(invoice)
    elif contact.customer_id != invoice.customer_id:
        raise LedgerError("That contact belongs to another customer.")
    now = timezone.now()
    revoked = (
        PortalLink.objects.filter(invoice=invoice, revoked_at=None).update(revoked_at=now)
        if revoke_earlier
        else 0
    )
    raw = secrets.token_urlsafe(32)
    link = PortalLink.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        contact=contact,
        token_hash=token_hash(raw),
        created_at=now,
        created_by=actor,
        source=source or (LinkSource.STAFF if actor is not None else ""),
        last_activity_at=now,
    )
    timeline_record(
        invoice=invoice,
        kind="portal_link_issued",
        actor=actor,
        data={"contact": contact.email if contact else "", "revoked_links": revoked},
        at=now,
    )
    log.info("portal.link_issued", invoice=str(invoice.public_id), link=str(link.public_id))
    return link, f"{LINK_PATH_PREFIX}{raw}"


def portal_link_consume(
    *, link: PortalLink, now: dt.datetime | None = None
) -> PortalSession | None:
    """The payer's click: consume the link and start its portal session, exactly once.

    One conditional UPDATE decides the race (R2): of any number of concurrent clicks only the
    one that turns `consumed_at` from NULL sees a row count of 1 and creates the session; the
    others get None. An expired or revoked link is not consumed either.
    """
    now = now or timezone.now()
    idle = dt.timedelta(days=settings.PORTAL_IDLE_DAYS)
    with transaction.atomic():
        won = PortalLink.objects.filter(
            pk=link.pk,
            consumed_at=None,
            revoked_at=None,
            last_activity_at__gte=now - idle,
        ).update(consumed_at=now, last_activity_at=now)
        if won != 1:
            return None
        session = PortalSession.objects.create(
            organization_id=link.organization_id,
            link=link,
            invoice_id=link.invoice_id,
            contact_id=link.contact_id,
            started_at=now,
            last_seen_at=now,
        )
        timeline_record(
            invoice=link.invoice,
            kind="portal_opened",
            actor_label=payer_label(link.contact),
            data={"contact": link.contact.email if link.contact else ""},
            at=now,
        )
    log.info("portal.session_started", session=str(session.public_id))
    return session


def portal_session_touch(*, session: PortalSession, now: dt.datetime | None = None) -> bool:
    """Slide the session's idle expiry forward; True when it was written."""
    now = now or timezone.now()
    if now - session.last_seen_at < TOUCH_EVERY:
        return False
    PortalSession.objects.filter(pk=session.pk).update(last_seen_at=now)
    PortalLink.objects.filter(pk=session.link_id).update(last_activity_at=now)
    session.last_seen_at = now
    return True


def portal_link_touch(*, link: PortalLink, now: dt.datetime | None = None) -> None:
    """A landing-page view keeps an unused link alive (sliding), without consuming it."""
    now = now or timezone.now()
    if now - link.last_activity_at < TOUCH_EVERY:
        return
    PortalLink.objects.filter(pk=link.pk, consumed_at=None, revoked_at=None).update(
        last_activity_at=now
    )


def portal_event_record(
    *,
    invoice: Invoice,
    kind: str,
    session: PortalSession | None = None,
    at: dt.datetime | None = None,
) -> PortalEvent:
    if kind not in PortalEvent.Kind.values:
        raise ValueError(f"Unknown portal event kind {kind!r}.")
    return PortalEvent.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        session=session,
        kind=kind,
        at=at or timezone.now(),
    )


def portal_invoice_viewed(*, session: PortalSession, now: dt.datetime | None = None) -> bool:
    """Record `invoice_viewed` for the session unless it already has one within
    `VIEW_EVENT_EVERY`; True when an event was written.

    A cache entry per session answers repeat views without touching the database; when it is
    missing (first view, another worker's cache, eviction) the events table decides, so each
    window still gets its one event.
    """
    now = now or timezone.now()
    window = VIEW_EVENT_EVERY
    # Keyed by the public id: row ids can come back after a rollback, public ids do not.
    if not cache.add(f"portal-viewed:{session.public_id}", 1, timeout=int(window.total_seconds())):
        return False
    seen = PortalEvent.objects.filter(
        session=session, kind=PortalEvent.Kind.INVOICE_VIEWED, at__gt=now - window
    ).exists()
    if seen:
        return False
    portal_event_record(
        invoice=session.invoice, kind=PortalEvent.Kind.INVOICE_VIEWED, session=session, at=now
    )
    return True


# --- self-service renewal (PORTAL-10) ------------------------------------------------------------


def under_limit(key: str, limit: tuple[int, int]) -> bool:
    """A fixed-window counter in the cache: True while `key` has been used fewer than
    `limit[0]` times in the current window of `limit[1]` seconds."""
    count, window = limit
    bucket = f"{key}:{int(timezone.now().timestamp()) // window}"
    cache.add(bucket, 0, timeout=window)
    try:
        used = cache.incr(bucket)
    except ValueError:  # evicted between add and incr
        cache.set(bucket, 1, timeout=window)
        used = 1
    return used <= count


def portal_link_renew(*, invoice: Invoice | None, contact: Contact | None = None) -> bool:
    """Email a fresh link for the invoice to its contact on file (never to an address the
    requester supplies). The caller tells the requester the same thing whatever happens here,
    so this reveals neither whether the invoice exists nor where the link went.

    Returns True when an email was queued.
    """
    if invoice is None or not invoice.is_open:
        return False
    limit = settings.PORTAL_RATE_LIMITS["renew_per_invoice"]
    if not under_limit(f"portal-renew-invoice:{invoice.pk}", limit):
        log.info("portal.renew_throttled", invoice=str(invoice.public_id))
        return False
    contact = contact if contact is not None else _contact_on_file(invoice)
    if contact is None or contact.customer_id != invoice.customer_id or contact.is_suppressed:
        return False
    invoice_ref, contact_ref = str(invoice.public_id), str(contact.public_id)
    transaction.on_commit(
        lambda: task_enqueue(
            PORTAL_LINK_EMAIL_SEND_TASK, invoice_ref=invoice_ref, contact_ref=contact_ref
        )
    )
    return True


def portal_link_email(*, invoice: Invoice, contact: Contact) -> bool:
    """Issue a link and email it to the contact; the raw token exists only in this call."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    from plixo.ops.selectors import maintenance_active

    if maintenance_active():
        # No email during maintenance; the payer can ask again once the portal is back.
        log.info("portal.renew_skipped_maintenance", invoice=str(invoice.public_id))
        return False
    _, path = portal_link_issue(
        invoice=invoice, contact=contact, revoke_earlier=False, source=LinkSource.RENEWAL
    )
    context = {
        "invoice": invoice,
        "organization": invoice.organization,
        "url": f"{settings.PLIXO_PUBLIC_URL}{path}",
        "idle_days": settings.PORTAL_IDLE_DAYS,
    }
    send_mail(
        subject=header_text(
            f"Invoice {invoice.number} from {invoice.organization.name}: your new link"
        ),
        message=render_to_string("portal/email_link.txt", context),
        from_email=None,
        recipient_list=[contact.email],
    )
    return True


def demo_portal_link(*, organization_slug: str = "demo", base_url: str | None = None) -> str | None:
    """A fresh payer link on one open invoice of the demo organization, as an absolute URL on
    `base_url` (default `PLIXO_PUBLIC_URL`), for `plixo demo` to print. None when the
    organization has no open invoice with a contact."""
    invoice = (
        Invoice.objects.filter(
            organization__slug=organization_slug,
            status__in=["open", "partially_paid"],
            customer__contacts__isnull=False,
        )
        .order_by("due_date", "number")
        .first()
    )
    if invoice is None:
        return None
    _, path = portal_link_issue(invoice=invoice, source=LinkSource.DEMO)
    return f"{(base_url or settings.PLIXO_PUBLIC_URL).rstrip('/')}{path}"
