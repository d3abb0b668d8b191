"""Reads of the ledger for views and the API, always scoped to one organization and to the
accounts the member may see (Sales and CSMs: their own customers only)."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from plixo.core.models import Membership, Organization
from plixo.core.selectors import one_or_404, visible_to
from plixo.ledger.models import (
    OPEN_STATUSES,
    Contact,
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    TimelineEvent,
)


def org_today(organization: Organization) -> dt.date:
    return timezone.now().astimezone(ZoneInfo(organization.time_zone)).date()


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    min_days: int | None  # days overdue, inclusive
    max_days: int | None


AGING_BUCKETS = (
    Bucket("current", "Current", None, 0),
    Bucket("1_30", "1–30 days", 1, 30),
    Bucket("31_60", "31–60 days", 31, 60),
    Bucket("61_90", "61–90 days", 61, 90),
    Bucket("90_plus", "90+ days", 91, None),
)
BUCKETS_BY_KEY = {bucket.key: bucket for bucket in AGING_BUCKETS}


def bucket_for(days_overdue: int) -> Bucket:
    for bucket in AGING_BUCKETS:
        low = bucket.min_days if bucket.min_days is not None else -(10**9)
        high = bucket.max_days if bucket.max_days is not None else 10**9
        if low <= days_overdue <= high:
            return bucket
    return AGING_BUCKETS[-1]


def _bucket_filter(bucket: Bucket, today: dt.date) -> Q:
    """Days overdue = today − due date, so a range of days is a range of due dates."""
    q = Q()
    if bucket.min_days is not None:
        q &= Q(due_date__lte=today - dt.timedelta(days=bucket.min_days))
    if bucket.max_days is not None:
        q &= Q(due_date__gte=today - dt.timedelta(days=bucket.max_days))
    return q


# --- visibility ---------------------------------------------------------------------------


def customers_visible(*, membership: Membership) -> QuerySet[Customer]:
    return visible_to(Customer.objects, membership=membership, owner_path="owner_id")


def invoices_visible(*, membership: Membership) -> QuerySet[Invoice]:
    return visible_to(Invoice.objects, membership=membership, owner_path="customer__owner_id")


def contacts_visible(*, membership: Membership) -> QuerySet[Contact]:
    return visible_to(Contact.objects, membership=membership, owner_path="customer__owner_id")


def payments_visible(*, membership: Membership) -> QuerySet[Payment]:
    return visible_to(Payment.objects, membership=membership, owner_path="customer__owner_id")


def customer_for(*, membership: Membership, public_id) -> Customer:
    return one_or_404(customers_visible(membership=membership).select_related("owner"), public_id)


def invoice_for(*, membership: Membership, public_id) -> Invoice:
    return one_or_404(invoices_visible(membership=membership).select_related("customer"), public_id)


def contact_for(*, membership: Membership, public_id) -> Contact:
    return one_or_404(contacts_visible(membership=membership).select_related("customer"), public_id)


def payment_for(*, membership: Membership, public_id) -> Payment:
    return one_or_404(payments_visible(membership=membership).select_related("customer"), public_id)


# --- lists -----------------------------------------------------------------------------------

INVOICE_SORTS = {
    "due": ("due_date", "number"),
    "-due": ("-due_date", "-number"),
    "number": ("number",),
    "-number": ("-number",),
    "amount": ("amount", "number"),
    "-amount": ("-amount", "number"),
    "balance": ("balance", "number"),
    "-balance": ("-balance", "number"),
    "customer": ("customer__name", "due_date"),
    "-customer": ("-customer__name", "due_date"),
    "issued": ("issue_date", "number"),
    "-issued": ("-issue_date", "number"),
}


def invoice_list(
    *,
    membership: Membership,
    status: str | None = None,
    customer: Customer | None = None,
    overdue: str | None = None,
    search: str | None = None,
    sort: str | None = None,
    today: dt.date | None = None,
) -> QuerySet[Invoice]:
    """Invoices filtered by status ("open" means every open status), customer, aging bucket
    (`current`, `1_30`, `31_60`, `61_90`, `90_plus`, or `any` for every overdue one) and a
    search over number, customer name, PO number and description."""
    today = today or org_today(membership.organization)
    qs = invoices_visible(membership=membership).select_related("customer")
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if customer is not None:
        qs = qs.filter(customer=customer)
    if overdue:
        if overdue == "any":
            qs = qs.filter(status__in=OPEN_STATUSES, due_date__lt=today)
        else:
            qs = qs.filter(status__in=OPEN_STATUSES).filter(
                _bucket_filter(BUCKETS_BY_KEY[overdue], today)
            )
    if search:
        term = search.strip()
        qs = qs.filter(
            Q(number__icontains=term)
            | Q(customer__name__icontains=term)
            | Q(po_number__icontains=term)
            | Q(description__icontains=term)
        )
    return qs.order_by(*INVOICE_SORTS.get(sort or "due", INVOICE_SORTS["due"]))


def customer_list(*, membership: Membership, search: str | None = None) -> QuerySet[Customer]:
    qs = customers_visible(membership=membership).select_related("owner")
    if search:
        term = search.strip()
        qs = qs.filter(Q(name__icontains=term) | Q(external_id__icontains=term))
    return qs.annotate(
        open_invoices=Count("invoices", filter=Q(invoices__status__in=OPEN_STATUSES)),
    ).order_by("name")


def customer_open_balances(*, customer: Customer) -> list[dict]:
    """Open balance per currency for one customer."""
    return list(
        customer.invoices.filter(status__in=OPEN_STATUSES)
        .values("currency")
        .annotate(balance=Sum("balance"), count=Count("id"))
        .order_by("currency")
    )


def customer_aging(*, customer: Customer, today: dt.date | None = None) -> list[dict]:
    today = today or org_today(customer.organization)
    rows = []
    base = customer.invoices.filter(status__in=OPEN_STATUSES)
    for bucket in AGING_BUCKETS:
        totals = (
            base.filter(_bucket_filter(bucket, today))
            .values("currency")
            .annotate(balance=Sum("balance"), count=Count("id"))
            .order_by("currency")
        )
        rows.append({"bucket": bucket, "totals": list(totals)})
    return rows


def invoice_status_counts(*, membership: Membership) -> dict[str, int]:
    counts = dict(
        invoices_visible(membership=membership)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in InvoiceStatus.values}


def invoice_timeline(*, invoice: Invoice) -> QuerySet[TimelineEvent]:
    return invoice.timeline.select_related("actor").order_by("-at", "-id")


def invoice_allocations(*, invoice: Invoice):
    return invoice.allocations.select_related("payment").order_by("created_at")


def invoice_refunds(*, invoice: Invoice):
    """Money given back on the payments that paid this invoice (refunds and chargebacks), with
    the part that came off this invoice."""
    from plixo.ledger.models import RefundAllocation

    return (
        RefundAllocation.objects.filter(invoice=invoice)
        .select_related("refund__payment")
        .order_by("refund__refunded_at", "id")
    )


@dataclass(frozen=True)
class PromisedTotal:
    amount: Decimal
    latest_on: dt.date


def open_promises_total(*, invoice: Invoice) -> PromisedTotal | None:
    """What open promises on the invoice add up to, and the latest date among them."""
    from django.db.models import Max, Sum

    from plixo.commitments.models import Promise

    row = Promise.objects.filter(invoice=invoice, status=Promise.Status.OPEN).aggregate(
        amount=Sum("amount"), latest_on=Max("promised_on")
    )
    if row["amount"] is None:
        return None
    return PromisedTotal(row["amount"], row["latest_on"])


def invoice_primary_contact(*, invoice: Invoice):
    from plixo.ledger.models import Contact

    return (
        Contact.objects.filter(customer_id=invoice.customer_id, is_primary=True)
        .order_by("pk")
        .first()
    )


def days_overdue(invoice: Invoice, today: dt.date) -> int:
    return (today - invoice.due_date).days


def payment_list(
    *, membership: Membership, search: str | None = None, unapplied_only: bool = False
) -> QuerySet[Payment]:
    """Payments newest first, searchable by reference and customer name."""
    qs = payments_visible(membership=membership).select_related("customer")
    if search:
        term = search.strip()
        qs = qs.filter(Q(reference__icontains=term) | Q(customer__name__icontains=term))
    if unapplied_only:
        qs = qs.filter(allocated_amount__lt=F("amount") - F("refunded_amount"))
    return qs.order_by("-received_at", "-id")


def customers_open_balances(*, customers) -> dict[int, list[dict]]:
    """Open balance and open invoice count per currency for each of `customers`, keyed by
    customer id, in one grouped query (a list page calls it for the customers it shows).
    A customer with nothing open is absent from the result."""
    ids = [customer.pk for customer in customers]
    if not ids:
        return {}
    rows = (
        Invoice.objects.filter(customer_id__in=ids, status__in=OPEN_STATUSES)
        .values("customer_id", "currency")
        .annotate(balance=Sum("balance"), count=Count("id"))
        .order_by("customer_id", "currency")
    )
    result: dict[int, list[dict]] = {}
    for row in rows:
        result.setdefault(row["customer_id"], []).append(
            {"currency": row["currency"], "balance": row["balance"], "count": row["count"]}
        )
    return result
