"""Writes of the workspace: the queue's persisted rank, escalations, one-off emails to the
payer, the daily snapshot behind the burn-down, and the organization's escalation rule."""

import datetime as dt
import math
import uuid
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from plixo.comms.merge import MergeFieldError, template_check
from plixo.comms.models import BODY_MAX, SUBJECT_MAX, CadenceEnrollment, Message
from plixo.core.models import Membership, Organization, User
from plixo.core.permissions import Cap, role_can
from plixo.ledger.models import OPEN_STATUSES, Contact, Customer, Invoice
from plixo.ledger.selectors import org_today
from plixo.ledger.services import timeline_record
from plixo.ledger.validation import text_check
from plixo.workspace.models import (
    ESCALATE_AFTER_MAX,
    Escalation,
    QueueDay,
    QueueEntry,
    QueueRefreshState,
    WorkspaceError,
    WorkspaceSettings,
)

# The score of an invoice on day D is RISK × risk + AMOUNT × log10(amount in the base
# currency) + SEGMENT (when a segment rule chose its cadence) + DAY × days overdue on D. Days
# overdue = D − due date, and D is the same for every invoice, so the rank stored is the score
# without D: its order is the score's order on every day.
DAY_WEIGHT = 100
RISK_WEIGHT = 30  # a risk of 100 weighs as 30 days overdue
AMOUNT_WEIGHT = 1000  # ten times the amount weighs as 10 days overdue
SEGMENT_WEIGHT = 1500
REFRESH_BATCH = 2000
REASON_MAX = 1000
SNOOZE_DAYS_MAX = 60
PLANNED_KEYS_MAX = 500


def _latest_rates(organization: Organization) -> dict[str, Decimal]:
    from plixo.reports.models import ExchangeRate

    rates = {organization.base_currency: Decimal(1)}
    latest = (
        ExchangeRate.objects.filter(
            organization=organization, base_currency=organization.base_currency
        )
        .values("currency")
        .annotate(on=Max("on"))
    )
    for row in latest:
        rate = (
            ExchangeRate.objects.filter(
                organization=organization,
                base_currency=organization.base_currency,
                currency=row["currency"],
                on=row["on"],
            )
            .values_list("rate", flat=True)
            .first()
        )
        if rate:
            rates[row["currency"]] = rate
    return rates


def invoice_rank(
    *, due_date: dt.date, balance: Decimal, currency: str, risk: int, segmented: bool, rates: dict
) -> int:
    """The persisted rank (see the weights above). An amount in a currency without a rate adds
    nothing rather than being compared with other currencies as if it were one."""
    rank = RISK_WEIGHT * int(risk) - DAY_WEIGHT * due_date.toordinal()
    rate = rates.get(currency)
    if rate is not None and balance > 0:
        rank += int(AMOUNT_WEIGHT * math.log10(max(float(balance * rate), 1.0)))
    if segmented:
        rank += SEGMENT_WEIGHT
    return rank


def _rank_sql(vendor: str) -> tuple[str, str]:
    """The rank and the segment label of an invoice `i` (customer `c`, organization `o`,
    cadence `cad`), in SQL: the same weights as `invoice_rank`, computed where the rows are."""
    if vendor == "postgresql":
        ordinal = "(i.due_date - DATE '0001-01-01' + 1)"
        amount = (
            "CAST(FLOOR(%(w)d * LOG10(GREATEST(CAST(i.balance * {rate} AS double precision), "
            "1.0))) AS BIGINT)"
        )
    else:
        ordinal = "CAST(julianday(i.due_date) - 1721424.5 AS INTEGER)"
        amount = "CAST(%(w)d * LOG10(MAX(i.balance * {rate}, 1.0)) AS INTEGER)"
    rate = (
        "(CASE WHEN i.currency = o.base_currency THEN 1 ELSE (SELECT r.rate FROM {rates} r "
        "WHERE r.organization_id = i.organization_id AND r.base_currency = o.base_currency "
        'AND r.currency = i.currency ORDER BY r."on" DESC LIMIT 1) END)'
    )
    amount = amount % {"w": AMOUNT_WEIGHT}
    rank = (
        f"({RISK_WEIGHT} * c.risk_score - {DAY_WEIGHT} * {ordinal}"
        f" + COALESCE(CASE WHEN i.balance > 0 THEN {amount.format(rate=rate)} END, 0)"
        f" + CASE WHEN NOT cad.is_default THEN {SEGMENT_WEIGHT} ELSE 0 END)"
    )
    segment = (
        "CASE WHEN NOT cad.is_default THEN SUBSTR('Segment: ' || "
        "COALESCE(NULLIF(c.segment, ''), cad.name), 1, 120) ELSE '' END"
    )
    return rank, segment


