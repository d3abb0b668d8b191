"""Aging: open balances in the buckets current, 1–30, 31–60, 61–90 and 90+ days past due, as
of any day, in total and by customer, segment, owner or currency, in the base currency with
per-currency subtotals."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from plixo.core.models import Membership
from plixo.core.money import quantize
from plixo.ledger.models import Customer
from plixo.reports.selectors.balances import open_balances
from plixo.reports.selectors.common import BUCKET_KEYS
from plixo.reports.selectors.rates import Converter

AGING_GROUPS = ("customer", "segment", "owner", "currency")
_DIMS = {
    None: (),
    "currency": (),
    "customer": ("customer_id",),
    "segment": ("customer__segment",),
    "owner": ("customer__owner_id",),
}
NO_SEGMENT = "(no segment)"
NO_OWNER = "(no owner)"


@dataclass
class Amounts:
    """Exact sums per bucket, in one currency (or the base currency)."""

    buckets: list[Decimal] = field(default_factory=lambda: [Decimal(0)] * len(BUCKET_KEYS))
    count: int | None = None

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, Decimal(0))

    def add(self, bucket: int, amount: Decimal) -> None:
        self.buckets[bucket] += amount

    def subtract(self, other: "Amounts") -> None:
        for index, value in enumerate(other.buckets):
            self.buckets[index] -= value

    def shown(self, currency: str) -> dict:
        return {
            "buckets": dict(
                zip(BUCKET_KEYS, (quantize(v, currency) for v in self.buckets), strict=True)
            ),
            "total": quantize(self.total, currency),
            **({"count": self.count} if self.count is not None else {}),
        }


@dataclass
class AgingLine:
    key: str
    label: str
    base: Amounts = field(default_factory=Amounts)
    by_currency: dict[str, Amounts] = field(default_factory=dict)
    customer_id: str | None = None  # public id, for the drill-down to the invoice list
    unconverted: bool = False  # a currency of this line had no rate

    def shown(self, base_currency: str) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "customer_id": self.customer_id,
            "base": self.base.shown(base_currency),
            "complete": not self.unconverted,
            "by_currency": {
                code: amounts.shown(code) for code, amounts in sorted(self.by_currency.items())
            },
        }


def _lines(
    sums, counts, converter: Converter, as_of: dt.date, key_of, *, note: bool = True
) -> dict[str, AgingLine]:
    lines: dict[str, AgingLine] = {}
    for key, amount in sums.items():
        *dims, currency, bucket = key
        name = key_of(dims, currency)
        line = lines.setdefault(name, AgingLine(key=str(name), label=str(name)))
        per = line.by_currency.setdefault(currency, Amounts(count=0 if counts else None))
        per.add(bucket, amount)
        if counts is not None:
            per.count += counts.get(key, 0)
        converted = converter.convert(amount, currency, as_of, note_missing=note)
        if converted is None:
            line.unconverted = True
        else:
            line.base.add(bucket, converted)
    return lines


def aging_report(
    *,
    membership: Membership,
    as_of: dt.date,
    group: str | None = None,
    currency: str | None = None,
    limit: int = 50,
    balances: tuple[dict, dict | None] | None = None,
) -> dict:
    """The aging as of the end of `as_of`. `group` splits it by customer, segment, owner or
    currency; `currency` keeps one invoice currency only. With `group="customer"` the `limit`
    customers owing most (in the base currency) are lines and the rest one "other" line.
    `balances` is what `open_balances(as_of=…, bucketed=True)` answered, when the caller
    already has it (all currencies)."""
    organization = membership.organization
    converter = Converter(organization, as_of, as_of)
    where = {"currency": currency} if currency else None
    if balances is not None and currency is None:
        sums, counts = balances
    else:
        sums, counts = open_balances(membership=membership, as_of=as_of, where=where, bucketed=True)
    total = _lines(sums, counts, converter, as_of, lambda dims, code: "total")
    total_line = total.get("total", AgingLine(key="total", label="Total"))
    total_line.label = "Total"

    lines: list[AgingLine] = []
    other = None
    if group == "currency":
        for code, amounts in sorted(total_line.by_currency.items()):
            line = AgingLine(key=code, label=code, by_currency={code: amounts})
            converted = [
                converter.convert(v, code, as_of, note_missing=False) for v in amounts.buckets
            ]
            line.unconverted = any(v is None for v in converted)
            if not line.unconverted:
                line.base.buckets = list(converted)
            lines.append(line)
    elif group in ("customer", "segment", "owner"):
        dims = _DIMS[group]
        restrict = dict(where or {})
        if group == "customer":
            chosen = _largest_customers(membership, as_of, where, converter, limit)
            restrict["customer_id__in"] = chosen
        grouped, grouped_counts = open_balances(
            membership=membership, as_of=as_of, dims=dims, where=restrict, bucketed=True
        )
        by_key = _lines(grouped, grouped_counts, converter, as_of, lambda d, code: d[0], note=False)
        lines = _labelled(group, by_key)
        if group == "customer":
            other = _other_line(total_line, lines)
    return {
        "as_of": as_of,
        "group": group,
        "currency": currency,
        "buckets": list(BUCKET_KEYS),
        "lines": [line.shown(organization.base_currency) for line in lines],
        "other": other.shown(organization.base_currency) if other else None,
        "total": total_line.shown(organization.base_currency),
        "counts_known": counts is not None,
        "conversion": converter.summary(),
    }


def _largest_customers(membership, as_of, where, converter: Converter, limit: int) -> list[int]:
    """Ids of the `limit` customers with the largest open balance in the base currency (those
    with an unconvertible currency rank by what converts)."""
    sums, _ = open_balances(membership=membership, as_of=as_of, dims=("customer_id",), where=where)
    owed: dict[int, Decimal] = defaultdict(Decimal)
    for (customer_id, code), amount in sums.items():
        # Ranking only: the rate is looked up again for the figures, without counting twice.
        found = converter.rate(code, as_of)
        owed[customer_id] += amount * found[1] if found else Decimal(0)
    ranked = sorted(owed.items(), key=lambda item: (-item[1], item[0]))
    return [customer_id for customer_id, _ in ranked[:limit]]


def _labelled(group: str, by_key: dict) -> list[AgingLine]:
    lines = list(by_key.values())
    if group == "customer":
        customers = {
            c.pk: c
            for c in Customer.objects.filter(pk__in=[int(k) for k in by_key]).only(
                "name", "public_id"
            )
        }
        for line in lines:
            customer = customers.get(int(line.key))
            line.label = customer.name if customer else line.key
            line.customer_id = str(customer.public_id) if customer else None
            line.key = line.customer_id or line.key
    elif group == "segment":
        for line in lines:
            line.label = line.key or NO_SEGMENT
    elif group == "owner":
        from plixo.core.models import User

        owners = {
            u.pk: u for u in User.objects.filter(pk__in=[int(k) for k in by_key if k != "None"])
        }
        for line in lines:
            owner = owners.get(int(line.key)) if line.key != "None" else None
            line.label = owner.display_name if owner else NO_OWNER
            line.key = owner.email if owner else ""
    lines.sort(key=lambda line: (-line.base.total, line.label))
    return lines


def _other_line(total: AgingLine, lines: list[AgingLine]) -> AgingLine | None:
    other = AgingLine(key="other", label="All other customers")
    other.base.buckets = list(total.base.buckets)
    for line in lines:
        other.base.subtract(line.base)
    for code, amounts in total.by_currency.items():
        rest = Amounts(buckets=list(amounts.buckets))
        for line in lines:
            if code in line.by_currency:
                rest.subtract(line.by_currency[code])
        if any(rest.buckets):
            if amounts.count is not None:
                rest.count = amounts.count - sum(
                    line.by_currency[code].count or 0 for line in lines if code in line.by_currency
                )
            other.by_currency[code] = rest
    other.unconverted = total.unconverted
    return other if other.by_currency else None
