"""Writes of reporting's own data: exchange rates, from the CSV import, the API or by hand;
and the daily A/R snapshot, refreshed by a job."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from plixo.core.models import Organization
from plixo.core.money import is_currency
from plixo.core.text import date_problem
from plixo.ledger.models import Allocation, Invoice, InvoiceAdjustment, LedgerError, Refund
from plixo.reports.models import (
    RATE_DECIMAL_PLACES,
    RATE_MAX_DIGITS,
    ExchangeRate,
    ReceivablesDay,
    ReceivablesSnapshot,
)
from plixo.reports.selectors.snapshots import daily_receivables, receivables_first_day

# A rate has at most this many digits before the decimal point (1 unit worth 10^13 base units
# is beyond any real pair; the column holds 14).
RATE_MAX = Decimal(10) ** (RATE_MAX_DIGITS - RATE_DECIMAL_PLACES - 1)


class RateError(LedgerError):
    """A rate that cannot be stored; the message is meant for the user."""


@dataclass(frozen=True)
class RateRow:
    on: dt.date
    currency: str
    rate: Decimal


def rate_problem(*, organization: Organization, on, currency: str, rate) -> str | None:
    """Why a rate cannot be stored, or None. Shared by the import's row check and the API."""
    if not isinstance(on, dt.date) or isinstance(on, dt.datetime):
        return "date must be a day (YYYY-MM-DD)"
    if problem := date_problem(on):
        return f"date {problem}"
    if not is_currency(currency):
        return f"{str(currency)[:20]!r} is not an ISO 4217 currency code"
    if currency == organization.base_currency:
        return f"{currency} is the base currency: its rate is 1 by definition"
    try:
        value = rate if isinstance(rate, Decimal) else Decimal(str(rate))
    except (InvalidOperation, ValueError):
        return "rate is not a number"
    if not value.is_finite() or value <= 0:
        return "rate must be more than zero"
    if value >= RATE_MAX:
        return f"rate must be less than {RATE_MAX:,}"
    if value != value.quantize(Decimal(1).scaleb(-RATE_DECIMAL_PLACES)):
        return f"rate has more than {RATE_DECIMAL_PLACES} decimal places"
    return None


@transaction.atomic
def exchange_rates_upsert(
    *, organization: Organization, rows: list[RateRow], source: str
) -> tuple[int, int]:
    """Store rates by (day, currency) for the organization's base currency: a new day is
    created, a changed rate updated, an equal one left alone (re-importing changes nothing).
    Returns (created, updated). Every row is checked first; one bad row writes nothing."""
    for row in rows:
        problem = rate_problem(
            organization=organization, on=row.on, currency=row.currency, rate=row.rate
        )
        if problem:
            raise RateError(f"{row.on} {row.currency}: {problem}.")
    base = organization.base_currency
    wanted = {(row.on, row.currency): Decimal(row.rate) for row in rows}
    existing = {}
    for currency in {currency for _, currency in wanted}:
        days = [on for on, code in wanted if code == currency]
        for found in ExchangeRate.objects.filter(
            organization=organization, base_currency=base, currency=currency, on__in=days
        ).select_for_update():
            existing[(found.on, found.currency)] = found
    new, changed = [], []
    for (on, currency), rate in wanted.items():
        current = existing.get((on, currency))
        if current is None:
            new.append(
                ExchangeRate(
                    organization=organization,
                    on=on,
                    currency=currency,
                    base_currency=base,
                    rate=rate,
                    source=source,
                )
            )
        elif current.rate != rate:
            current.rate, current.source, current.updated_at = rate, source, timezone.now()
            changed.append(current)
    ExchangeRate.objects.bulk_create(new)
    if changed:
        ExchangeRate.objects.bulk_update(changed, ["rate", "source", "updated_at"])
    return len(new), len(changed)


# The daily A/R snapshot. A refresh rewrites the last SNAPSHOT_WINDOW_DAYS days (a payment
# recorded late with an earlier received date lands in them) and reaches further back to the
# earliest day touched by money rows and invoices written since the last refresh; every
# SNAPSHOT_REBUILD_EVERY the whole history is computed again, which also catches edits a
# refresh cannot date (an invoice's amount or dates changed, a payment reversed).
SNAPSHOT_WINDOW_DAYS = 35
SNAPSHOT_REBUILD_EVERY = dt.timedelta(days=7)
# A row is stamped when written but seen by others only once its transaction commits: one
# written during the last refresh may have been invisible to it, so look back a little more.
SNAPSHOT_OVERLAP = dt.timedelta(hours=1)