def _ranks_write(where: str, params: list, *, now: dt.datetime, drop_closed: bool = True) -> int:
    """Write the rank of the open invoices `i` matching `where` (one INSERT … SELECT, an
    upsert that keeps an operator's snooze) and drop the entries of those that closed.
    Returns how many entries were written."""
    from plixo.comms.models import Cadence
    from plixo.reports.models import ExchangeRate

    vendor = connection.vendor
    rank, segment = _rank_sql(vendor)
    tables = {
        "entries": QueueEntry._meta.db_table,
        "invoices": Invoice._meta.db_table,
        "customers": Customer._meta.db_table,
        "orgs": Organization._meta.db_table,
        "enrollments": CadenceEnrollment._meta.db_table,
        "cadences": Cadence._meta.db_table,
        "rates": ExchangeRate._meta.db_table,
    }
    open_ = ", ".join(["%s"] * len(OPEN_STATUSES))
    upsert = (
        'INSERT INTO {entries} (organization_id, invoice_id, collector_id, "rank", segment, '  # noqa: S608
        "snoozed_until, refreshed_at) "
        f"SELECT i.organization_id, i.id, c.collector_id, {rank}, {segment}, NULL, %s "
        "FROM {invoices} i JOIN {customers} c ON c.id = i.customer_id "
        "JOIN {orgs} o ON o.id = i.organization_id "
        "LEFT JOIN {enrollments} e ON e.invoice_id = i.id "
        "LEFT JOIN {cadences} cad ON cad.id = e.cadence_id "
        f"WHERE i.status IN ({open_}) AND ({where}) "
        "ON CONFLICT (invoice_id) DO UPDATE SET collector_id = excluded.collector_id, "
        '"rank" = excluded."rank", segment = excluded.segment, '
        "refreshed_at = excluded.refreshed_at"
    ).format(rates=tables["rates"], **{k: v for k, v in tables.items() if k != "rates"})
    delete = (
        "DELETE FROM {entries} WHERE invoice_id IN (SELECT i.id FROM {invoices} i "  # noqa: S608
        f"WHERE i.status NOT IN ({open_}) AND ({where}))"
    ).format(**tables)
    with connection.cursor() as cursor:
        if drop_closed:
            cursor.execute(delete, [*OPEN_STATUSES, *params])
        cursor.execute(upsert, [now, *OPEN_STATUSES, *params])
        return max(cursor.rowcount, 0)


def queue_entry_write(*, invoice: Invoice) -> None:
    """The ledger changed `invoice` (a payment, an edit, a close, a dispute, a promise, a plan):
    rewrite its rank and collector, or drop its entry once it is closed, in the changing
    transaction. One statement, on the unique invoice index: this runs on the payment path."""
    if invoice.status in OPEN_STATUSES:
        _ranks_write("i.id = %s", [invoice.pk], now=timezone.now(), drop_closed=False)
    else:
        QueueEntry.objects.filter(invoice_id=invoice.pk).delete()


def queue_entries_refresh(
    *, organization: Organization, invoice_ids: list[int] | None = None, now=None
) -> int:
    """Write the rank of the organization's open invoices (or only `invoice_ids`) and drop
    the entries of invoices that closed. A snooze an operator set is kept. Returns how many
    entries were written."""
    now = now or timezone.now()
    if invoice_ids is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM {entries} WHERE organization_id = %s AND invoice_id IN (SELECT "  # noqa: S608
                "i.id FROM {invoices} i WHERE i.organization_id = %s AND i.status NOT IN "
                "({open_}))".format(
                    entries=QueueEntry._meta.db_table,
                    invoices=Invoice._meta.db_table,
                    open_=", ".join(["%s"] * len(OPEN_STATUSES)),
                ),
                [organization.pk, organization.pk, *OPEN_STATUSES],
            )
        from plixo.comms.services import drafts_collector_sync_all

        drafts_collector_sync_all(organization_id=organization.pk)
        return _ranks_write("i.organization_id = %s", [organization.pk], now=now)
    written = 0
    for start in range(0, len(invoice_ids), REFRESH_BATCH):
        batch = [int(pk) for pk in invoice_ids[start : start + REFRESH_BATCH]]
        marks = ", ".join(["%s"] * len(batch))
        written += _ranks_write(
            f"i.organization_id = %s AND i.id IN ({marks})", [organization.pk, *batch], now=now
        )
    return written


