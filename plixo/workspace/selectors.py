"""Reads of the workspace: My Queue in rank order, Today's Focus, the burn-down, the inspector.

The queue is merged from per-source "top N" queries, each read off an index and bounded by the
page size, so the first page costs the same at a thousand invoices as at a million:

- tier 0, what must happen today: escalations received (or proposed to the collector),
  disputes assigned to the member with their SLA, open promises due or past, plan installments
  due, @mentions waiting;
- tier 1: drafts awaiting approval on the member's accounts;
- tier 2: the member's open invoices by their persisted rank (`QueueEntry`).

Within tier 0 the earliest deadline comes first; drafts oldest first; invoices by rank.
"""

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_compact_currency
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from plixo.commitments.models import PaymentPlan, PlanInstallment, Promise
from plixo.comms.models import Message
from plixo.core.models import Membership, Role
from plixo.core.permissions import Cap, role_can, sees_only_own_accounts
from plixo.disputes.models import Dispute
from plixo.ledger.models import Invoice, InvoiceStatus
from plixo.ledger.selectors import bucket_for, org_today
from plixo.workspace.models import Escalation, QueueDay, QueueEntry, WorkspaceSettings

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
HIGH_RISK = 70
PROMISE_LOOKBACK_DAYS = 7
INSTALLMENT_LOOKBACK_DAYS = 31
BURN_DOWN_DAYS = 14
KIND_ORDER = {
    "escalation": 0,
    "dispute": 1,
    "promise": 2,
    "installment": 3,
    "mention": 4,
    "draft": 5,
    "invoice": 6,
}
KIND_LABELS = {
    "escalation": "Escalation",
    "dispute": "Dispute",
    "promise": "Promise",
    "installment": "Installment",
    "mention": "Mention",
    "draft": "Draft",
    "invoice": "Invoice",
}
ACCEPTED_PLANS = (
    PaymentPlan.Status.APPROVED,
    PaymentPlan.Status.ACTIVE,
    PaymentPlan.Status.DEFAULTED,
)
CHASED = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)


def mentions_source():
    """`plixo.notes.selectors.mentions_pending`, or None while the notes app does not have it."""
    try:
        from plixo.notes.selectors import mentions_pending
    except ImportError:
        return None
    return mentions_pending


@dataclass
class QueueItem:
    kind: str
    tier: int
    sort: tuple
    reason: str
    invoice: Invoice
    record: Any
    amount: Decimal | None
    currency: str
    due_on: dt.date | None = None
    due_at: dt.datetime | None = None
    urgent: bool = False  # past its deadline
    url: str = ""  # the inspector's address, set by the view
    amount_text: str = ""  # the amount as the page shows it, set by the view

    @property
    def public_id(self):
        return (
            self.record.public_id if hasattr(self.record, "public_id") else self.invoice.public_id
        )

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.public_id}"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def in_focus(self) -> bool:
        return self.tier < 2


@dataclass
class QueuePage:
    items: list[QueueItem]
    next_cursor: str | None
    today: dt.date
    member: Membership
    focus_counts: dict[str, int] = field(default_factory=dict)
    focus_capped: bool = False
    focus_limit: int = PAGE_SIZE  # a count that reached it reads "50+"
    # All of the member's unread mentions when the page read them to the end (else None).
    mentions_unread: int | None = None

    @property
    def focus(self) -> list[QueueItem]:
        return [item for item in self.items if item.in_focus]

    @property
    def focus_total(self) -> int:
        return sum(self.focus_counts.values())


class CursorError(ValueError):
    pass


def cursor_encode(state: dict) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str | None) -> dict:
    if not cursor:
        return {"o": {}, "r": None}
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise CursorError("This cursor is not one this list gave out.") from exc
    offsets = state.get("o") if isinstance(state, dict) else None
    last = state.get("r") if isinstance(state, dict) else None
    if not isinstance(offsets, dict) or not all(
        k in KIND_ORDER and isinstance(v, int) and 0 <= v <= 100_000 for k, v in offsets.items()
    ):
        raise CursorError("This cursor is not one this list gave out.")
    if last is not None and not (
        isinstance(last, list) and len(last) == 2 and all(isinstance(v, int) for v in last)
    ):
        raise CursorError("This cursor is not one this list gave out.")
    return {"o": offsets, "r": last}


