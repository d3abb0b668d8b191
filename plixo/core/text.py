"""Input rules shared by every write: no NUL or other control characters in text (PostgreSQL
refuses NUL outright; CR/LF in a one-line field ends up in email headers), and dates within a
range every part of the product can show, convert and compute with."""

import datetime as dt
import re

# C0 controls and DEL, except tab, LF and CR, which multi-line text may hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029\x85]")

# Invoices, payments and promises are dated within these years: a year 1 or 9999 typed by
# mistake would be accepted by the database and break every page that converts it to local time.
DATE_MIN = dt.date(1970, 1, 1)
DATE_MAX = dt.date(2199, 12, 31)


def text_problem(value: str, *, single_line: bool = False) -> str | None:
    if _CONTROL.search(value):
        return "contains a control character"
    if single_line and _LINE_BREAK.search(value):
        return "must be a single line"
    return None


def one_line(value: str) -> str:
    """Stored text made safe for an email header or any one-line place: control characters
    and line breaks become spaces."""
    return _LINE_BREAK.sub(" ", _CONTROL.sub(" ", value))


def header_text(value: str) -> str:
    """Stored text as an email header value: one line, runs of spaces collapsed."""
    return " ".join(one_line(value).split())


def date_problem(value: dt.date | dt.datetime) -> str | None:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not DATE_MIN <= day <= DATE_MAX:
        return f"must be between {DATE_MIN:%Y-%m-%d} and {DATE_MAX:%Y-%m-%d}"
    return None