# A run re-reads this many invoices below its mark for new ones (an id taken by a transaction
# that committed after the last run), and rewrites every rank once a day.
NEW_INVOICE_MARGIN = 1000
FULL_REFRESH_EVERY = dt.timedelta(days=1)


def queue_entries_catch_up(*, organization: Organization, now=None) -> int:
    """The periodic catch-up of one organization's ranks: what the ledger's own hook did not
    write. Invoices without an entry (created by an import, or before the last run
    committed), the open invoices of customers changed since the last run (collector, risk,
    segment), and of currencies whose rate was imported since; once a day every rank."""
    now = now or timezone.now()
    state = QueueRefreshState.objects.filter(organization=organization).first()
    top = Invoice.objects.aggregate(top=Max("pk"))["top"] or 0
    if state is None or state.full_at is None or now - state.full_at >= FULL_REFRESH_EVERY:
        written = queue_entries_refresh(organization=organization, now=now)
        QueueRefreshState.objects.update_or_create(
            organization=organization,
            defaults={"last_invoice_id": top, "last_run_at": now, "full_at": now},
        )
        return written
    since = state.last_run_at
    entries = QueueEntry._meta.db_table
    written = _ranks_write(
        "i.organization_id = %s AND i.id > %s AND NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {entries} q WHERE q.invoice_id = i.id)",
        [organization.pk, max(state.last_invoice_id - NEW_INVOICE_MARGIN, 0)],
        now=now,
    )
    customers = list(
        Customer.objects.filter(organization=organization, updated_at__gte=since).values_list(
            "pk", flat=True
        )
    )
    if customers:
        from plixo.comms.services import drafts_collector_sync

        # Changed outside the customer service (a bulk update): the drafts follow too.
        drafts_collector_sync(customer_ids=customers)
    for start in range(0, len(customers), REFRESH_BATCH):
        batch = customers[start : start + REFRESH_BATCH]
        marks = ", ".join(["%s"] * len(batch))
        written += _ranks_write(
            f"i.organization_id = %s AND i.customer_id IN ({marks})",
            [organization.pk, *batch],
            now=now,
        )
    from plixo.reports.models import ExchangeRate

    currencies = sorted(
        set(
            ExchangeRate.objects.filter(
                organization=organization, updated_at__gte=since
            ).values_list("currency", flat=True)
        )
    )
    if currencies:
        marks = ", ".join(["%s"] * len(currencies))
        written += _ranks_write(
            f"i.organization_id = %s AND i.currency IN ({marks})",
            [organization.pk, *currencies],
            now=now,
        )
    state.last_invoice_id = max(top, state.last_invoice_id)
    state.last_run_at = now
    state.save(update_fields=["last_invoice_id", "last_run_at"])
    return written


def queue_refresh_all(*, now=None) -> int:
    total = 0
    for organization in Organization.objects.order_by("pk"):
        total += queue_entries_catch_up(organization=organization, now=now)
    return total


def queue_entry_snooze(*, invoice: Invoice, until: dt.date, actor: User | None) -> None:
    """Worked for now: the invoice leaves its collector's queue until `until` (a promise date
    or a follow-up), and comes back then with "Follow-up due today"."""
    today = org_today(invoice.organization)
    if until < today or (until - today).days > SNOOZE_DAYS_MAX:
        raise WorkspaceError(f"A follow-up date must be within {SNOOZE_DAYS_MAX} days from today.")
    queue_entries_refresh(organization=invoice.organization, invoice_ids=[invoice.pk])
    QueueEntry.objects.filter(invoice=invoice).update(snoozed_until=until)


# --- escalations -----------------------------------------------------------------------------


def _reason(reason: str) -> str:
    reason = text_check(reason or "", "The reason").strip()
    if not reason:
        raise WorkspaceError("Say why you escalate: the manager reads it.")
    if len(reason) > REASON_MAX:
        raise WorkspaceError(f"The reason is at most {REASON_MAX} characters.")
    return reason


