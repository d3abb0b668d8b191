"""Conversion to the organization's base currency with dated rates, and the record of which
rates a report used and which it lacked.

Each amount dated D converts at the latest rate on or before D. A currency with no such rate
is not converted (and never at 1): the report leaves it out of its base-currency totals, keeps
it in the per-currency subtotals, and lists it as missing with the amount left out.
Conversions are exact (no rounding until a figure is shown), so totals reconcile with the
ledger whatever the grouping.
"""

import bisect
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from plixo.core.models import Organization
from plixo.core.money import quantize
from plixo.reports.models import ExchangeRate

# Enough digits that amount × rate is exact: 19-digit amounts times 24-digit rates.
EXACT = 50


@dataclass
class _Missing:
    first: dt.date
    last: dt.date
    amount: Decimal = Decimal(0)


@dataclass
class Converter:
    """Converts amounts dated within [start, end] to the organization's base currency,
    reading each currency's rates once (the window's rates and the last one before it)."""

    organization: Organization
    start: dt.date
    end: dt.date
    _rates: dict[str, tuple[list[dt.date], list[Decimal]]] = field(default_factory=dict)
    used: dict[tuple[str, dt.date], Decimal] = field(default_factory=dict)
    missing: dict[str, _Missing] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.organization.base_currency

    def _load(self, currency: str) -> tuple[list[dt.date], list[Decimal]]:
        if currency not in self._rates:
            rows = ExchangeRate.objects.filter(
                organization=self.organization, base_currency=self.base, currency=currency
            )
            before = rows.filter(on__lt=self.start).order_by("-on").values_list("on", "rate")[:1]
            within = rows.filter(on__gte=self.start, on__lte=self.end).order_by("on")
            pairs = [*before, *within.values_list("on", "rate")]
            self._rates[currency] = ([p[0] for p in pairs], [p[1] for p in pairs])
        return self._rates[currency]

    def rate(self, currency: str, day: dt.date) -> tuple[dt.date, Decimal] | None:
        """(the rate's own date, the rate) for `currency` on `day`, or None if none is known."""
        if currency == self.base:
            return day, Decimal(1)
        days, rates = self._load(currency)
        index = bisect.bisect_right(days, day) - 1
        if index < 0:
            return None
        return days[index], rates[index]

    def convert(
        self, amount: Decimal, currency: str, day: dt.date, *, note_missing: bool = True
    ) -> Decimal | None:
        """`amount` in the base currency at the rate of `day`, exact; None (and recorded as
        missing, unless this amount is a part of one already recorded) without a rate."""
        found = self.rate(currency, day)
        if found is None and not note_missing:
            return None
        if found is None:
            gap = self.missing.setdefault(currency, _Missing(day, day))
            gap.first, gap.last = min(gap.first, day), max(gap.last, day)
            gap.amount += amount
            return None
        on, rate = found
        if currency != self.base:
            self.used[(currency, on)] = rate
        with localcontext() as context:
            context.prec = EXACT
            return amount * rate

    def summary(self) -> dict:
        """What a report says about its conversions: the base currency, each rate used (its
        currency, its date and value) and each currency that had no rate (the dates that needed
        one, and the amount left unconverted, in that currency)."""
        return {
            "base_currency": self.base,
            "rates_used": [
                {"currency": currency, "date": on, "rate": rate}
                for (currency, on), rate in sorted(self.used.items())
            ],
            "missing": [
                {
                    "currency": currency,
                    "first_date": gap.first,
                    "last_date": gap.last,
                    "amount": quantize(gap.amount, currency),
                }
                for currency, gap in sorted(self.missing.items())
            ],
        }


def rates_latest(*, organization: Organization, limit: int = 50) -> list[ExchangeRate]:
    """The latest rate of each currency held for the current base currency."""
    rows = ExchangeRate.objects.filter(
        organization=organization, base_currency=organization.base_currency
    )
    currencies = sorted(set(rows.order_by().values_list("currency", flat=True).distinct()))
    return [
        rows.filter(currency=currency).order_by("-on").first() for currency in currencies[:limit]
    ]