def _day_of(moment: dt.datetime | None, organization: Organization) -> dt.date | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(organization.time_zone)).date()


def _touched_since(*, organization: Organization, since: dt.datetime) -> dt.date | None:
    """The earliest day whose A/R or credit sales rows written since `since` may change."""
    days = [
        _day_of(
            Allocation.objects.filter(organization=organization, created_at__gte=since).aggregate(
                day=Min("payment__received_at")
            )["day"],
            organization,
        ),
        _day_of(
            Refund.objects.filter(organization=organization, created_at__gte=since).aggregate(
                day=Min("refunded_at")
            )["day"],
            organization,
        ),
        Invoice.objects.filter(organization=organization, created_at__gte=since).aggregate(
            day=Min("issue_date")
        )["day"],
        # A void takes the invoice out of its issue day's credit sales.
        InvoiceAdjustment.objects.filter(
            organization=organization,
            created_at__gte=since,
            kind=InvoiceAdjustment.Kind.VOID,
        ).aggregate(day=Min("invoice__issue_date"))["day"],
    ]
    found = [day for day in days if day is not None]
    return min(found) if found else None


def receivables_snapshot_refresh(
    *,
    organization: Organization,
    full: bool = False,
    window_days: int = SNAPSHOT_WINDOW_DAYS,
    now: dt.datetime | None = None,
) -> int:
    """Compute the organization's A/R at the end of each day up to yesterday (a day is stored
    once it has ended) into `ReceivablesDay`: the whole history when asked, when there is no
    snapshot yet or the last full one is older than SNAPSHOT_REBUILD_EVERY, else the trailing
    window. Returns the number of rows written."""
    if window_days < 1:
        raise ValueError("The refresh window must be at least one day.")
    now = now or timezone.now()
    last = _day_of(now, organization) - dt.timedelta(days=1)
    first_issued = receivables_first_day(organization=organization)
    with transaction.atomic():
        snapshot = (
            ReceivablesSnapshot.objects.select_for_update()
            .filter(organization=organization)
            .first()
        )
        rebuild = (
            full
            or snapshot is None
            or snapshot.rebuilt_at < now - SNAPSHOT_REBUILD_EVERY
            or first_issued is None
            or first_issued < snapshot.first_day
        )
        if rebuild:
            start = first_issued or last
        else:
            touched = _touched_since(
                organization=organization, since=snapshot.refreshed_at - SNAPSHOT_OVERLAP
            )
            start = min(
                day
                for day in (
                    last - dt.timedelta(days=window_days - 1),
                    snapshot.last_day + dt.timedelta(days=1),
                    touched,
                )
                if day is not None
            )
            start = max(start, first_issued)
        days = {}
        if first_issued is not None and start <= last:
            days = daily_receivables(organization=organization, first=start, last=last)
        stale = ReceivablesDay.objects.filter(organization=organization)
        if not rebuild:
            stale = stale.filter(day__gte=start)
        stale.delete()
        ReceivablesDay.objects.bulk_create(
            [
                ReceivablesDay(
                    organization=organization,
                    day=day,
                    currency=currency,
                    open_balance=line[0],
                    current_balance=line[1],
                    credit_sales=line[2],
                    computed_at=now,
                )
                for (day, currency), line in sorted(days.items())
            ],
            batch_size=1000,
        )
        values = {
            "first_day": first_issued or start,
            "last_day": last,
            "refreshed_at": now,
            "refreshed_from": start,
        }
        if rebuild:
            values["rebuilt_at"] = now
        ReceivablesSnapshot.objects.update_or_create(organization=organization, defaults=values)
    return len(days)


def receivables_snapshots_refresh_all(*, now: dt.datetime | None = None) -> int:
    """The daily job: refresh every organization's snapshot once its last refresh is from an
    earlier day (in the organization's time zone). Returns the rows written."""
    now = now or timezone.now()
    written = 0
    refreshed = dict(ReceivablesSnapshot.objects.values_list("organization_id", "refreshed_at"))
    for organization in Organization.objects.order_by("pk"):
        last = refreshed.get(organization.pk)
        if last is not None and _day_of(last, organization) >= _day_of(now, organization):
            continue
        written += receivables_snapshot_refresh(organization=organization, now=now)
    return written