def default_manager(organization: Organization) -> Membership | None:
    from plixo.workspace.selectors import managers

    return managers(organization=organization).first()


@transaction.atomic
def escalation_raise(
    *,
    invoice: Invoice,
    from_member: Membership,
    reason: str,
    to_member: Membership | None = None,
    source: str = Escalation.Source.MANUAL,
    actor: User | None,
) -> Escalation:
    """Hand the invoice to the A/R Manager (or another member who takes escalations). A
    proposal the rule made on the invoice becomes this escalation."""
    from plixo.workspace.selectors import unanswered_steps

    reason = _reason(reason)
    if invoice.status not in OPEN_STATUSES:
        raise WorkspaceError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; "
            "there is nothing to escalate."
        )
    to_member = to_member or default_manager(invoice.organization)
    if to_member is None:
        raise WorkspaceError("Nobody in this organization takes escalations (an A/R Manager).")
    if to_member.organization_id != invoice.organization_id or not role_can(
        to_member.role, Cap.QUEUE_TEAM
    ):
        raise WorkspaceError(f"{to_member.user.display_name} does not take escalations.")
    Invoice.objects.select_for_update().filter(pk=invoice.pk).first()  # one writer at a time
    live = Escalation.objects.filter(invoice=invoice, status__in=Escalation.LIVE).first()
    now = timezone.now()
    if live is not None and live.status != Escalation.Status.PROPOSED:
        raise WorkspaceError(
            f"Invoice {invoice.number} is already escalated to "
            f"{live.to_member.user.display_name if live.to_member else 'the manager'}."
        )
    if live is not None:
        live.status = Escalation.Status.OPEN
        live.reason, live.to_member, live.from_member = reason, to_member, from_member
        live.decided_at = now
        live.save(update_fields=["status", "reason", "to_member", "from_member", "decided_at"])
        escalation = live
    else:
        escalation = Escalation.objects.create(
            organization_id=invoice.organization_id,
            invoice=invoice,
            from_member=from_member,
            to_member=to_member,
            reason=reason,
            unanswered_steps=unanswered_steps(invoice=invoice),
            source=source,
            status=Escalation.Status.OPEN,
        )
    timeline_record(
        invoice=invoice,
        kind="escalated",
        actor=actor,
        at=now,
        data={
            "escalation": str(escalation.public_id),
            "to": to_member.user.display_name,
            "reason": reason,
            "unanswered_steps": escalation.unanswered_steps,
        },
    )
    return escalation


ESCALATION_EVENTS = {
    Escalation.Status.ACKNOWLEDGED: "escalation_acknowledged",
    Escalation.Status.RESOLVED: "escalation_resolved",
    Escalation.Status.DISMISSED: "escalation_dismissed",
}


@transaction.atomic
def escalation_decide(
    *, escalation: Escalation, status: str, actor: User | None, note: str = ""
) -> Escalation:
    """Acknowledge or resolve an escalation (the manager), or dismiss a proposal (the
    collector)."""
    if status not in ESCALATION_EVENTS:
        raise WorkspaceError("Choose acknowledge, resolve or dismiss.")
    note = text_check(note or "", "The note", single_line=True).strip()
    if len(note) > 500:
        raise WorkspaceError("The note is at most 500 characters.")
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    escalation.check_transition(status)
    now = timezone.now()
    escalation.status = status
    escalation.decided_at = now
    escalation.decision_note = note
    escalation.save(update_fields=["status", "decided_at", "decision_note"])
    invoice = Invoice.objects.get(pk=escalation.invoice_id)
    timeline_record(
        invoice=invoice,
        kind=ESCALATION_EVENTS[status],
        actor=actor,
        at=now,
        data={"escalation": str(escalation.public_id), "note": note},
    )
    return escalation


