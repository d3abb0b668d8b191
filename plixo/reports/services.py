"""Writes of reporting's own data: exchange rates, from the CSV import, the API or by hand."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from plixo.core.models import Organization
from plixo.core.money import is_currency
from plixo.core.text import date_problem
from plixo.ledger.models import LedgerError
from plixo.reports.models import RATE_DECIMAL_PLACES, RATE_MAX_DIGITS, ExchangeRate

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
