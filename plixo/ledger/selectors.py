"""Reads of the ledger for views and the API, always scoped to one organization and to the
accounts the member may see (Sales and CSMs: their own customers only)."""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count as CountOf
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone

from plixo.core.models import Membership, Organization
from plixo.core.paging import COUNT_CAP, UNCOUNTED, Count, capped_counts
from plixo.core.selectors import one_or_404, visible_to
from plixo.ledger.models import (
    OPEN_STATUSES,
    Contact,
    Customer,
    CustomerBalance,
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
    return one_or_404(
        customers_visible(membership=membership).select_related("owner", "collector"), public_id
    )


def invoice_for(*, membership: Membership, public_id) -> Invoice:
    return one_or_404(invoices_visible(membership=membership).select_related("customer"), public_id)


def contact_for(*, membership: Membership, public_id) -> Contact:
    return one_or_404(contacts_visible(membership=membership).select_related("customer"), public_id)


def payment_for(*, membership: Membership, public_id) -> Payment:
    return one_or_404(payments_visible(membership=membership).select_related("customer"), public_id)


# --- lists -----------------------------------------------------------------------------------

# Each order ends with the invoice number (unique in the organization), so a cursor names one
# row, and each has an index that serves it (`Invoice.Meta.indexes`). Amount and balance sort
# within one currency: amounts in different currencies do not compare.
INVOICE_SORTS = {
    "due": ("due_date", "number"),
    "-due": ("-due_date", "-number"),
    "number": ("number",),
    "-number": ("-number",),
    "amount": ("amount", "number"),
    "-amount": ("-amount", "-number"),
    "balance": ("balance", "number"),
    "-balance": ("-balance", "-number"),
    # By customer, then the customer's invoices by due date: the customers' name index walked
    # in order, each customer's invoices read from its own index (no sort of the whole ledger).
    "customer": ("customer__name", "customer_id", "due_date", "number"),
    "-customer": ("-customer__name", "-customer_id", "-due_date", "-number"),
    "issued": ("issue_date", "number"),
    "-issued": ("-issue_date", "-number"),
}
MONEY_SORTS = frozenset({"amount", "-amount", "balance", "-balance"})


def invoice_ordering(sort: str | None) -> tuple[str, ...]:
    return INVOICE_SORTS.get(sort or "due", INVOICE_SORTS["due"])


def invoice_list(
    *,
    membership: Membership,
    status: str | None = None,
    customer: Customer | None = None,
    overdue: str | None = None,
    search: "str | TextSearch | None" = None,
    sort: str | None = None,
    currency: str | None = None,
    today: dt.date | None = None,
) -> QuerySet[Invoice]:
    """Invoices filtered by status ("open" means every open status), customer, currency, aging
    bucket (`current`, `1_30`, `31_60`, `61_90`, `90_plus`, or `any` for every overdue one) and
    a search over number, customer name, PO number and description, in the order `sort` names.
    An amount or balance sort keeps to one currency: `currency`, else the organization's base
    currency (see `invoice_list_currency`)."""
    today = today or org_today(membership.organization)
    qs = invoices_visible(membership=membership).select_related("customer")
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if customer is not None:
        qs = qs.filter(customer=customer)
    currency = invoice_list_currency(membership=membership, sort=sort, currency=currency)
    if currency:
        qs = qs.filter(currency=currency)
    if overdue:
        if overdue == "any":
            qs = qs.filter(status__in=OPEN_STATUSES, due_date__lt=today)
        else:
            qs = qs.filter(status__in=OPEN_STATUSES).filter(
                _bucket_filter(BUCKETS_BY_KEY[overdue], today)
            )
    if isinstance(search, str) and search.strip():
        search = invoice_search(membership=membership, term=search)
    if isinstance(search, TextSearch):
        qs = qs.filter(search.condition)
    if sort in ("customer", "-customer"):
        # Said again on the customer's side, so the database can walk the customers' name index
        # for the order instead of sorting every invoice.
        qs = qs.filter(customer__organization_id=membership.organization_id)
    return qs.order_by(*invoice_ordering(sort))


# Searches match at least this many characters (the trigram indexes need three).
SEARCH_MIN_LENGTH = 3
# A search that names more invoices than this, or more customers than the next, is broad: its
# matches are then found by walking the list's order and testing each row, which is quick
# precisely because they are everywhere; a narrow one reads its matches from the text indexes
# once, and the list and its counts work from that set.
SEARCH_CAP = 1000
SEARCH_CUSTOMER_CAP = 300
SEARCH_SAMPLE = 20_000

# SQLite: the FTS5 indexes of migrations 0007-0008 (trigrams of numbers and PO numbers and of
# customer names and ids; words of descriptions). PostgreSQL: pg_trgm indexes through plain
# `icontains`, and a full-text index on descriptions.
_SQLITE_INVOICE_MATCHES = (
    "SELECT ledger_invoice.id FROM ledger_invoice_search "
    "JOIN ledger_invoice ON ledger_invoice.id = ledger_invoice_search.rowid "
    "WHERE ledger_invoice_search MATCH %s AND ledger_invoice.organization_id = %s "
    "UNION "
    "SELECT ledger_invoice.id FROM ledger_invoice_words "
    "JOIN ledger_invoice ON ledger_invoice.id = ledger_invoice_words.rowid "
    "WHERE ledger_invoice_words MATCH %s AND ledger_invoice.organization_id = %s"
)
_SQLITE_CUSTOMER_MATCHES = (
    "SELECT rowid FROM ledger_customer_search WHERE ledger_customer_search MATCH %s"
)
_SQLITE_PAYMENT_MATCHES = (
    "SELECT ledger_payment.id FROM ledger_payment_search "
    "JOIN ledger_payment ON ledger_payment.id = ledger_payment_search.rowid "
    "WHERE ledger_payment_search MATCH %s AND ledger_payment.organization_id = %s"
)
_PAYMENT_SAMPLE_HITS = """
SELECT COUNT(*) FROM (
    SELECT 1 FROM (
        SELECT reference FROM ledger_payment
        WHERE organization_id = %s ORDER BY id DESC LIMIT %s
    ) sample
    WHERE UPPER(reference) LIKE UPPER(%s) ESCAPE '\\'
    LIMIT %s
) hits
"""
_POSTGRES_WORD_MATCHES = (
    "SELECT id FROM ledger_invoice WHERE organization_id = %s "
    "AND to_tsvector('simple'::regconfig, description) @@ to_tsquery('simple'::regconfig, %s) "
    "LIMIT %s"
)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class TextSearch:
    """A search's condition on its list, and whether it is broad."""

    condition: Q
    broad: bool  # matches all through the ledger: listed in order, not counted


def invoice_search(*, membership: Membership, term: str) -> TextSearch:
    """Invoices whose number, PO number or description contains `term`, or whose customer's
    name or external id does (case-insensitive). Terms are at least `SEARCH_MIN_LENGTH`
    characters (forms and the API refuse shorter ones).

    A narrow search reads its matches from the text indexes (a set of at most `SEARCH_CAP`
    invoices and `SEARCH_CUSTOMER_CAP` customers); a broad one tests rows as the list walks its
    order, which finds a page quickly because the matches are everywhere."""
    term = term.strip()
    text = Q(number__icontains=term) | Q(po_number__icontains=term)
    text |= Q(description__icontains=term)
    by_name = Q(customer__name__icontains=term) | Q(customer__external_id__icontains=term)
    # A term in every other invoice (a number prefix, "INV-") is seen in a sample of the ledger
    # at once; it would cost the text index most (every posting of its trigrams) for nothing.
    if _sample_hits(membership.organization_id, term) > SEARCH_CAP:
        return TextSearch(text | by_name, broad=True)
    customers = list(
        _customer_matches(membership, term).values_list("id", flat=True)[: SEARCH_CUSTOMER_CAP + 1]
    )
    invoices = _invoice_match_ids(membership.organization_id, term, limit=SEARCH_CAP + 1)
    if len(customers) > SEARCH_CUSTOMER_CAP or len(invoices) > SEARCH_CAP:
        return TextSearch(text | by_name, broad=True)
    return TextSearch(Q(pk__in=invoices) | Q(customer_id__in=customers), broad=False)


_SAMPLE_HITS = """
SELECT COUNT(*) FROM (
    SELECT 1 FROM (
        SELECT number, po_number, description FROM ledger_invoice
        WHERE organization_id = %s ORDER BY id DESC LIMIT %s
    ) sample
    WHERE UPPER(number) LIKE UPPER(%s) ESCAPE '\\'
        OR UPPER(po_number) LIKE UPPER(%s) ESCAPE '\\'
        OR UPPER(description) LIKE UPPER(%s) ESCAPE '\\'
    LIMIT %s
) hits
"""


def _sample_hits(organization_id: int, term: str) -> int:
    """How many of the organization's latest `SEARCH_SAMPLE` invoices contain the term (up to
    one more than `SEARCH_CAP`)."""
    return _hits_in_sample(_SAMPLE_HITS, organization_id, term, columns=3)


def _hits_in_sample(statement: str, organization_id: int, term: str, *, columns: int) -> int:
    """How many rows of a sample contain the term in any of its `columns` text columns (up to
    one more than `SEARCH_CAP`). Written out so both databases read the sample first and then
    test it, instead of planning the test over the whole table."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    with connection.cursor() as cursor:
        cursor.execute(
            statement, [organization_id, SEARCH_SAMPLE, *[pattern] * columns, SEARCH_CAP + 1]
        )
        return cursor.fetchone()[0]


def _customer_matches(membership: Membership, term: str) -> QuerySet[Customer]:
    customers = customers_visible(membership=membership).order_by()
    if connection.vendor == "sqlite":
        # A constant statement; the term is a parameter.
        matches = RawSQL(_SQLITE_CUSTOMER_MATCHES, [_fts_phrase(term)])  # noqa: S611
        return customers.filter(pk__in=matches)
    return customers.filter(Q(name__icontains=term) | Q(external_id__icontains=term))


def _invoice_match_ids(organization_id: int, term: str, *, limit: int) -> list[int]:
    """Ids of (up to `limit`) invoices whose number or PO number contains the term, or whose
    description has words starting with each of its words."""
    words = _WORD.findall(term.lower())
    if connection.vendor == "sqlite":
        # Each word a prefix (`"hard"*`); a term with no word (only punctuation) matches no
        # description.
        prefixes = " ".join(f"{_fts_phrase(word)}*" for word in words) or '""'
        matches = RawSQL(  # noqa: S611 (a constant statement; the values are parameters)
            _SQLITE_INVOICE_MATCHES,
            [_fts_phrase(term), organization_id, prefixes, organization_id],
        )
        return list(
            Invoice.objects.order_by().filter(pk__in=matches).values_list("id", flat=True)[:limit]
        )
    # Two lookups, each answered by its own index (trigrams on the numbers, the word vector on
    # the description): one OR over both makes PostgreSQL scan the organization's invoices.
    by_text = Q(number__icontains=term) | Q(po_number__icontains=term)
    ids = set(
        Invoice.objects.order_by()
        .filter(by_text, organization_id=organization_id)
        .values_list("id", flat=True)[:limit]
    )
    if words and len(ids) < limit:
        with connection.cursor() as cursor:
            cursor.execute(
                _POSTGRES_WORD_MATCHES,
                [organization_id, " & ".join(f"{w}:*" for w in words), limit],
            )
            ids.update(row[0] for row in cursor.fetchall())
    return list(ids)


def _fts_phrase(term: str) -> str:
    """The term as one FTS5 phrase: matched as written, quotes and operators included."""
    return '"' + term.replace('"', '""') + '"'


def invoice_list_currency(*, membership: Membership, sort: str | None, currency: str | None) -> str:
    """The currency an invoice list keeps to: the one asked for, or for an amount or balance
    sort the organization's base currency; empty for every currency."""
    if currency:
        return currency.upper()
    if sort in MONEY_SORTS:
        return membership.organization.base_currency
    return ""


CUSTOMER_SORTS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    # Balance sorts are within one currency (never across currencies): see `customer_list`.
    "balance": ("open_units", "pk"),
    "-balance": ("-open_units", "pk"),
}


