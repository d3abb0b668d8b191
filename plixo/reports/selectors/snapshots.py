"""A/R at the end of every day of a range, per invoice currency, in a dozen grouped statements.

The balance of an invoice at the end of day D (D on or after its issue date) is today's open
balance plus the money rows dated after D (`balances.py`):

    balance(D) = balance now + Σ s over its money rows dated after D

with s = + allocation (by the payment's received day), − refund allocation (by the refund's
day), + adjustment (write-off, credit, void: by the day it was made), and balance now counted
for open invoices only. So the open balance of a day is a sum of intervals over days:

    balance now        counts on the days [issue, ∞)
    a money row's s    counts on the days [issue, its day)  (nothing when its day ≤ issue)

and the current part (due date on or after D) the same intervals cut at due + 1:

    balance now        [issue, due + 1)                     (when due ≥ issue)
    a money row's s    [issue, min(its day, due + 1))

Each interval adds at its start and takes away at its end (a difference array), so the starts
and ends are summed per (day, currency) in SQL, one `GROUP BY` per kind of row and end, and a
running sum over days × currencies in Python gives every day at once, exactly (Decimal).

A range [first, last] needs only the money rows dated after `first`: a row dated on or before
it counts on no day of the range. Intervals are clipped to start no earlier than `first`.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    DecimalField,
    F,
    Min,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Round, TruncDate

from plixo.core.models import Membership, Organization
from plixo.core.permissions import sees_only_own_accounts
from plixo.ledger.models import (
    OPEN_STATUSES,
    Allocation,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    RefundAllocation,
)
from plixo.reports.models import ReceivablesDay, ReceivablesSnapshot
from plixo.reports.selectors.balances import open_balances
from plixo.reports.selectors.common import day_start, money_sum, money_value, scope_q, zone

ONE_DAY = dt.timedelta(days=1)

# The three columns of a day: open balance, current part, credit sales.
OPEN, CURRENT, SALES = 0, 1, 2


def _sum_of(expression) -> Sum:
    """An exact sum of a money expression (see `common.money_sum`)."""
    if connection.vendor == "postgresql":
        return Sum(expression)
    return Sum(Cast(Round(expression * Value(10_000)), BigIntegerField()))


def _when(condition: Q, field: str):
    return Case(
        When(condition, then=F(field)),
        default=Value(Decimal(0)),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )


# The money rows that move a balance: (model, its moment, sign of s).
MONEY_ROWS = (
    (Allocation, "payment__received_at", 1),
    (RefundAllocation, "refund__refunded_at", -1),
    (InvoiceAdjustment, "created_at", 1),
)


def receivables_first_day(*, organization: Organization) -> dt.date | None:
    """The first issue date of any of the organization's invoices: A/R is nil before it."""
    return Invoice.objects.filter(organization=organization).aggregate(day=Min("issue_date"))["day"]


