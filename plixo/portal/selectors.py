"""Reads for the payer portal: links by token hash, live portal sessions, what the invoice
page shows, the staff view of an invoice's link, and the funnel counts."""

import datetime as dt
import functools
import hashlib
import re
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet
from django.utils import timezone

from plixo.commitments.models import PaymentPlan, Promise
from plixo.core.models import Organization
from plixo.disputes.models import Dispute
from plixo.ledger.models import Invoice
from plixo.payments.models import CheckoutSession
from plixo.payments.selectors import receipts_for_invoice
from plixo.portal.models import LinkState, PortalEvent, PortalLink, PortalSession

SESSION_KEY = "portal_session"
# `secrets.token_urlsafe(32)` gives 43 characters; anything far off that shape is not ours and
# is answered without touching the database.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def idle_limit() -> dt.timedelta:
    return dt.timedelta(days=settings.PORTAL_IDLE_DAYS)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_well_formed(raw: str) -> bool:
    return bool(_TOKEN_SHAPE.match(raw or ""))


def link_for_token(raw: str) -> PortalLink | None:
    """The link a raw token names, found by its hash; None for anything else."""
    if not token_well_formed(raw):
        return None
    return (
        PortalLink.objects.select_related("organization", "invoice", "invoice__customer", "contact")
        .filter(token_hash=token_hash(raw))
        .first()
    )


def link_state(link: PortalLink | None, *, now: dt.datetime | None = None) -> LinkState:
    """What a payer holding this link can do with it. Revocation wins over use: a link that
    staff replaced must not be presented as merely "used"."""
    now = now or timezone.now()
    if link is None:
        return LinkState.UNKNOWN
    if link.revoked_at is not None:
        return LinkState.REVOKED
    if link.consumed_at is not None:
        return LinkState.CONSUMED
    if now - link.last_activity_at > idle_limit():
        return LinkState.EXPIRED
    return LinkState.ACTIVE


