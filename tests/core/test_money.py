"""Money: Decimal amounts quantized to each currency's minor units, never floats."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from plixo.core.money import (
    MoneyError,
    currency_digits,
    format_money,
    from_minor_units,
    is_currency,
    parse_amount,
    quantize,
    to_decimal,
    to_minor_units,
    validate_currency_code,
)


@pytest.mark.parametrize(
    "code, digits", [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3)]
)
def test_currency_digits_come_from_iso_4217(code, digits):
    assert currency_digits(code) == digits


@pytest.mark.parametrize(
    "amount, code, expected",
    [
        ("2.345", "USD", Decimal("2.35")),  # half up, as invoices round
        ("2.344", "USD", Decimal("2.34")),
        ("-2.345", "USD", Decimal("-2.35")),
        ("10.5", "JPY", Decimal("11")),
        ("1.2345", "KWD", Decimal("1.235")),
        (7, "EUR", Decimal("7.00")),
    ],
)
def test_quantize_rounds_half_up_to_minor_units(amount, code, expected):
    result = quantize(amount, code)
    assert result == expected
    assert result.as_tuple().exponent == -currency_digits(code)


@pytest.mark.parametrize(
    "value, code, message",
    [
        ("10.5", "JPY", "more decimal places than JPY allows \\(0\\)"),
        ("1.234", "USD", "more decimal places than USD allows \\(2\\)"),
        ("1.2345", "KWD", "allows \\(3\\)"),
        ("abc", "USD", "is not an amount"),
        ("", "USD", "is not an amount"),
        ("NaN", "USD", "is not an amount"),
        ("Infinity", "EUR", "is not an amount"),
        ("1,000.00", "USD", "is not an amount"),
        ("10", "XYZ", "Unknown currency"),
    ],
)
def test_parse_amount_refuses_what_is_not_money(value, code, message):
    with pytest.raises(MoneyError, match=message):
        parse_amount(value, code)


def test_parse_amount_accepts_exact_values():
    assert parse_amount(" 1250.5 ", "USD") == Decimal("1250.50")
    assert parse_amount("1250", "JPY") == Decimal("1250")
    assert parse_amount("0.125", "KWD") == Decimal("0.125")
    assert parse_amount(Decimal("3.10"), "EUR") == Decimal("3.10")


def test_floats_are_never_money():
    with pytest.raises(MoneyError, match="never a float"):
        to_decimal(0.1)
    with pytest.raises(MoneyError, match="never a float"):
        quantize(19.99, "USD")


@pytest.mark.parametrize(
    "amount, code, units",
    [("12.34", "USD", 1234), ("1234", "JPY", 1234), ("1.234", "KWD", 1234), ("0.01", "EUR", 1)],
)
def test_minor_units_at_the_boundary(amount, code, units):
    assert to_minor_units(Decimal(amount), code) == units
    assert from_minor_units(units, code) == Decimal(amount)


@given(
    units=st.integers(min_value=-(10**15), max_value=10**15),
    code=st.sampled_from(["USD", "JPY", "KWD", "EUR", "CLF"]),
)
def test_minor_units_round_trip(units, code):
    amount = from_minor_units(units, code)
    assert to_minor_units(amount, code) == units
    assert amount == quantize(amount, code)


def test_format_money_follows_currency_and_locale():
    assert format_money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert format_money(Decimal("1234.5"), "JPY") == "¥1,235"
    assert format_money(Decimal("1234.5"), "EUR", "de_DE") == "1.234,50\xa0€"
    assert format_money(Decimal("1.2345"), "KWD", "en_US").endswith("1.235")
    assert format_money(None, "USD") == ""


def test_currency_codes_are_iso_4217_and_invoiceable():
    assert is_currency("EUR") and is_currency("JPY") and is_currency("KWD")
    for code in ("usd", "XAU", "XTS", "EURO", "", None, 840):
        assert not is_currency(code)
    validate_currency_code("GBP")
    with pytest.raises(ValidationError, match="ISO 4217"):
        validate_currency_code("ABC")


@pytest.mark.parametrize("value", ["1e30", "99999999999999999999999999999", "-1e16"])
def test_absurdly_large_amounts_are_a_money_error_not_a_crash(value):
    from plixo.core.money import MoneyError, parse_amount

    with pytest.raises(MoneyError, match="too large"):
        parse_amount(value, "USD")


@pytest.mark.parametrize(
    ("typed", "locale", "expected"),
    [
        ("1,50", None, "1.50"),  # one separator, two digits: decimal, whatever the locale
        ("1,50", "en-US", "1.50"),
        ("12.5", "de-DE", "12.50"),
        ("1.250,50", None, "1250.50"),  # two separators: the last is the decimal one
        ("1,250.50", "de", "1250.50"),
        ("1 250,50", "fr-FR", "1250.50"),
        ("1,250,000", None, "1250000.00"),  # repeated: grouping
        ("1,500", "de-DE", "1.50"),  # three digits: the locale decides
        ("1,500", "en-GB", "1500.00"),
        ("1.500", "de-DE", "1500.00"),
        ("1.500", "de-CH", "1.50"),  # the Swiss write a decimal point
        (",5", None, "0.50"),
        ("1250", None, "1250.00"),
    ],
)
def test_typed_amounts_read_in_the_payers_locale(typed, locale, expected):
    from plixo.core.money import parse_typed_amount

    assert parse_typed_amount(typed, "EUR", locale=locale) == Decimal(expected)


@pytest.mark.parametrize(
    ("typed", "locale", "message"),
    [
        ("1,500", None, "could be 1500 or 1.5"),
        ("1.500", "xx-unknown", "could be 1500 or 1.5"),
        ("1,5,0", None, "is not an amount"),
        ("12,50.00,1", None, "is not an amount"),
        ("1.234", "en-US", "more decimal places than EUR allows"),
        ("ten", None, "is not an amount"),
    ],
)
def test_ambiguous_or_malformed_typed_amounts_are_refused(typed, locale, message):
    from plixo.core.money import MoneyError, parse_typed_amount

    with pytest.raises(MoneyError, match=message):
        parse_typed_amount(typed, "EUR", locale=locale)


def test_three_digits_after_a_separator_follow_the_currency_when_it_decides():
    from plixo.core.money import parse_typed_amount

    assert parse_typed_amount("1,500", "JPY", locale=None) == Decimal("1500")
    assert parse_typed_amount("12.340", "KWD", locale=None) == Decimal("12.340")
