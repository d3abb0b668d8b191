"""Money: `Decimal` amounts with an ISO 4217 code, quantized to the currency's minor units.

Babel knows each currency's digits (JPY 0, USD 2, KWD 3). Amounts are never floats; minor
units (Stripe's cents) are converted only at the boundary with `to_minor_units` /
`from_minor_units`.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_decimal_symbol,
    list_currencies,
)
from django.core.exceptions import ValidationError

# Enough for 10^15 in any currency with up to 3 decimals; stored with 4 decimal places so that
# currencies with 4 minor digits (CLF, UYW) fit too.
MONEY_MAX_DIGITS = 19
MONEY_DECIMAL_PLACES = 4
# The bound on any one amount Plixo accepts: a trillion, far beyond any invoice. It sits well
# under what a money column holds (10^15) because SQLite keeps such decimals as 64-bit floats,
# exact to 15 significant digits: below 10^12 an amount with three decimals reads back exact.
MAX_AMOUNT = Decimal(10) ** 12

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


@lru_cache(maxsize=128)
def _parsed_locale(name: str) -> Locale:
    """Babel's locale for a name ("de_DE", "en-US"), parsed once: parsing loads and merges
    the locale's data, which is most of the cost of formatting an amount."""
    return Locale.parse(name.replace("-", "_"))


def format_money(amount, currency: str, locale: str | Locale = "en_US") -> str:
    if amount is None:
        return ""
    if isinstance(locale, str):
        locale = _parsed_locale(locale)
    return format_currency(quantize(amount, currency), currency, locale=locale)


_TYPED_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")


def decimal_symbol(locale: str | None) -> str | None:
    """The decimal separator people write in `locale` ("de_DE" -> ","), None if unknown."""
    if not locale:
        return None
    try:
        return get_decimal_symbol(Locale.parse(locale.replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        return None


def parse_typed_amount(text: str, currency: str, *, locale: str | None) -> Decimal:
    """An amount as a person types it, in their `locale` (a browser's language tag): "1,50"
    and "1.250,50" in Germany, "1,250.50" in the US, "1 250,50" in France.

    What reads one way only is read that way whatever the locale: the last of two different
    separators is the decimal one ("1.250,50"), a separator repeated is grouping
    ("1,250,000"), and one followed by other than three digits is decimal ("1,5", "12.50").
    One separator followed by exactly three digits ("1,500") is a thousand in one locale and
    one and a half in another: the payer's locale decides, and without one it is refused with
    both readings named. The result must fit the currency's minor units."""
    raw = text.strip()
    compact = raw.translate(_TYPED_SPACES)
    if not compact or not all(c.isdigit() or c in ",." for c in compact):
        raise MoneyError(f"{raw[:40]!r} is not an amount; type digits, e.g. 1250.50.")
    separators = [c for c in compact if c in ",."]
    if not separators:
        normalized = compact
    elif len(set(separators)) == 2:
        decimal = separators[-1]
        group = "," if decimal == "." else "."
        if compact.count(decimal) > 1:
            raise MoneyError(f"{raw[:40]!r} is not an amount.")
        normalized = compact.replace(group, "").replace(decimal, ".")
    elif len(separators) > 1:
        groups = compact.split(separators[0])
        # Thousands grouping (1,250,000), or lakh grouping (12,50,000): the last group is three
        # digits, the ones between two or three.
        if not groups[0] or len(groups[-1]) != 3 or any(len(g) not in (2, 3) for g in groups[1:]):
            raise MoneyError(f"{raw[:40]!r} is not an amount.")
        normalized = "".join(groups)
    else:
        sep = separators[0]
        whole, _, fraction = compact.partition(sep)
        if len(fraction) != 3 or not whole:
            normalized = f"{whole or '0'}.{fraction}"
        else:
            symbol = decimal_symbol(locale)
            if currency_digits(currency) == 0:
                symbol = "," if sep == "." else "."  # no decimals: it can only be grouping
            elif symbol is None and sep == "." and currency_digits(currency) >= 3:
                symbol = "."  # 12.340 KWD: three decimals are the currency's own
            if symbol not in (",", "."):
                large = int(whole + fraction)
                small = Decimal(f"{whole}.{fraction}").normalize()
                raise MoneyError(
                    f"{raw} could be {large} or {small:f}: type the amount without a thousands "
                    f"separator ({large} or {small:f}) so that it reads one way only."
                )
            normalized = f"{whole}.{fraction}" if symbol == sep else whole + fraction
    if normalized.startswith(".") or normalized.endswith("."):
        normalized = normalized.strip(".") or "0"
    return parse_amount(normalized, currency)