def _locale(name: str | None):
    """The organization's locale parsed once per page (babel parses a name on every call)."""
    try:
        return Locale.parse((name or "en_US").replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en_US")


def compact_money(amount: Decimal, currency: str, locale="en_US") -> str:
    try:
        return format_compact_currency(
            amount, currency, locale=locale or "en_US", fraction_digits=1
        )
    except Exception:  # an unknown locale or currency still names the currency
        return f"{amount:,.0f} {currency}"


def invoice_reason(invoice: Invoice, today: dt.date, *, segment: str = "", locale) -> str:
    days = (today - invoice.due_date).days
    amount = compact_money(invoice.balance, invoice.currency, locale)
    if days > 0:
        text = f"{bucket_for(days).label}, {amount}"
    elif days == 0:
        text = f"Due today, {amount}"
    else:
        text = f"Due in {-days} day{'s' if days != -1 else ''}, {amount}"
    risk = invoice.customer.risk_score
    if risk >= HIGH_RISK:
        text += f" · high risk ({risk})"
    if segment:
        text += f" · {segment}"
    return text


# The columns a queue row shows (invoice number, customer, amount, reason): rows are built from
# these only, so a page costs the same whatever else an invoice or a message carries.
INVOICE_COLUMNS = ("public_id", "number", "balance", "currency", "due_date", "customer_id")
CUSTOMER_COLUMNS = ("public_id", "name", "risk_score", "owner_id")


def _lean(queryset: QuerySet, invoice_path: str, *own: str) -> QuerySet:
    """`queryset` with its invoice and customer joined, loading only the queue's columns."""
    columns = [*own]
    columns += [f"{invoice_path}__{name}" for name in INVOICE_COLUMNS]
    columns += [f"{invoice_path}__customer__{name}" for name in CUSTOMER_COLUMNS]
    return queryset.select_related(f"{invoice_path}__customer").only(*columns)


def _own(queryset: QuerySet, viewer: Membership, customer_path: str) -> QuerySet:
    """The viewer's visibility on top of the queue's own filter (Sales and CSMs: only the
    accounts they own, whatever queue they look at)."""
    queryset = queryset.filter(organization_id=viewer.organization_id)
    if sees_only_own_accounts(viewer.role):
        queryset = queryset.filter(**{f"{customer_path}__owner_id": viewer.user_id})
    return queryset


def _end_of(day: dt.date, zone) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


def _source_escalations(member, viewer, offset, limit, today):
    org = viewer.organization_id
    # Each branch of the OR names the organization, so each is read off its own index
    # (escalation_received, escalation_raised) rather than every escalation of the organization.
    rows = _own(Escalation.objects, viewer, "invoice__customer").filter(
        Q(
            organization_id=org,
            to_member=member,
            status__in=(Escalation.Status.OPEN, Escalation.Status.ACKNOWLEDGED),
        )
        | Q(organization_id=org, from_member=member, status=Escalation.Status.PROPOSED)
    )
    rows = _lean(
        rows.select_related("from_member__user"),
        "invoice",
        "public_id",
        "status",
        "unanswered_steps",
        "created_at",
        "from_member__user__full_name",
        "from_member__user__email",
    ).order_by("created_at", "id")[offset : offset + limit]
    items = []
    for row in rows:
        if row.status == Escalation.Status.PROPOSED:
            reason = f"Escalation proposed: {row.unanswered_steps} emails unanswered"
        else:
            who = row.from_member.user.display_name if row.from_member else "the rule"
            reason = f"Escalated by {who}"
        items.append(
            QueueItem(
                "escalation",
                0,
                (0, row.created_at.date().toordinal(), 0, row.pk),
                reason,
                row.invoice,
                row,
                row.invoice.balance,
                row.invoice.currency,
                due_on=row.created_at.date(),
                urgent=True,
            )
        )
    return items


def _source_disputes(member, viewer, offset, limit, today):
    zone = timezone.get_current_timezone()
    end_today = _end_of(today, zone)
    rows = _own(Dispute.objects, viewer, "invoice__customer").filter(
        assignee_id=member.user_id,
        status__in=(Dispute.Status.OPEN, Dispute.Status.UNDER_REVIEW),
    )
    rows = _lean(rows, "invoice", "public_id", "sla_due_at", "amount", "currency").order_by(
        F_nulls_last("sla_due_at"), "id"
    )[offset : offset + limit]
    now = timezone.now()
    items = []
    for row in rows:
        due = row.sla_due_at
        if due is None:
            reason, day = "Dispute assigned to you", today
        elif due <= now:
            reason, day = "Dispute SLA breached", due.astimezone(zone).date()
        elif due < end_today:
            reason, day = f"Dispute SLA due at {due.astimezone(zone):%H:%M}", today
        else:
            reason, day = (
                f"Dispute SLA due {due.astimezone(zone):%b %-d}",
                due.astimezone(zone).date(),
            )
        # A dispute due later than today still waits on the member: first after today's work.
        tier_day = min(day, today) if due is not None and due < end_today else day
        items.append(
            QueueItem(
                "dispute",
                0,
                (0, tier_day.toordinal(), 1, row.pk),
                reason,
                row.invoice,
                row,
                row.amount,
                row.currency,
                due_on=day,
                due_at=due,
                urgent=due is not None and due <= now,
            )
        )
    return items


def F_nulls_last(name: str):
    from django.db.models import F

    return F(name).asc(nulls_last=True)


def _collector_filter(queryset, member, path: str):
    return queryset.filter(**{f"{path}__collector_id": member.user_id})


def _source_promises(member, viewer, offset, limit, today):
    rows = _collector_filter(
        _own(Promise.objects, viewer, "invoice__customer"), member, "invoice__customer"
    )
    rows = (
        # A promise more than a few days past its date has been marked missed by the
        # commitments job (its invoice is back in the cadence with a follow-up draft), so the
        # range read off the index stays a few days of promises at any size.
        _lean(
            rows.filter(
                status=Promise.Status.OPEN,
                promised_on__lte=today,
                promised_on__gte=today - dt.timedelta(days=PROMISE_LOOKBACK_DAYS),
            ),
            "invoice",
            "public_id",
            "promised_on",
            "amount",
            "currency",
        ).order_by("promised_on", "id")[offset : offset + limit]
    )
    items = []
    for row in rows:
        late = (today - row.promised_on).days
        reason = (
            "Promise due today"
            if late == 0
            else f"Promise {late} day{'s' if late > 1 else ''} late"
        )
        items.append(
            QueueItem(
                "promise",
                0,
                (0, row.promised_on.toordinal(), 2, row.pk),
                reason,
                row.invoice,
                row,
                row.amount,
                row.currency,
                due_on=row.promised_on,
                urgent=late > 0,
            )
        )
    return items


def _source_installments(member, viewer, offset, limit, today):
    rows = PlanInstallment.objects.filter(
        status=PlanInstallment.Status.PENDING,
        due_on__lte=today,
        due_on__gte=today - dt.timedelta(days=INSTALLMENT_LOOKBACK_DAYS),
        plan__status__in=ACCEPTED_PLANS,
        plan__organization_id=viewer.organization_id,
        plan__invoice__customer__collector_id=member.user_id,
    )
    if sees_only_own_accounts(viewer.role):
        rows = rows.filter(plan__invoice__customer__owner_id=viewer.user_id)
    rows = _lean(
        rows,
        "plan__invoice",
        "sequence",
        "due_on",
        "amount",
        "paid_amount",
        "plan__public_id",
        "plan__currency",
    ).order_by("due_on", "id")[offset : offset + limit]
    items = []
    for row in rows:
        late = (today - row.due_on).days
        reason = (
            f"Installment {row.sequence} due today"
            if late == 0
            else f"Installment {row.sequence} {late} day{'s' if late > 1 else ''} late"
        )
        items.append(
            QueueItem(
                "installment",
                0,
                (0, row.due_on.toordinal(), 3, row.pk),
                reason,
                row.plan.invoice,
                row.plan,
                row.amount - row.paid_amount,
                row.plan.currency,
                due_on=row.due_on,
                urgent=late > 0,
            )
        )
    return items


def _source_mentions(member, viewer, offset, limit, today):
    mentions_pending = mentions_source()
    if mentions_pending is None:
        return []
    rows = mentions_pending(membership=member).select_related(None).select_related("note__author")
    # Oldest first off the (organization, user, read_at, created_at) index of mentions.
    rows = _lean(
        rows,
        "note__invoice",
        "public_id",
        "created_at",
        "note__created_at",
        "note__invoice_id",
        "note__author__full_name",
        "note__author__email",
    ).order_by("created_at", "pk")[offset : offset + limit]
    items = []
    for row in rows:
        note = row.note
        invoice = note.invoice
        if sees_only_own_accounts(viewer.role) and invoice.customer.owner_id != viewer.user_id:
            continue
        author = getattr(note.author, "display_name", None) or "a colleague"
        items.append(
            QueueItem(
                "mention",
                0,
                (0, note.created_at.date().toordinal(), 4, row.pk),
                f"@mention by {author}",
                invoice,
                row,
                invoice.balance,
                invoice.currency,
                due_on=note.created_at.date(),
            )
        )
    return items


def _drafts(member, viewer) -> QuerySet:
    """The drafts awaiting approval on the member's accounts: off the drafts' own copy of the
    collector (one index, `msg_draft_collector`), checked against the customer's collector now
    (a copy not yet rewritten never shows a draft in the wrong queue)."""
    rows = _collector_filter(
        _own(Message.objects, viewer, "invoice__customer"), member, "invoice__customer"
    )
    return rows.filter(status=Message.Status.DRAFT, collector_id=member.user_id)


def _drafts_waiting(member, viewer, cap: int) -> int:
    """How many drafts wait on the member's accounts, counted up to `cap` (ids only)."""
    if not role_can(member.role, Cap.MESSAGES_SEND):
        return 0
    return len(_drafts(member, viewer).order_by("created_at", "id").values_list("pk")[:cap])


def _source_drafts(member, viewer, offset, limit, today):
    if not role_can(member.role, Cap.MESSAGES_SEND):
        return []
    rows = _drafts(member, viewer)
    rows = _lean(rows, "invoice", "public_id", "created_at").order_by("created_at", "id")[
        offset : offset + limit
    ]
    return [
        QueueItem(
            "draft",
            1,
            (1, row.created_at.timestamp(), 5, row.pk),
            "Draft awaiting approval",
            row.invoice,
            row,
            row.invoice.balance,
            row.invoice.currency,
            due_on=row.created_at.date(),
        )
        for row in rows
    ]


def _open_commitment(model, statuses):
    return Exists(model.objects.filter(invoice_id=OuterRef("invoice_id"), status__in=statuses))


def queue_entries(*, member: Membership, viewer: Membership, today: dt.date) -> QuerySet:
    """The member's invoices still to chase, by rank: open and partly paid (a disputed one is
    in the disputes source), not under an open promise or accepted plan (those come back when
    due), not snoozed past today, and still the member's (the rank is re-checked here, so a
    stale entry never shows)."""
    rows = QueueEntry.objects.filter(
        organization_id=viewer.organization_id,
        collector_id=member.user_id,
        invoice__customer__collector_id=member.user_id,
        invoice__status__in=CHASED,
    ).filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=today))
    if sees_only_own_accounts(viewer.role):
        rows = rows.filter(invoice__customer__owner_id=viewer.user_id)
    rows = rows.exclude(_open_commitment(Promise, [Promise.Status.OPEN])).exclude(
        _open_commitment(PaymentPlan, ACCEPTED_PLANS)
    )
    return _lean(rows, "invoice", "rank", "segment", "snoozed_until", "invoice_id").order_by(
        "-rank", "invoice_id"
    )


