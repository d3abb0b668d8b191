"""Money: `Decimal` amounts with an ISO 4217 code, quantized to the currency's minor units.

Babel knows each currency's digits (JPY 0, USD 2, KWD 3). Amounts are never floats; minor
units (Stripe's cents) are converted only at the boundary with `to_minor_units` /
`from_minor_units`.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import (
    format_currency,
    get_currency_precision,
    list_currencies,
)
from django.core.exceptions import ValidationError

# Enough for 10^15 in any currency with up to 3 decimals; stored with 4 decimal places so that
# currencies with 4 minor digits (CLF, UYW) fit too.
MONEY_MAX_DIGITS = 19
MONEY_DECIMAL_PLACES = 4
# The largest amount a money column holds (and far beyond any invoice).
MAX_AMOUNT = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES)

# Codes Babel lists that are not legal tender for invoicing (funds, precious metals, testing).
_NOT_INVOICEABLE = {
    "XAG",
    "XAU",
    "XBA",
    "XBB",
    "XBC",
    "XBD",
    "XDR",
    "XPD",
    "XPT",
    "XSU",
    "XTS",
    "XUA",
    "XXX",
}


class MoneyError(ValueError):
    """An amount or a currency that cannot be money."""


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    return frozenset(code for code in list_currencies() if len(code) == 3) - _NOT_INVOICEABLE


def is_currency(code: str) -> bool:
    return isinstance(code, str) and code in currency_codes()


def validate_currency_code(value: str) -> None:
    if not is_currency(value):
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code such as USD or EUR.")


@lru_cache(maxsize=512)
def currency_digits(code: str) -> int:
    if not is_currency(code):
        raise MoneyError(f"Unknown currency code {code!r}.")
    return get_currency_precision(code)


@lru_cache(maxsize=512)
def _exponent(code: str) -> Decimal:
    return Decimal(1).scaleb(-currency_digits(code))


def quantize(amount, currency: str) -> Decimal:
    """Round an amount to the currency's minor units (half up, as invoices do)."""
    return to_decimal(amount).quantize(_exponent(currency), rounding=ROUND_HALF_UP)


def to_decimal(value) -> Decimal:
    if isinstance(value, float):
        raise MoneyError("Money is never a float; pass a string or a Decimal.")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"{value!r} is not an amount.") from exc
    if not result.is_finite():
        raise MoneyError(f"{value!r} is not an amount.")
    return result


def parse_amount(value, currency: str) -> Decimal:
    """Parse an amount and insist it fits the currency's minor units (no silent rounding)."""
    amount = to_decimal(value)
    if abs(amount) >= MAX_AMOUNT:
        raise MoneyError(f"{value} is too large an amount.")
    if amount != amount.quantize(_exponent(currency), rounding=ROUND_HALF_UP):
        digits = currency_digits(currency)
        raise MoneyError(f"{value} has more decimal places than {currency} allows ({digits}).")
    return quantize(amount, currency)


def to_minor_units(amount: Decimal, currency: str) -> int:
    return int(quantize(amount, currency).scaleb(currency_digits(currency)))


def from_minor_units(units: int, currency: str) -> Decimal:
    return quantize(Decimal(units).scaleb(-currency_digits(currency)), currency)


def format_money(amount, currency: str, locale: str = "en_US") -> str:
    if amount is None:
        return ""
    return format_currency(quantize(amount, currency), currency, locale=locale)