def escalations_propose(*, organization: Organization, limit: int = 500) -> int:
    """The non-response rule: propose an escalation on each open invoice of a collector whose
    last N cadence emails (the organization's setting) went unanswered. The proposal waits in
    the collector's queue, to be raised or dismissed; it is never sent on its own."""
    from plixo.workspace.selectors import unanswered_steps, workspace_settings

    threshold = workspace_settings(organization=organization).escalate_after_steps
    candidates = (
        Message.objects.filter(
            organization=organization,
            kind=Message.Kind.STEP,
            status=Message.Status.SENT,
            invoice__status__in=OPEN_STATUSES,
            invoice__customer__collector__isnull=False,
        )
        .values("invoice_id")
        .annotate(sent=Count("id"))
        .filter(sent__gte=threshold)
        .order_by("invoice_id")[: limit * 4]
    )
    ids = [row["invoice_id"] for row in candidates]
    handled = set(
        Escalation.objects.filter(invoice_id__in=ids)
        .exclude(status=Escalation.Status.RESOLVED)
        .values_list("invoice_id", flat=True)
    )
    manager = default_manager(organization)
    proposed = 0
    for invoice in Invoice.objects.filter(
        pk__in=[i for i in ids if i not in handled]
    ).select_related("customer"):
        if proposed >= limit:
            break
        steps = unanswered_steps(invoice=invoice)
        if steps < threshold:
            continue
        collector = Membership.objects.filter(
            organization=organization, user_id=invoice.customer.collector_id, is_active=True
        ).first()
        if collector is None:
            continue
        try:
            with transaction.atomic():
                escalation = Escalation.objects.create(
                    organization=organization,
                    invoice=invoice,
                    from_member=collector,
                    to_member=manager,
                    reason=f"{steps} cadence emails sent without an answer from the payer.",
                    unanswered_steps=steps,
                    source=Escalation.Source.RULE,
                    status=Escalation.Status.PROPOSED,
                )
                timeline_record(
                    invoice=invoice,
                    kind="escalation_proposed",
                    actor_label="Plixo non-response rule",
                    data={"escalation": str(escalation.public_id), "unanswered_steps": steps},
                )
        except IntegrityError:  # a person escalated it meanwhile
            continue
        proposed += 1
    return proposed


def escalations_propose_all() -> int:
    return sum(
        escalations_propose(organization=organization)
        for organization in Organization.objects.order_by("pk")
    )


def workspace_settings_update(
    *, organization: Organization, escalate_after_steps: int
) -> WorkspaceSettings:
    if (
        not isinstance(escalate_after_steps, int)
        or not 1 <= escalate_after_steps <= ESCALATE_AFTER_MAX
    ):
        raise WorkspaceError(f"Escalate after 1 to {ESCALATE_AFTER_MAX} unanswered emails.")
    settings, _ = WorkspaceSettings.objects.update_or_create(
        organization=organization, defaults={"escalate_after_steps": escalate_after_steps}
    )
    return settings


# --- writing to the payer --------------------------------------------------------------------


ONE_OFF_TEMPLATES = {
    "status": (
        "Update on invoice {invoice_number}",
        "Hello {contact_name},\n\nA quick update on invoice {invoice_number} for "
        "{customer_name}: {amount_due} is open, due {due_date}.\n\n"
        "You can see the invoice and pay it here:\n{pay_link}\n\n{sender_name}",
    ),
    "reminder": (
        "Invoice {invoice_number}: {amount_due} open",
        "Hello {contact_name},\n\nInvoice {invoice_number} ({amount_due}) was due on "
        "{due_date}, {days_overdue} days ago. Could you let us know when it will be paid?\n\n"
        "{pay_link}\n\n{sender_name}",
    ),
    "blank": ("", "Hello {contact_name},\n\n\n\n{pay_link}\n\n{sender_name}"),
}