def _source_invoices(member, viewer, offset, limit, today, last=None):
    rows = queue_entries(member=member, viewer=viewer, today=today)
    if last is not None:
        rank, invoice_id = last
        rows = rows.filter(Q(rank__lt=rank) | Q(rank=rank, invoice_id__gt=invoice_id))
    locale = _locale(viewer.organization.locale)
    items = []
    for entry in rows[:limit]:
        invoice = entry.invoice
        reason = invoice_reason(invoice, today, segment=entry.segment, locale=locale)
        if entry.snoozed_until == today:
            reason = "Follow-up due today · " + reason
        items.append(
            QueueItem(
                "invoice",
                2,
                (2, -entry.rank, entry.invoice_id),
                reason,
                invoice,
                entry,
                invoice.balance,
                invoice.currency,
                due_on=invoice.due_date,
                urgent=invoice.due_date < today,
            )
        )
    return items


SOURCES = (
    ("escalation", _source_escalations),
    ("dispute", _source_disputes),
    ("promise", _source_promises),
    ("installment", _source_installments),
    ("mention", _source_mentions),
    ("draft", _source_drafts),
)


def queue_for_member(
    *,
    member: Membership,
    viewer: Membership,
    limit: int = PAGE_SIZE,
    cursor: str | None = None,
    today: dt.date | None = None,
    focus: bool = True,
) -> QueuePage:
    """`member`'s queue as `viewer` may see it (the viewer is the member, or a manager looking
    at a team member's queue), one page in rank order.

    The tiers are read in order and each only as far as the page still needs: Today's sources
    (each up to `limit`, as they interleave by deadline), then drafts, then invoices for what
    is left of the page, so a page loads about `limit` rows whatever the queue holds. With
    `focus` (the first page of `/queue/`), the drafts beyond the page are counted (up to
    `limit`, ids only) for Today's Focus."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    state = cursor_decode(cursor)
    offsets: dict[str, int] = dict(state["o"])
    today = today or org_today(viewer.organization)
    first_page = not state["o"] and state["r"] is None
    focus = focus and first_page
    candidates: list[QueueItem] = []
    mentions_unread = None
    drafts_total = 0
    # A source is exhausted when it gave fewer than asked; otherwise more may follow.
    exhausted = True
    for kind, source in SOURCES:
        wanted = limit - min(len(candidates), limit) if kind == "draft" else limit
        if wanted <= 0:
            exhausted = False
            found = []
        else:
            found = source(member, viewer, offsets.get(kind, 0), wanted, today)
            exhausted = exhausted and len(found) < wanted
        if kind == "draft" and focus:
            # The page may show only some of them: Today's Focus counts them all (to `limit`).
            drafts_total = (
                len(found) if len(found) < wanted else _drafts_waiting(member, viewer, limit)
            )
        if kind == "mention" and not offsets.get(kind) and len(found) < wanted:
            mentions_unread = len(found)
        candidates += found
    wanted = limit - len(candidates)
    if wanted > 0:
        invoices = _source_invoices(member, viewer, 0, wanted, today, last=state["r"])
        exhausted = exhausted and len(invoices) < wanted
        candidates += invoices
    else:
        exhausted = False
    candidates.sort(key=lambda item: item.sort)
    page = candidates[:limit]
    # Each source gave at most what the page could take in its own order, so the first
    # `limit` of the merge are the first `limit` of the whole queue; the cursor remembers how
    # far each source got.
    taken: dict[str, int] = {}
    last_invoice = state["r"]
    for item in page:
        taken[item.kind] = taken.get(item.kind, 0) + 1
        if item.kind == "invoice":
            last_invoice = [item.record.rank, item.record.invoice_id]
    more = len(candidates) > limit or not exhausted
    next_offsets = {k: offsets.get(k, 0) + taken.get(k, 0) for k in KIND_ORDER if k != "invoice"}
    next_offsets = {k: v for k, v in next_offsets.items() if v}
    next_cursor = cursor_encode({"o": next_offsets, "r": last_invoice}) if more else None
    focus_counts: dict[str, int] = {}
    capped = False
    if focus:
        for item in candidates:
            if item.in_focus and item.kind != "draft":
                focus_counts[item.kind] = focus_counts.get(item.kind, 0) + 1
        if drafts_total:
            focus_counts["draft"] = drafts_total
        capped = any(count >= limit for count in focus_counts.values())
    return QueuePage(
        items=page,
        next_cursor=next_cursor,
        today=today,
        member=member,
        focus_counts=focus_counts,
        focus_capped=capped,
        focus_limit=limit,
        mentions_unread=mentions_unread if member.pk == viewer.pk else None,
    )


def focus_keys(*, member: Membership, today: dt.date, limit: int = 500) -> list[str]:
    """Today's Focus of a member (tiers 0 and 1), as item keys, for the daily snapshot."""
    keys = []
    for _kind, source in SOURCES:
        keys += [item.key for item in source(member, member, 0, limit, today)]
    return keys