def customer_list(
    *,
    membership: Membership,
    search: str | None = None,
    currency: str | None = None,
    sort: str | None = None,
) -> QuerySet[Customer]:
    """Customers by name, or by open balance in one currency: with `currency` only customers
    with something open in that currency are listed, and a balance sort needs a currency (the
    organization's base currency when none is given), as amounts in different currencies do
    not compare. Balances come from the per-customer cache, never from summing invoices."""
    qs = customers_visible(membership=membership).select_related("owner", "collector")
    if search:
        term = search.strip()
        qs = qs.filter(Q(name__icontains=term) | Q(external_id__icontains=term))
    sort = sort if sort in CUSTOMER_SORTS else "name"
    currency = (currency or "").upper()
    if sort.lstrip("-") == "balance" and not currency:
        currency = membership.organization.base_currency
    if currency:
        # `open_units` reads the balance row the filter joined (an annotation after the
        # filter reuses its join), so a cursor can compare it without a second join.
        qs = qs.filter(
            balance_rows__organization_id=membership.organization_id,
            balance_rows__currency=currency,
            balance_rows__open_units__gt=0,
        ).annotate(open_units=F("balance_rows__open_units"))
    return qs.order_by(*CUSTOMER_SORTS[sort])


def customer_list_ordering(sort: str | None) -> tuple[str, ...]:
    """The columns a customer list page is ordered (and paged) by, for a `sort` name."""
    return CUSTOMER_SORTS[sort if sort in CUSTOMER_SORTS else "name"]