@transaction.atomic
def payer_message_send(
    *,
    invoice: Invoice,
    subject: str,
    body: str,
    actor: User | None,
    contact: Contact | None = None,
    attach_pdf: bool = True,
    revised_pdf=None,
    now: dt.datetime | None = None,
) -> Message:
    """A one-off email to the payer about `invoice`, written by a person: merge fields as in
    cadence steps, a fresh pay link at sending, queued in the outbox at once (the click is the
    approval) where quiet hours, caps, test mode and suppression apply. With `attach_pdf` the
    invoice's PDF as it is at sending goes with it; `revised_pdf` (an upload: a corrected
    invoice from the ERP) goes instead, checked to be a PDF by its content."""
    from plixo.comms.services.notices import notice_contact

    now = now or timezone.now()
    if invoice.status not in OPEN_STATUSES or invoice.balance <= 0:
        raise WorkspaceError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; "
            "there is nothing to write about."
        )
    subject = text_check(subject or "", "The subject", single_line=True).strip()
    body = text_check(body or "", "The body").strip()
    if not subject or not body:
        raise WorkspaceError("An email needs a subject and a body.")
    if len(subject) > SUBJECT_MAX or len(body) > BODY_MAX:
        raise WorkspaceError(
            f"The subject is at most {SUBJECT_MAX} characters and the body {BODY_MAX}."
        )
    try:
        template_check(subject=subject, body=body, require_pay_link=True)
    except MergeFieldError as exc:
        raise WorkspaceError(str(exc)) from None
    if contact is not None and contact.customer_id != invoice.customer_id:
        raise WorkspaceError("That contact is not one of this customer's.")
    contact = notice_contact(invoice, contact)
    if contact is None:
        raise WorkspaceError("This customer has no contact with an email address; add one first.")
    revised = _revised_pdf_check(revised_pdf) if revised_pdf else None
    attach_pdf = attach_pdf and revised is None
    token = uuid.uuid4().hex
    # "notice:" emails may go while a promise or plan pauses the cadence (a person answering
    # is not chasing); "-pdf" asks the outbox to attach the invoice PDF.
    purpose = f"notice:oneoff{'-pdf' if attach_pdf else ''}:{token}"
    message = Message.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        contact=contact,
        kind=Message.Kind.MANUAL,
        purpose=purpose,
        idempotency_key=f"{invoice.organization_id}:{invoice.pk}:{purpose}"[:120],
        subject=subject,
        body=body,
        requires_approval=False,
        status=Message.Status.QUEUED,
        send_after=now,
        intended_email=contact.email,
        created_by=actor,
        approved_by=actor,
        approved_at=now,
    )
    data = {
        "message": str(message.public_id),
        "subject": subject,
        "to": contact.email,
        "step": "one-off",
        "awaiting_approval": False,
        "invoice_pdf": attach_pdf,
    }
    if revised is not None:
        _revised_pdf_store(message, revised)
        data["revised_pdf"] = revised.name
    timeline_record(invoice=invoice, kind="email_queued", actor=actor, at=now, data=data)
    return message


def _revised_pdf_check(upload):
    """A revised invoice PDF as uploaded: read, measured and sniffed before anything is
    written (a PDF by its content, at most the evidence size limit)."""
    from plixo.disputes.attachments import PDF, AttachmentRejected, attachment_check

    try:
        checked = attachment_check(upload)
    except AttachmentRejected as exc:
        raise WorkspaceError(str(exc)) from None
    if checked.kind is not PDF:
        checked.data.close()
        raise WorkspaceError(f"{checked.name} is not a PDF; attach the revised invoice as a PDF.")
    return checked


def _revised_pdf_store(message: Message, checked) -> None:
    from django.core.files import File

    from plixo.comms.models import MessageAttachment

    attachment = MessageAttachment(
        organization_id=message.organization_id,
        message=message,
        original_name=checked.name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
    )
    attachment.organization = message.invoice.organization
    with checked.data:
        attachment.file.save(checked.name, File(checked.data), save=False)
    attachment.save()


# --- Today's Focus and the burn-down ---------------------------------------------------------


def queue_day_refresh(*, membership: Membership, today: dt.date | None = None) -> QueueDay:
    """Take the member's snapshot of today: the first of the day fixes what was planned (the
    carryover); later ones count the planned items cleared since and what is left."""
    from plixo.workspace.selectors import focus_keys

    today = today or org_today(membership.organization)
    keys = focus_keys(member=membership, today=today, limit=PLANNED_KEYS_MAX)
    current = set(keys)
    with transaction.atomic():
        day, created = QueueDay.objects.select_for_update().get_or_create(
            membership=membership,
            day=today,
            defaults={
                "organization_id": membership.organization_id,
                "planned_keys": keys,
                "planned": len(keys),
                "remaining": len(keys),
            },
        )
        if not created:
            planned = set(day.planned_keys)
            day.cleared = len(planned - current)
            day.added = len(current - planned)
            day.remaining = len(current)
            day.save(update_fields=["cleared", "added", "remaining", "updated_at"])
    return day


def queue_days_refresh() -> int:
    memberships = Membership.objects.filter(is_active=True).select_related("organization")
    count = 0
    for membership in memberships.order_by("pk"):
        if role_can(membership.role, Cap.LEDGER_VIEW):
            queue_day_refresh(membership=membership)
            count += 1
    return count


def enrollment_is_segmented(invoice: Invoice) -> bool:
    return CadenceEnrollment.objects.filter(invoice=invoice, cadence__is_default=False).exists()
