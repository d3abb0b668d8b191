"""Enrolment: every invoice gets its cadence state once, found by id above a high-water mark
(`TickState`), whatever path created it (web, API, imports, seeding). Ids the mark passed over
are looked at again for a day: on PostgreSQL an invoice can commit after one with a higher
id."""

import datetime as dt

import structlog
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from plixo.comms.models import (
    CadenceEnrollment,
    TickState,
)
from plixo.comms.services.cadence_plans import Enrollee, OrgPlans, cadence_for_invoice
from plixo.ledger.models import Invoice, InvoiceStatus

log = structlog.get_logger("plixo.comms")


ENROL_BATCH = 2000


def _enrol(enrollees: list[Enrollee], plans: OrgPlans, now: dt.datetime) -> None:
    """Write an enrollment for each invoice: open ones active and due now (judged on this tick
    or the next), closed ones stopped. An invoice enrolled meanwhile (by a payment's hook) keeps
    the row it has: ON CONFLICT DO NOTHING."""
    meta = CadenceEnrollment._meta
    quote = connection.ops.quote_name
    columns = (
        "organization_id",
        "invoice_id",
        "cadence_id",
        "state",
        "reason",
        "followup",
        "next_action_at",
        "updated_at",
    )
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT ({quote('invoice_id')}) "
        "DO NOTHING"
    )
    at = meta.get_field("next_action_at").get_db_prep_save(now, connection)
    rows = []
    for who in enrollees:
        plan = plans.get(who.organization_id)
        if who.is_open:
            cadence = cadence_for_invoice(plan, who, plan.today(now))
            state, reason, next_at = CadenceEnrollment.State.ACTIVE, "", at
        else:
            cadence = None
            label = InvoiceStatus(who.status).label.lower() if who.balance > 0 else "paid"
            state, reason, next_at = CadenceEnrollment.State.STOPPED, f"Invoice is {label}", None
        rows.append(
            (
                who.organization_id,
                who.pk,
                cadence.pk if cadence else None,
                state,
                reason,
                "",
                next_at,
                at,
            )
        )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


GAP_KEEP = dt.timedelta(days=1)
MAX_GAPS = 500


def _enrollees(queryset, limit: int | None = None) -> list[Enrollee]:
    rows = queryset.order_by("pk").values_list(*Enrollee.FIELDS)
    return [Enrollee(*row) for row in (rows[:limit] if limit else rows)]


def _gaps_after(through: int, pks: list[int], now: dt.datetime) -> list[list]:
    """The id ranges skipped between `through` and each id of `pks` (sorted)."""
    gaps, previous = [], through
    for pk in pks:
        if pk > previous + 1:
            gaps.append([previous + 1, pk - 1, now.isoformat()])
        previous = pk
    return gaps


def _gaps_recheck(gaps: list[list], plans: OrgPlans, now: dt.datetime) -> tuple[list, int]:
    """Enrol invoices that committed into a gap since (one query for every gap); keep the gaps
    younger than a day, at most MAX_GAPS of the newest."""
    kept = [g for g in gaps if now - dt.datetime.fromisoformat(g[2]) < GAP_KEEP][-MAX_GAPS:]
    if not kept:
        return [], 0
    within = Q()
    for first, last, _seen in kept:
        within |= Q(pk__gte=first, pk__lte=last)
    late = _enrollees(Invoice.objects.filter(within, enrollment__isnull=True))
    if late:
        _enrol(late, plans, now)
    return kept, len(late)


def invoices_enrol_new(plans: OrgPlans, now: dt.datetime) -> int:
    """Enrol invoices above the watermark, one committed batch at a time (a backlog of a
    million must not hold one long write transaction), after looking again at the gaps.
    Returns how many invoices were enrolled."""
    enrolled = 0
    TickState.objects.get_or_create(pk=1)
    with transaction.atomic():
        state = TickState.objects.select_for_update().get(pk=1)
        if state.gaps:
            gaps, late = _gaps_recheck(state.gaps, plans, now)
            TickState.objects.filter(pk=1).update(gaps=gaps, updated_at=now)
            enrolled += late
    while True:
        with transaction.atomic():
            state = TickState.objects.select_for_update().get(pk=1)
            through = state.enrolled_through
            batch = _enrollees(Invoice.objects.filter(pk__gt=through), ENROL_BATCH)
            if not batch:
                break
            _enrol(batch, plans, now)
            gaps = (state.gaps or []) + _gaps_after(through, [who.pk for who in batch], now)
            TickState.objects.filter(pk=1).update(
                enrolled_through=batch[-1].pk, gaps=gaps, updated_at=now
            )
        enrolled += len(batch)
    return enrolled


def enrollment_ensure(invoice: Invoice, *, now: dt.datetime | None = None) -> CadenceEnrollment:
    """The invoice's enrollment, made now if the tick has not reached it yet."""
    existing = CadenceEnrollment.objects.filter(invoice_id=invoice.pk).first()
    if existing is not None:
        return existing
    invoice = Invoice.objects.select_related("customer").get(pk=invoice.pk)
    _enrol([Enrollee.of(invoice)], OrgPlans(), now or timezone.now())
    return CadenceEnrollment.objects.get(invoice_id=invoice.pk)