def daily_receivables(
    *, organization: Organization, first: dt.date, last: dt.date
) -> dict[tuple[dt.date, str], list[Decimal]]:
    """[open balance, current part, credit sales] at the end of each day of [first, last] per
    (day, currency), for the whole organization; days and currencies with all three nil left
    out."""
    if last < first:
        raise ValueError(f"The range ends ({last}) before it starts ({first}).")
    span = (last - first).days + 1
    tz = zone(organization)
    # changes[currency][column][index of day, 0 … span] (the last slot takes ends past `last`).
    changes: dict[str, list[list[Decimal]]] = defaultdict(
        lambda: [[Decimal(0)] * (span + 1) for _ in range(2)]
    )

    def at(day: dt.date) -> int:
        return min(max((day - first).days, 0), span)

    def move(day: dt.date, currency: str, column: int, amount: Decimal) -> None:
        if amount:
            changes[currency][column][at(day)] += amount

    open_invoices = Invoice.objects.filter(organization=organization, status__in=OPEN_STATUSES)
    due_after_issue = Q(due_date__gte=F("issue_date"))
    rows = (
        open_invoices.order_by()
        .values("issue_date", "currency")
        .annotate(total=_sum_of(F("balance")), current=_sum_of(_when(due_after_issue, "balance")))
    )
    for row in rows:
        move(row["issue_date"], row["currency"], OPEN, money_value(row["total"]))
        move(row["issue_date"], row["currency"], CURRENT, money_value(row["current"]))
    rows = (
        open_invoices.filter(due_after_issue)
        .order_by()
        .values("due_date", "currency")
        .annotate(total=_sum_of(F("balance")))
    )
    for row in rows:
        move(row["due_date"] + ONE_DAY, row["currency"], CURRENT, -money_value(row["total"]))

    for model, moment, sign in MONEY_ROWS:
        rows_after = (
            model.objects.filter(
                organization=organization,
                **{f"{moment}__gte": day_start(organization, first + ONE_DAY)},
            )
            .annotate(moved_on=TruncDate(moment, tzinfo=tz))
            .filter(moved_on__gt=F("invoice__issue_date"))
            .order_by()
        )
        due_after = Q(invoice__due_date__gte=F("invoice__issue_date"))
        # Starts: at the issue date, for the balance and (when due ≥ issue) the current part.
        rows = rows_after.values("invoice__issue_date", "invoice__currency").annotate(
            total=_sum_of(F("amount")), current=_sum_of(_when(due_after, "amount"))
        )
        for row in rows:
            day, code = row["invoice__issue_date"], row["invoice__currency"]
            move(day, code, OPEN, sign * money_value(row["total"]))
            move(day, code, CURRENT, sign * money_value(row["current"]))
        # Ends on the row's own day: the balance always, the current part when due ≥ that day.
        rows = rows_after.values("moved_on", "invoice__currency").annotate(
            total=_sum_of(F("amount")),
            current=_sum_of(_when(Q(invoice__due_date__gte=F("moved_on")), "amount")),
        )
        for row in rows:
            day, code = row["moved_on"], row["invoice__currency"]
            move(day, code, OPEN, -sign * money_value(row["total"]))
            move(day, code, CURRENT, -sign * money_value(row["current"]))
        # The current part ends at due + 1 when that comes first.
        rows = (
            rows_after.filter(due_after, moved_on__gt=F("invoice__due_date"))
            .values("invoice__due_date", "invoice__currency")
            .annotate(total=_sum_of(F("amount")))
        )
        for row in rows:
            day, code = row["invoice__due_date"] + ONE_DAY, row["invoice__currency"]
            move(day, code, CURRENT, -sign * money_value(row["total"]))

    sales = (
        Invoice.objects.filter(organization=organization, issue_date__gte=first)
        .filter(issue_date__lte=last)
        .exclude(status=InvoiceStatus.VOID)
        .order_by()
        .values("issue_date", "currency")
        .annotate(total=_sum_of(F("amount")))
    )
    days: dict[tuple[dt.date, str], list[Decimal]] = {}
    for row in sales:
        value = money_value(row["total"])
        if value:
            days[(row["issue_date"], row["currency"])] = [Decimal(0), Decimal(0), value]
    for code, columns in changes.items():
        running = [Decimal(0), Decimal(0)]
        for index in range(span):
            for column in (OPEN, CURRENT):
                running[column] += columns[column][index]
            if running[OPEN] or running[CURRENT]:
                key = (first + dt.timedelta(days=index), code)
                line = days.setdefault(key, [Decimal(0), Decimal(0), Decimal(0)])
                line[OPEN], line[CURRENT] = running[OPEN], running[CURRENT]
    return days


def credit_sales_by_day(
    *, membership: Membership, start: dt.date, end: dt.date
) -> dict[tuple[dt.date, str], Decimal]:
    """Amounts invoiced per (issue date, currency) in [start, end], void invoices left out."""
    rows = (
        Invoice.objects.filter(scope_q(membership), issue_date__gte=start, issue_date__lte=end)
        .exclude(status=InvoiceStatus.VOID)
        .order_by()
        .values("issue_date", "currency")
        .annotate(total=money_sum("amount"))
    )
    return {(row["issue_date"], row["currency"]): money_value(row["total"]) for row in rows}