# --- team, escalations, settings, burn-down -------------------------------------------------


def team_members(*, viewer: Membership) -> QuerySet[Membership]:
    """The members whose queue a manager may open: everyone active who can see the ledger."""
    return (
        Membership.objects.filter(organization_id=viewer.organization_id, is_active=True)
        .select_related("user")
        .order_by("user__email")
    )


def member_for_queue(*, viewer: Membership, public_id) -> Membership:
    from plixo.core.selectors import one_or_404

    return one_or_404(team_members(viewer=viewer), public_id)


def managers(*, organization) -> QuerySet[Membership]:
    from plixo.core.permissions import ROLE_CAPABILITIES

    roles = [role for role, caps in ROLE_CAPABILITIES.items() if Cap.QUEUE_TEAM in caps]
    return (
        Membership.objects.filter(organization=organization, is_active=True, role__in=roles)
        .select_related("user")
        # The A/R Manager first: escalations go to them unless someone else is chosen.
        .order_by(Case(When(role=Role.AR_MANAGER, then=Value(0)), default=Value(1)), "user__email")
    )


def escalations_visible(*, membership: Membership) -> QuerySet[Escalation]:
    rows = Escalation.objects.filter(organization_id=membership.organization_id)
    if sees_only_own_accounts(membership.role):
        rows = rows.filter(invoice__customer__owner_id=membership.user_id)
    return rows.select_related("invoice__customer", "from_member__user", "to_member__user")


