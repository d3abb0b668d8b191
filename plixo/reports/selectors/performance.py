"""How fast A/R turns into cash: DSO, CEI, credit sales and cash collected per period.

DSO, average-balance method, over a period of N days ending on the report date:
    DSO = ((A/R at the start + A/R at the end) / 2) / credit sales in the period × N
where A/R at the start is the open balance at the end of the day before the period, and credit
sales are the amounts of the invoices issued in the period (void invoices left out).

CEI (collection effectiveness index) over the same period:
    CEI = (A/R at the start + credit sales − A/R at the end)
          / (A/R at the start + credit sales − current A/R at the end) × 100
where current A/R is the part not yet past due at the end of the period.

Each figure is given per invoice currency (no conversion needed) and in the base currency,
where a currency that lacks a rate for any of its terms is left out and named.

A/R and credit sales of past days come from the daily A/R snapshot (`snapshots.py`) for the
days it covers, labelled with the time it was computed; other days from the ledger."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import ClassVar

from django.db.models.functions import TruncDate

from plixo.core.models import Membership
from plixo.core.money import quantize
from plixo.ledger.models import Payment, Refund
from plixo.reports.selectors.common import money_sum, money_value, scope_q, zone
from plixo.reports.selectors.rates import EXACT, Converter
from plixo.reports.selectors.snapshots import PastReceivables

ONE_DAY = dt.timedelta(days=1)


@dataclass
class PeriodTerms:
    """The terms of DSO and CEI for one period, in one currency or converted."""

    days: int
    start_ar: Decimal
    end_ar: Decimal
    end_current_ar: Decimal
    sales: Decimal

    FIELDS: ClassVar = ("start_ar", "end_ar", "end_current_ar", "sales")

    @property
    def dso(self) -> Decimal | None:
        if self.sales <= 0:
            return None
        with localcontext() as context:
            context.prec = EXACT
            average = (self.start_ar + self.end_ar) / 2
            return (average / self.sales * self.days).quantize(Decimal("0.1"))

    @property
    def cei(self) -> Decimal | None:
        collectible = self.start_ar + self.sales - self.end_current_ar
        if collectible <= 0:
            return None
        with localcontext() as context:
            context.prec = EXACT
            collected = self.start_ar + self.sales - self.end_ar
            return (collected / collectible * 100).quantize(Decimal("0.1"))

    def shown(self, currency: str) -> dict:
        return {
            "days": self.days,
            "start_ar": quantize(self.start_ar, currency),
            "end_ar": quantize(self.end_ar, currency),
            "end_current_ar": quantize(self.end_current_ar, currency),
            "credit_sales": quantize(self.sales, currency),
            "dso": self.dso,
            "cei": self.cei,
        }


def _period(
    membership: Membership,
    start: dt.date,
    end: dt.date,
    sales: dict[tuple[dt.date, str], Decimal],
    converter: Converter,
    *,
    past: PastReceivables,
    ar_cache: dict,
) -> dict:
    before = start - ONE_DAY
    if before not in ar_cache:
        ar_cache[before] = past.ar(before)
    if end not in ar_cache:
        ar_cache[end] = past.ar(end)
    current = past.ar(end, current=True)
    in_period = {k: v for k, v in sales.items() if start <= k[0] <= end}
    currencies = set(ar_cache[before]) | set(ar_cache[end]) | {c for _, c in in_period}
    days = (end - start).days + 1
    per_currency, base_parts, left_out = {}, [], []
    for code in sorted(currencies):
        terms = PeriodTerms(
            days,
            ar_cache[before].get(code, Decimal(0)),
            ar_cache[end].get(code, Decimal(0)),
            current.get(code, Decimal(0)),
            sum((v for (_, c), v in in_period.items() if c == code), Decimal(0)),
        )
        per_currency[code] = terms
        converted = [
            converter.convert(terms.start_ar, code, before),
            converter.convert(terms.end_ar, code, end),
            converter.convert(terms.end_current_ar, code, end, note_missing=False),
            *(
                converter.convert(v, code, day)
                for (day, c), v in sorted(in_period.items())
                if c == code
            ),
        ]
        if any(value is None for value in converted):
            left_out.append(code)
            continue
        base_parts.append(
            PeriodTerms(days, converted[0], converted[1], converted[2], sum(converted[3:]))
        )
    base = PeriodTerms(
        days,
        *(sum((getattr(p, name) for p in base_parts), Decimal(0)) for name in PeriodTerms.FIELDS),
    )
    base_currency = membership.organization.base_currency
    return {
        "start": start,
        "end": end,
        "base": base.shown(base_currency),
        "left_out": left_out,
        "by_currency": {code: terms.shown(code) for code, terms in per_currency.items()},
    }


def month_starts(end: dt.date, months: int) -> list[dt.date]:
    """The first days of the `months` calendar months ending with `end`'s month, oldest first."""
    starts = []
    year, month = end.year, end.month
    for _ in range(months):
        starts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def dso_cei_report(
    *,
    membership: Membership,
    as_of: dt.date,
    period_days: int = 90,
    months: int = 0,
    as_of_balances: tuple[dict, dict] | None = None,
) -> dict:
    """DSO and CEI over the `period_days` days ending on `as_of`, and with `months` a monthly
    trend: the last `months` complete calendar months (the month of `as_of` once `as_of` is
    its last day; a month's first days alone would make a wild DSO). Past days' A/R comes from
    the daily snapshot where it covers them (`snapshot` says when it was computed), the rest
    from the ledger; `as_of_balances` is (open A/R, current part) per currency at the end of
    `as_of` when the caller already has them."""
    start = as_of - dt.timedelta(days=period_days - 1)
    trend_end = as_of if (as_of + ONE_DAY).day == 1 else as_of.replace(day=1) - ONE_DAY
    starts = month_starts(trend_end, months) if months else []
    window_start = min([start, *starts])
    converter = Converter(membership.organization, window_start - ONE_DAY, as_of)
    past = PastReceivables(
        membership=membership,
        first=window_start - ONE_DAY,
        last=as_of,
        known={as_of: as_of_balances} if as_of_balances else None,
    )
    sales = past.sales(window_start, as_of)
    cache: dict = {}
    headline = _period(membership, start, as_of, sales, converter, past=past, ar_cache=cache)
    trend = []
    for index, first in enumerate(starts):
        last = starts[index + 1] - ONE_DAY if index + 1 < len(starts) else trend_end
        trend.append(_period(membership, first, last, sales, converter, past=past, ar_cache=cache))
    return {
        "as_of": as_of,
        "period_days": period_days,
        "method": "average-balance",
        "formula": {
            "dso": "((A/R at start + A/R at end) / 2) / credit sales × days in period",
            "cei": (
                "(A/R at start + credit sales − A/R at end) / "
                "(A/R at start + credit sales − current A/R at end) × 100"
            ),
        },
        "period": headline,
        "trend": trend,
        "snapshot": past.label(),
        "conversion": converter.summary(),
    }