_OPEN_CURRENCIES_SQL = """
WITH RECURSIVE found(currency) AS (
    SELECT MIN(currency) FROM ledger_customerbalance
    WHERE organization_id = %(org)s AND open_units > 0
    UNION ALL
    SELECT (
        SELECT MIN(b.currency) FROM ledger_customerbalance b
        WHERE b.organization_id = %(org)s AND b.open_units > 0 AND b.currency > found.currency
    )
    FROM found WHERE found.currency IS NOT NULL
)
SELECT currency FROM found WHERE currency IS NOT NULL
"""


def open_currencies(*, organization: Organization) -> list[str]:
    """The currencies the organization has anything open in, A–Z. One seek per currency down
    the balance index (a loose index scan; neither database skips through an index for a
    DISTINCT by itself, and a plain DISTINCT reads a row per customer)."""
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_CURRENCIES_SQL, {"org": organization.pk})
        return [row[0] for row in cursor.fetchall()]


def customers_open_balances(*, customers) -> dict[int, list[dict]]:
    """Open balance and open invoice count per currency for each of `customers`, keyed by
    customer id, from the per-customer cache in one query (a list page calls it for the
    customers it shows). A customer with nothing open is absent from the result."""
    ids = [customer.pk for customer in customers]
    result: dict[int, list[dict]] = {}
    if not ids:
        return result
    rows = CustomerBalance.objects.filter(customer_id__in=ids, open_count__gt=0).order_by(
        "customer_id", "currency"
    )
    for row in rows:
        result.setdefault(row.customer_id, []).append(
            {"currency": row.currency, "balance": row.open_balance, "count": row.open_count}
        )
    return result


