"""Open balances as of any day, in SQL.

Today's balances are the ledger's own `balance` column. An earlier day's balance of an invoice
is today's plus what changed it since: balance(D) = balance(now) + allocations of payments
received after D − refunds taken back after D + adjustments (write-offs, credits, voids) made
after D, for invoices issued on or before D. Every term is linear, so a total by any grouping
of the invoices (customer, bucket, currency …) is four `SUM … GROUP BY` statements, three of
them over the money rows dated after D only, and nothing is summed invoice by invoice in
Python."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count

from plixo.core.models import Membership
from plixo.ledger.models import (
    OPEN_STATUSES,
    Allocation,
    Invoice,
    InvoiceAdjustment,
    RefundAllocation,
)
from plixo.ledger.selectors import org_today
from plixo.reports.selectors.common import (
    bucket_case,
    day_start,
    money_sum,
    money_value,
    prefixed,
    scope_q,
)


def open_balances(
    *,
    membership: Membership,
    as_of: dt.date,
    dims: tuple[str, ...] = (),
    where: dict | None = None,
    bucketed: bool = False,
) -> tuple[dict[tuple, Decimal], dict[tuple, int] | None]:
    """Open balances at the end of `as_of`, summed by (*dims, currency[, bucket]) where dims
    are invoice fields ("customer_id", "customer__segment" …) and `where` filters invoices.
    Returns (sums, counts): counts of open invoices per key, only when `as_of` is today or
    later (an invoice's openness on an earlier day is not a sum of rows)."""
    organization = membership.organization
    today = org_today(organization)
    keys = (*dims, "currency")
    totals: dict[tuple, Decimal] = defaultdict(Decimal)

    def add(queryset, prefix: str, sign: int, with_count: bool = False):
        names = [f"{prefix}{name}" for name in keys]
        annotations = {}
        if bucketed:
            queryset = queryset.annotate(report_bucket=bucket_case(as_of, prefix))
            names.append("report_bucket")
        annotations["total"] = money_sum("balance" if not prefix else "amount")
        if with_count:
            annotations["n"] = Count("id")
        rows = queryset.order_by().values(*names).annotate(**annotations)
        found = {}
        for row in rows:
            key = tuple(row[name] for name in names)
            totals[key] += sign * money_value(row["total"])
            if with_count:
                found[key] = row["n"]
        return found

    invoice_filter = {"issue_date__lte": as_of, **(where or {})}
    counts = add(
        Invoice.objects.filter(scope_q(membership), status__in=OPEN_STATUSES, **invoice_filter),
        "",
        1,
        with_count=as_of >= today,
    )
    if as_of < today:
        after = day_start(organization, as_of + dt.timedelta(days=1))
        by_invoice = prefixed(invoice_filter, "invoice__")
        add(
            Allocation.objects.filter(
                scope_q(membership, "invoice__"), payment__received_at__gte=after, **by_invoice
            ),
            "invoice__",
            1,
        )
        add(
            RefundAllocation.objects.filter(
                scope_q(membership, "invoice__"), refund__refunded_at__gte=after, **by_invoice
            ),
            "invoice__",
            -1,
        )
        add(
            InvoiceAdjustment.objects.filter(
                scope_q(membership, "invoice__"), created_at__gte=after, **by_invoice
            ),
            "invoice__",
            1,
        )
    sums = {key: value for key, value in totals.items() if value}
    return sums, (counts if as_of >= today else None)


def ar_by_currency(
    *, membership: Membership, as_of: dt.date, where: dict | None = None
) -> dict[str, Decimal]:
    """Total open A/R per currency at the end of `as_of`."""
    sums, _ = open_balances(membership=membership, as_of=as_of, where=where)
    return {key[0]: value for key, value in sums.items()}