def escalations_received(*, membership: Membership, limit: int = 50) -> list[Escalation]:
    return list(
        escalations_visible(membership=membership)
        .filter(to_member=membership, status__in=Escalation.LIVE)
        .order_by("-created_at", "-id")[:limit]
    )


def escalation_for(*, membership: Membership, public_id) -> Escalation:
    from plixo.core.selectors import one_or_404

    return one_or_404(escalations_visible(membership=membership), public_id)


def invoice_live_escalation(*, invoice: Invoice) -> Escalation | None:
    return (
        Escalation.objects.filter(invoice=invoice, status__in=Escalation.LIVE)
        .select_related("from_member__user", "to_member__user")
        .first()
    )


def workspace_settings(*, organization) -> WorkspaceSettings:
    found = WorkspaceSettings.objects.filter(organization=organization).first()
    return found or WorkspaceSettings(organization=organization)


def unanswered_steps(*, invoice: Invoice) -> int:
    """Cadence emails sent on the invoice since the payer last answered in any way the ledger
    sees (a payment, a promise, a plan or a dispute)."""
    from django.db.models import Max

    from plixo.ledger.models import Allocation

    marks = [
        Allocation.objects.filter(invoice=invoice).aggregate(at=Max("created_at"))["at"],
        Promise.objects.filter(invoice=invoice).aggregate(at=Max("created_at"))["at"],
        PaymentPlan.objects.filter(invoice=invoice).aggregate(at=Max("created_at"))["at"],
        Dispute.objects.filter(invoice=invoice).aggregate(at=Max("created_at"))["at"],
    ]
    since = max((mark for mark in marks if mark is not None), default=None)
    sent = Message.objects.filter(
        invoice=invoice, kind=Message.Kind.STEP, status=Message.Status.SENT
    )
    if since is not None:
        sent = sent.filter(sent_at__gt=since)
    return sent.count()