def customer_open_balances(*, customer: Customer) -> list[dict]:
    """Open balance per currency for one customer."""
    return customers_open_balances(customers=[customer]).get(customer.pk, [])


def customer_aging(*, customer: Customer, today: dt.date | None = None) -> list[dict]:
    today = today or org_today(customer.organization)
    rows = []
    base = customer.invoices.filter(status__in=OPEN_STATUSES)
    for bucket in AGING_BUCKETS:
        totals = (
            base.filter(_bucket_filter(bucket, today))
            .values("currency")
            .annotate(balance=Sum("balance"), count=CountOf("id"))
            .order_by("currency")
        )
        rows.append({"bucket": bucket, "totals": list(totals)})
    return rows


def invoice_status_counts(
    *, base: QuerySet[Invoice], search: "TextSearch | None" = None
) -> dict[str, Count]:
    """How many invoices of `base` (a filtered list, before its status filter) are in each
    status, "" for all and "open" for every open status: each counted up to a cap, one short
    indexed read per status (all in one round trip), so the cost does not grow with the
    ledger."""
    # "open" is the list's filter value for every open status (there is no chip for the
    # `open` status alone, as there is no such filter).
    if search is not None and search.broad:
        # A broad search is not counted: its matches are everywhere, and counting them would
        # read the whole ledger.
        return {key: UNCOUNTED for key in ("", "open", *InvoiceStatus.values)}
    if search is not None:
        # A narrow search names a small set: read its statuses once and count them here.
        statuses = list(base.order_by().values_list("status", flat=True)[: COUNT_CAP + 1])
        if len(statuses) <= COUNT_CAP:
            counts = {"": Count(len(statuses), True)}
            counts["open"] = Count(sum(s in OPEN_STATUSES for s in statuses), True)
            for status in InvoiceStatus.values:
                if status != InvoiceStatus.OPEN:  # "open" is every open status, as above
                    counts[status] = Count(statuses.count(status), True)
            return counts
    querysets = {"": base, "open": base.filter(status__in=OPEN_STATUSES)}
    for status in InvoiceStatus.values:
        if status != InvoiceStatus.OPEN:
            querysets[status] = base.filter(status=status)
    return capped_counts(querysets)


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


