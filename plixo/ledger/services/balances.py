"""Customer balances: each customer's open invoices counted and summed per currency.

`CustomerBalance` is a cache the customer lists read, so a page never sums a customer's
invoices. Every change to an invoice's balance, status or currency moves it by a delta, in the
same transaction: what the invoice contributed before is taken off and what it contributes now
is added. Deltas commute, so concurrent payments on one customer's invoices each add their own
(the row lock of the UPDATE orders them); a missing row is created empty first, with a conflict
left to whoever created it.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import connection, transaction
from django.db.models import Count, F, Sum

from plixo.core.models import Organization
from plixo.ledger.models import (
    OPEN_STATUSES,
    CustomerBalance,
    Invoice,
    LedgerError,
    money_to_units,
    units_to_money,
)


@dataclass(frozen=True)
class Share:
    """What one invoice adds to its customer's balance: nothing unless it is open."""

    currency: str
    balance: Decimal
    status: str

    @classmethod
    def of(cls, invoice: Invoice) -> "Share":
        return cls(invoice.currency, invoice.balance, invoice.status)

    @property
    def counts(self) -> bool:
        return self.status in OPEN_STATUSES


# Deltas applied in one UPDATE per this many (customer, currency) rows.
SHIFT_BATCH = 500
TABLE = CustomerBalance._meta.db_table
# `open_units` is a 64-bit integer of ten-thousandths: a customer's open balance in one
# currency stops at about 922 trillion, far above the 10^12 a single amount may reach. Past it the
# database would refuse the UPDATE (PostgreSQL: bigint out of range; SQLite cannot even bind
# the number), so a move that would go past it is a LedgerError naming the limit instead.
OPEN_UNITS_MAX = 2**63 - 1


def _balance_too_large(currency: str) -> LedgerError:
    limit = units_to_money(OPEN_UNITS_MAX).quantize(1, rounding=ROUND_DOWN)
    return LedgerError(
        f"This would take the customer's open balance in {currency} past {limit:,}, the "
        "most Plixo can hold for one customer and currency."
    )


def customer_balances_shift(
    *, organization_id: int, moves: Iterable[tuple[int, Share | None, Share | None]]
) -> None:
    """Move customer balances for invoices that changed: `moves` holds (customer id, share
    before or None for a new invoice, share after or None for a deleted one)."""
    deltas: dict[tuple[int, str], list] = defaultdict(lambda: [0, 0])
    for customer_id, before, after in moves:
        if before is not None and before.counts:
            delta = deltas[(customer_id, before.currency)]
            delta[0] -= 1
            delta[1] -= money_to_units(before.balance)
        if after is not None and after.counts:
            delta = deltas[(customer_id, after.currency)]
            delta[0] += 1
            delta[1] += money_to_units(after.balance)
    changed = [(key, delta) for key, delta in deltas.items() if delta[0] or delta[1]]
    for start in range(0, len(changed), SHIFT_BATCH):
        _apply(organization_id, changed[start : start + SHIFT_BATCH])


def _row_ids(customer_ids) -> dict[tuple[int, str], int]:
    return {
        (customer_id, currency): pk
        for customer_id, currency, pk in CustomerBalance.objects.filter(
            customer_id__in=customer_ids
        ).values_list("customer_id", "currency", "pk")
    }