def burn_down(
    *, membership: Membership, today: dt.date, days: int = BURN_DOWN_DAYS
) -> list[QueueDay]:
    start = today - dt.timedelta(days=days - 1)
    return list(
        QueueDay.objects.filter(membership=membership, day__gte=start, day__lte=today).order_by(
            "day"
        )
    )


def burn_down_chart(
    rows: list[QueueDay], *, today: dt.date, days: int = BURN_DOWN_DAYS
) -> str | None:
    """Items cleared against the planned carryover, per day, as an SVG `data:` image. Drawing
    it takes longer than the rest of the page, and it only changes with a snapshot: the image
    is cached under its figures."""
    if not rows:
        return None
    import hashlib

    from django.core.cache import cache

    by_day = {row.day: row for row in rows}
    first = min(by_day)
    span = [first + dt.timedelta(days=n) for n in range((today - first).days + 1)][-days:]
    figures = [
        (d.isoformat(), by_day[d].planned, by_day[d].cleared) if d in by_day else d.isoformat()
        for d in span
    ]
    key = "workspace:burn:" + hashlib.sha256(repr(figures).encode()).hexdigest()
    chart = cache.get(key)
    if chart is None:
        chart = _burn_down_draw(by_day, span)
        cache.set(key, chart, 24 * 3600)
    return chart


def _burn_down_draw(by_day: dict, span: list[dt.date]) -> str:
    import pygal

    from plixo.reports.charts import _config, _data_uri

    chart = pygal.Bar(
        **_config(
            height=260,
            width=560,
            legend_at_bottom_columns=2,
            value_formatter=lambda v: f"{v:,.0f}",
            x_label_rotation=-30 if len(span) > 7 else 0,
        )
    )
    chart.x_labels = [day.strftime("%b %-d") for day in span]
    chart.add("Planned carryover", [by_day[d].planned if d in by_day else None for d in span])
    chart.add("Cleared", [by_day[d].cleared if d in by_day else None for d in span])
    return _data_uri(chart)


def invoice_current_draft(*, invoice: Invoice) -> Message | None:
    return (
        Message.objects.filter(invoice=invoice, status__in=Message.UNSENT)
        .select_related("contact")
        .order_by("-created_at", "-id")
        .first()
    )


def recent_timeline(*, invoice: Invoice, limit: int = 15):
    from plixo.ledger.selectors import invoice_timeline

    return list(invoice_timeline(invoice=invoice)[:limit])