def ledger_terms(sums: dict[tuple, Decimal]) -> tuple[dict, dict]:
    """(open A/R, current part) per currency from `open_balances(bucketed=True)` sums keyed
    (currency, bucket) (bucket 0 is current: due on or after the day)."""
    total: dict[str, Decimal] = defaultdict(Decimal)
    current: dict[str, Decimal] = defaultdict(Decimal)
    for (code, bucket), amount in sums.items():
        total[code] += amount
        if bucket == 0:
            current[code] += amount
    return (
        {code: value for code, value in total.items() if value},
        {code: value for code, value in current.items() if value},
    )


class PastReceivables:
    """A/R per currency at the end of days in [first, last] and credit sales per day, for one
    member: from the daily snapshot for the days it covers when the member sees the whole
    organization (the snapshot is not split by account owner), and from the ledger otherwise
    (exact, `balances.py`; cheap for recent days, whose later money rows are few)."""

    def __init__(
        self,
        *,
        membership: Membership,
        first: dt.date,
        last: dt.date,
        known: dict[dt.date, tuple[dict, dict]] | None = None,
    ):
        """`known` gives days whose (open A/R, current part) per currency the caller already
        has from the ledger (the dashboard's aging of today)."""
        self.membership = membership
        self.known = dict(known or {})
        self.rows: dict[tuple[dt.date, str], list[Decimal]] = {}
        self.through: dt.date | None = None
        self.computed_at: dt.datetime | None = None
        self.used = False
        if sees_only_own_accounts(membership.role):
            return
        snapshot = ReceivablesSnapshot.objects.filter(
            organization_id=membership.organization_id
        ).first()
        if snapshot is None or snapshot.last_day < first:
            return
        self.through = snapshot.last_day
        self.computed_at = snapshot.refreshed_at
        for row in ReceivablesDay.objects.filter(
            organization_id=membership.organization_id,
            day__gte=first,
            day__lte=min(last, snapshot.last_day),
        ):
            self.rows[(row.day, row.currency)] = [
                row.open_balance,
                row.current_balance,
                row.credit_sales,
            ]
            self.computed_at = min(self.computed_at, row.computed_at)

    def covers(self, day: dt.date) -> bool:
        return self.through is not None and day <= self.through

    def ar(self, day: dt.date, *, current: bool = False) -> dict[str, Decimal]:
        """Open A/R (or its current part) per currency at the end of `day`."""
        if self.covers(day):
            self.used = True
            column = CURRENT if current else OPEN
            return {
                code: line[column]
                for (on, code), line in self.rows.items()
                if on == day and line[column]
            }
        return self._ledger(day)[1 if current else 0]

    def _ledger(self, day: dt.date) -> tuple[dict, dict]:
        # One bucketed read gives both: the current part is the "current" bucket (due ≥ day).
        if day not in self.known:
            sums, _ = open_balances(membership=self.membership, as_of=day, bucketed=True)
            self.known[day] = ledger_terms(sums)
        return self.known[day]

    def sales(self, start: dt.date, end: dt.date) -> dict[tuple[dt.date, str], Decimal]:
        """Credit sales per (issue date, currency) in [start, end], void invoices left out."""
        found = {}
        live_from = start
        if self.covers(start):
            self.used = True
            found = {
                key: line[SALES]
                for key, line in self.rows.items()
                if start <= key[0] <= min(end, self.through) and line[SALES]
            }
            live_from = self.through + ONE_DAY
        if live_from <= end:
            found.update(credit_sales_by_day(membership=self.membership, start=live_from, end=end))
        return found

    def label(self) -> dict | None:
        """What a page says of the snapshot it read: computed when, covering days up to when."""
        if not self.used:
            return None
        return {"computed_at": self.computed_at, "through": self.through}