def _session_ref(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def portal_session_lookup(ref) -> PortalSession | None:
    """The portal session a Django session points at, live or not, with its link and
    invoice (organization and customer too) in the same query: every portal page shows the
    invoice, and this read is fresh for the request that makes it."""
    public_id = _session_ref(ref)
    if public_id is None:
        return None
    # `get`, not `first`: the id is unique, and `first` would add an ORDER BY that costs more
    # to compile than the whole lookup takes in the database.
    try:
        return PortalSession.objects.select_related(
            "link", "invoice__organization", "invoice__customer"
        ).get(public_id=public_id)
    except PortalSession.DoesNotExist:
        return None


def portal_session_live(session: PortalSession | None, *, now: dt.datetime | None = None) -> bool:
    """A session lives while it is used at least every `PORTAL_IDLE_DAYS` and its link has not
    been replaced (regenerating a link also ends the sessions the old links opened)."""
    if session is None:
        return False
    now = now or timezone.now()
    return session.link.revoked_at is None and now - session.last_seen_at <= idle_limit()


def session_for_link(link: PortalLink) -> PortalSession | None:
    return PortalSession.objects.filter(link=link).first()


# --- the invoice page -------------------------------------------------------------------------

OPEN_PLAN_STATUSES = ("proposed", "pending_approval", "approved", "active")
OPEN_DISPUTE_STATUSES = ("open", "under_review")


@dataclass
class PromiseNote:
    amount: object
    promised_on: dt.date
    by_payer: bool = True  # made in the portal (else recorded by staff, e.g. after a call)


@dataclass
class PortalSummary:
    invoice: Invoice
    receipts: list = field(default_factory=list)
    open_plan: bool = False
    open_promise: PromiseNote | None = None
    open_dispute: object | None = None
    payment_processing: bool = False


@functools.cache
def _banner_sql() -> str:
    quote = connection.ops.quote_name
    plan, promise = quote(PaymentPlan._meta.db_table), quote(Promise._meta.db_table)
    checkout = quote(CheckoutSession._meta.db_table)
    statuses = ", ".join(["%s"] * len(OPEN_PLAN_STATUSES))
    # Only the models' table names are formatted in; every value is a parameter.
    open_plan = f"SELECT 1 FROM {plan} WHERE invoice_id = %s AND status IN ({statuses})"  # noqa: S608
    newest_promise = (
        f"SELECT id FROM {promise} WHERE invoice_id = %s AND status = %s "  # noqa: S608
        "ORDER BY created_at DESC, id DESC LIMIT 1"
    )
    processing = f"SELECT 1 FROM {checkout} WHERE invoice_id = %s AND status = %s"  # noqa: S608
    return f"SELECT EXISTS({open_plan}), ({newest_promise}), EXISTS({processing})"


def _banner_facts(invoice_id: int) -> tuple[bool, int | None, bool]:
    """Whether the invoice has an open plan, its newest open promise's id, and whether a bank
    payment (ACH) on it is still settling.

    One hand-written statement: built with `Exists`/`Subquery`, this read cost about six times
    as much to compile in Python as to run, and it is paid on every view of the portal's
    busiest page. Plain SQL that SQLite and PostgreSQL both accept.
    """
    params = [
        invoice_id,
        *OPEN_PLAN_STATUSES,
        invoice_id,
        Promise.Status.OPEN.value,
        invoice_id,
        "processing",
    ]
    with connection.cursor() as cursor:
        cursor.execute(_banner_sql(), params)
        open_plan, promise_id, processing = cursor.fetchone()
    return bool(open_plan), promise_id, bool(processing)


def portal_summary(*, invoice: Invoice) -> PortalSummary:
    """The invoice with what the payer already did about it: receipts, an open plan, promise
    or dispute (each drives a banner). This is the portal's busiest page: whether there is an
    open plan or promise is one small query, and the promise itself, receipts and disputes are
    read only when there can be any."""
    open_plan, promise_id, processing = _banner_facts(invoice.pk)
    summary = PortalSummary(invoice=invoice, open_plan=open_plan, payment_processing=processing)
    if promise_id is not None:
        promise = Promise.objects.get(pk=promise_id)
        summary.open_promise = PromiseNote(
            promise.amount, promise.promised_on, by_payer=promise.source == "portal"
        )
    if invoice.balance < invoice.amount:  # receipts exist only once money has come in
        summary.receipts = list(receipts_for_invoice(invoice))
    if invoice.status == "disputed":
        summary.open_dispute = (
            Dispute.objects.filter(invoice=invoice, status__in=OPEN_DISPUTE_STATUSES)
            .order_by("-created_at")
            .first()
        )
    return summary


def receipt_for_invoice(*, invoice: Invoice, public_id):
    """One receipt of this invoice, or None: a portal session never reaches another invoice's
    receipt, whatever id it sends."""
    ref = _session_ref(public_id)
    if ref is None:
        return None
    return receipts_for_invoice(invoice).filter(public_id=ref).first()


def completed_checkouts_for_session(*, session: PortalSession) -> int:
    return CheckoutSession.objects.filter(
        invoice=session.invoice,
        portal_session_ref=str(session.public_id),
        status="completed",
    ).count()


def checkout_confirming_for_session(*, session: PortalSession) -> bool:
    """The payer just came back from a provider whose word on the payment has not arrived yet
    (a Stripe checkout of this session still open, opened within the last ten minutes)."""
    checkouts = CheckoutSession.objects.filter(
        invoice=session.invoice, portal_session_ref=str(session.public_id)
    )
    recent = timezone.now() - dt.timedelta(minutes=10)
    return (
        checkouts.filter(status__in=("open", "failed"), provider="stripe", created_at__gte=recent)
        .exclude(provider_ref="")
        .exists()
    )


def events_for_session(*, session: PortalSession, kind: str) -> int:
    return PortalEvent.objects.filter(session=session, kind=kind).count()


# --- staff and reporting ------------------------------------------------------------------------


@dataclass
class LinkPanel:
    link: PortalLink | None
    state: LinkState | None
    session: PortalSession | None
    session_live: bool
    expires_at: dt.datetime | None
    # The cadence email that carried the link, when the outbox issued it (None otherwise).
    message: object | None = None


def portal_link_panel(*, invoice: Invoice, now: dt.datetime | None = None) -> LinkPanel:
    """The invoice's newest link as staff see it: state, opened or not, until when it lives."""
    now = now or timezone.now()
    link = (
        PortalLink.objects.filter(invoice=invoice)
        .select_related("created_by", "contact")
        .order_by("-created_at", "-id")
        .first()
    )
    if link is None:
        return LinkPanel(None, None, None, False, None)
    session = session_for_link(link)
    live = portal_session_live(session, now=now) if session else False
    if session is not None:
        expires_at = session.last_seen_at + idle_limit() if live else None
    else:
        state = link_state(link, now=now)
        expires_at = link.last_activity_at + idle_limit() if state == LinkState.ACTIVE else None
    # The outbox issues a fresh link with each email it sends and records it on the message.
    from plixo.comms.models import Message

    message = Message.objects.filter(portal_link=link).order_by("-id").first()
    return LinkPanel(link, link_state(link, now=now), session, live, expires_at, message)


def portal_funnel(
    *, organization: Organization, since: dt.datetime | None = None
) -> dict[str, int]:
    """Invoices reaching each funnel step (distinct invoices per kind), for the funnel report."""
    qs: QuerySet = PortalEvent.objects.filter(organization=organization)
    if since is not None:
        qs = qs.filter(at__gte=since)
    counts = dict(
        qs.values("kind").annotate(n=Count("invoice", distinct=True)).values_list("kind", "n")
    )
    return {kind: counts.get(kind, 0) for kind in PortalEvent.Kind.values}