def _apply(organization_id: int, changed: list) -> None:
    for (_, currency), (_, units) in changed:
        if abs(units) > OPEN_UNITS_MAX:
            raise _balance_too_large(currency)
    if len(changed) == 1:
        # One row, the common case (a payment, an edit): one UPDATE, creating the row first
        # only when the customer has never had an open invoice in this currency. The UPDATE
        # leaves a row alone when the sum would not fit, and that is the only reason it finds
        # none the second time.
        ((customer_id, currency), (count, amount)) = changed[0]
        row = CustomerBalance.objects.filter(customer_id=customer_id, currency=currency)
        fitting = row.filter(open_units__lte=OPEN_UNITS_MAX - amount) if amount > 0 else row
        values = {
            "open_count": F("open_count") + count,
            "open_units": F("open_units") + amount,
        }
        if not fitting.update(**values):
            CustomerBalance.objects.bulk_create(
                [
                    CustomerBalance(
                        organization_id=organization_id, customer_id=customer_id, currency=currency
                    )
                ],
                ignore_conflicts=True,
            )
            if not fitting.update(**values):
                raise _balance_too_large(currency)
        return
    keys = [key for key, _ in changed]
    existing = _row_ids({customer_id for customer_id, _ in keys})
    missing = [key for key in keys if key not in existing]
    if missing:
        CustomerBalance.objects.bulk_create(
            [
                CustomerBalance(
                    organization_id=organization_id, customer_id=customer_id, currency=c
                )
                for customer_id, c in missing
            ],
            ignore_conflicts=True,
        )
        existing.update(_row_ids({customer_id for customer_id, _ in missing}))
    rows = [(existing[key], count, units) for key, (count, units) in changed]
    currency_of = {existing[key]: key[1] for key, _ in changed}
    values = ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT))"] * len(rows))
    # One statement for the batch (both databases take UPDATE … FROM a VALUES list); built
    # from placeholders only, the values travel as parameters. A row whose sum would not fit
    # is left alone (compared without adding, which would overflow first); the rows it
    # returns tell, and the savepoint takes the batch back whole when one was left.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"WITH moved(id, open_count, open_units) AS (VALUES {values}) "  # noqa: S608
            f"UPDATE {TABLE} SET open_count = {TABLE}.open_count + moved.open_count, "
            f"open_units = {TABLE}.open_units + moved.open_units "
            f"FROM moved WHERE {TABLE}.id = moved.id AND CASE WHEN moved.open_units > 0 "
            f"THEN {TABLE}.open_units <= %s - moved.open_units ELSE TRUE END "
            f"RETURNING {TABLE}.id",
            [value for row in rows for value in row] + [OPEN_UNITS_MAX],
        )
        updated = {row_id for (row_id,) in cursor.fetchall()}
        refused = [row_id for row_id, _, _ in rows if row_id not in updated]
        if refused:
            raise _balance_too_large(currency_of[refused[0]])


def customer_balance_move(*, invoice: Invoice, before: Share | None) -> None:
    """One invoice changed (or was created, `before` None): move its customer's balance."""
    customer_balances_shift(
        organization_id=invoice.organization_id,
        moves=[(invoice.customer_id, before, Share.of(invoice))],
    )


def customer_balances_rebuild(*, organization: Organization) -> int:
    """Recompute every customer balance of the organization from its invoices (after a bulk
    load that wrote invoices directly, and in the migration that introduced the cache). Not
    for use while payments are being recorded for the organization. Returns the rows written."""
    CustomerBalance.objects.filter(organization=organization).delete()
    rows = (
        Invoice.objects.filter(organization=organization, status__in=OPEN_STATUSES)
        .values("customer_id", "currency")
        .annotate(count=Count("id"), total=Sum("balance"))
        .order_by()
    )
    batch, written = [], 0
    for row in rows.iterator(chunk_size=5000):
        batch.append(
            CustomerBalance(
                organization=organization,
                customer_id=row["customer_id"],
                currency=row["currency"],
                open_count=row["count"],
                open_units=money_to_units(row["total"]),
            )
        )
        if len(batch) == 5000:
            written += len(CustomerBalance.objects.bulk_create(batch))
            batch = []
    if batch:
        written += len(CustomerBalance.objects.bulk_create(batch))
    return written


def customer_balances_differences(*, organization: Organization) -> list[dict]:
    """Where the cache and the invoices disagree (empty when they agree): for checks and tests."""
    actual = {
        (row["customer_id"], row["currency"]): (row["count"], row["total"])
        for row in Invoice.objects.filter(organization=organization, status__in=OPEN_STATUSES)
        .values("customer_id", "currency")
        .annotate(count=Count("id"), total=Sum("balance"))
        .order_by()
    }
    cached = {
        (row.customer_id, row.currency): (row.open_count, row.open_balance)
        for row in CustomerBalance.objects.filter(organization=organization)
        if row.open_count or row.open_units
    }
    problems = []
    for key in sorted(set(actual) | set(cached), key=str):
        if actual.get(key) != cached.get(key):
            problems.append(
                {
                    "customer_id": key[0],
                    "currency": key[1],
                    "invoices": actual.get(key),
                    "cached": cached.get(key),
                }
            )
    return problems
