"""Amounts as files write them, in one of two locales: a decimal point (1,234.56, 1 234.56) or
a decimal comma (1.234,56, 1 234,56).

Thousands are grouped by the other separator or by a space (plain, no-break, narrow no-break,
thin or figure space), always in threes; the decimal separator comes once, last. Anything else
is not an amount: "1,23,4.5" or "12,34" in a decimal-point file is an export or typing error,
and reading it as 1234.5 or 1234 would load a different number without a word.
"""

import re
from decimal import Decimal

# Spaces that group thousands: the plain one, no-break (U+00A0), narrow no-break (U+202F, the
# French and Swiss style), thin (U+2009) and figure (U+2007) spaces.
_GROUPING_SPACES = str.maketrans("\u00a0\u202f\u2009\u2007", "    ")
# An amount as ERPs and spreadsheets write it: an optional minus or brackets for a negative, an
# optional currency symbol before or after, and the number.
_AMOUNT_SHAPE = re.compile(
    r"(?P<open>\()? *(?P<minus>-)? *(?P<before>[$€£¥])? *(?P<minus2>-)? *"
    r"(?P<number>[0-9][0-9., ]*?) *(?P<after>[$€£¥])? *(?P<close>\))?"
)
# The number itself, per locale: digits, or digits grouped in threes by one separator, then
# the decimals. Nothing looser: a separator anywhere else is a typing error, not a format.
_NUMBER = {
    "point": re.compile(r"(\d+|\d{1,3}(,\d{3})+|\d{1,3}( \d{3})+)(\.\d+)?"),
    "comma": re.compile(r"(\d+|\d{1,3}(\.\d{3})+|\d{1,3}( \d{3})+)(,\d+)?"),
}
NUMBER_EXAMPLES = {"point": "1,234.56", "comma": "1.234,56"}


def _amount_parts(raw: str):
    """The sign and the number of an amount cell, or None when it is not shaped like one."""
    match = _AMOUNT_SHAPE.fullmatch(raw.translate(_GROUPING_SPACES).strip())
    if match is None or bool(match["open"]) != bool(match["close"]):
        return None
    if match["before"] and match["after"]:
        return None
    signs = bool(match["open"]) + bool(match["minus"]) + bool(match["minus2"])
    if signs > 1 or len(match["number"]) > 40:
        return None
    return signs == 1, match["number"]


def parse_number(raw: str, number_format: str) -> Decimal | None:
    """The value of an amount cell in the file's locale; None when it is not one."""
    parts = _amount_parts(raw)
    if parts is None:
        return None
    negative, number = parts
    if not _NUMBER[number_format].fullmatch(number):
        return None
    if number_format == "point":
        plain = number.replace(",", "").replace(" ", "")
    else:
        plain = number.replace(".", "").replace(" ", "").replace(",", ".")
    value = Decimal(plain)
    return -value if negative else value


def number_hint(raw: str) -> str | None:
    """What one amount cell says about the file's locale: "point", "comma", "ambiguous" (one
    separator followed by three digits: 1,234 is a thousand in one locale and one in the
    other) or None (no separator, or not an amount)."""
    parts = _amount_parts(raw)
    if parts is None:
        return None
    number = parts[1]
    commas, points = number.count(","), number.count(".")
    if commas and points:
        return "point" if number.rfind(".") > number.rfind(",") else "comma"
    if not commas and not points:
        return None
    mark = "," if commas else "."
    if (commas or points) > 1:
        return "point" if mark == "," else "comma"  # grouping repeats, a decimal mark does not
    if " " in number:
        return "comma" if mark == "," else "point"  # space-grouped, so the mark is decimal
    whole, decimals = number.split(mark)
    if len(decimals) == 3 and len(whole) <= 3:
        return "ambiguous"
    return "comma" if mark == "," else "point"


def not_an_amount(raw: str, number_format: str) -> str:
    example = NUMBER_EXAMPLES[number_format]
    if _amount_parts(raw) is not None:
        return (
            f"{raw[:40]!r} is not an amount written like {example}: a thousands separator "
            "must be followed by exactly three digits, and the decimal separator comes once, "
            "last."
        )
    return f"{raw[:40]!r} is not an amount."