PAYMENT_LIST_ORDER = ("-received_at", "-id")


# Payments with cash still to apply; the same condition as the `payment_unapplied` index.
UNAPPLIED = Q(allocated_amount__lt=F("amount") - F("refunded_amount"))


def payment_list(
    *, membership: Membership, search: TextSearch | None = None, unapplied_only: bool = False
) -> QuerySet[Payment]:
    """Payments newest first, narrowed by a `payment_search`."""
    qs = payments_visible(membership=membership).select_related("customer")
    if search is not None:
        qs = qs.filter(search.condition)
    if unapplied_only:
        qs = qs.filter(UNAPPLIED)
    return qs.order_by(*PAYMENT_LIST_ORDER)


def payment_search(*, membership: Membership, term: str) -> TextSearch:
    """Payments whose reference contains `term` or whose customer's name or external id does
    (terms of at least `SEARCH_MIN_LENGTH` characters). Matches come from the text indexes as
    a capped set of ids; a term matching more than `SEARCH_CAP` payments or
    `SEARCH_CUSTOMER_CAP` customers is broad: tested row by row as the list walks newest first
    (which finds a page quickly because the matches are everywhere) and not counted."""
    term = term.strip()
    organization_id = membership.organization_id
    broad = TextSearch(
        Q(reference__icontains=term)
        | Q(customer__name__icontains=term)
        | Q(customer__external_id__icontains=term),
        broad=True,
    )
    # A reference prefix most payments share ("ACH-") is seen in a sample of the latest
    # payments at once, before the text index is asked for every posting of its trigrams.
    if _hits_in_sample(_PAYMENT_SAMPLE_HITS, organization_id, term, columns=1) > SEARCH_CAP:
        return broad
    customers = list(
        _customer_matches(membership, term).values_list("id", flat=True)[: SEARCH_CUSTOMER_CAP + 1]
    )
    payments = Payment.objects.order_by().filter(organization_id=organization_id)
    if connection.vendor == "sqlite":
        matches = RawSQL(  # noqa: S611 (a constant statement; the values are parameters)
            _SQLITE_PAYMENT_MATCHES, [_fts_phrase(term), organization_id]
        )
        payments = payments.filter(pk__in=matches)
    else:
        payments = payments.filter(reference__icontains=term)
    ids = list(payments.values_list("id", flat=True)[: SEARCH_CAP + 1])
    if len(customers) > SEARCH_CUSTOMER_CAP or len(ids) > SEARCH_CAP:
        return broad
    return TextSearch(Q(pk__in=ids) | Q(customer_id__in=customers), broad=False)