INTERVALS = ("day", "week", "month")


def _period_key(day: dt.date, interval: str) -> dt.date:
    if interval == "month":
        return day.replace(day=1)
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    return day


def collected_report(
    *, membership: Membership, start: dt.date, end: dt.date, interval: str = "month"
) -> dict:
    """Cash received per day, week or month in [start, end] (payments by their received date
    in the organization's time zone), refunds given back in the same periods, and the net;
    each day's amounts converted at that day's rate."""
    organization = membership.organization
    tz = zone(organization)
    converter = Converter(organization, start, end)
    lo = dt.datetime.combine(start, dt.time(0), tzinfo=tz)
    hi = dt.datetime.combine(end + ONE_DAY, dt.time(0), tzinfo=tz)

    def by_day(queryset, moment: str):
        return (
            queryset.order_by()
            .annotate(day=TruncDate(moment, tzinfo=tz))
            .values("day", "currency")
            .annotate(total=money_sum("amount"))
        )

    received = by_day(
        Payment.objects.filter(scope_q(membership), received_at__gte=lo, received_at__lt=hi),
        "received_at",
    )
    refunded = by_day(
        Refund.objects.filter(
            scope_q(membership, "payment__"), refunded_at__gte=lo, refunded_at__lt=hi
        ),
        "refunded_at",
    )
    periods: dict[dt.date, dict] = {}

    def line(key: dt.date) -> dict:
        return periods.setdefault(
            key,
            {
                "base": defaultdict(Decimal),
                "by_currency": defaultdict(lambda: defaultdict(Decimal)),
                "complete": True,
            },
        )

    for rows, name in ((received, "collected"), (refunded, "refunded")):
        for row in rows:
            day, code, amount = row["day"], row["currency"], money_value(row["total"])
            entry = line(_period_key(day, interval))
            entry["by_currency"][code][name] += amount
            converted = converter.convert(amount, code, day)
            if converted is None:
                entry["complete"] = False
            else:
                entry["base"][name] += converted
    base_currency = organization.base_currency
    out = []
    for key in sorted(periods):
        entry = periods[key]

        def shown(values, code):
            collected, refunded = values["collected"], values["refunded"]
            return {
                "collected": quantize(collected, code),
                "refunded": quantize(refunded, code),
                "net": quantize(collected - refunded, code),
            }

        out.append(
            {
                "period": key,
                "base": shown(entry["base"], base_currency),
                "complete": entry["complete"],
                "by_currency": {
                    code: shown(values, code)
                    for code, values in sorted(entry["by_currency"].items())
                },
            }
        )
    totals = defaultdict(Decimal)
    for entry in periods.values():
        for name, value in entry["base"].items():
            totals[name] += value
    return {
        "start": start,
        "end": end,
        "interval": interval,
        "periods": out,
        "total": {
            "collected": quantize(totals["collected"], base_currency),
            "refunded": quantize(totals["refunded"], base_currency),
            "net": quantize(totals["collected"] - totals["refunded"], base_currency),
        },
        "conversion": converter.summary(),
    }
