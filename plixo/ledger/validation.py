"""The ledger's input checks, raised as `LedgerError` so that every path (web, API, import, job)
answers the same message: text without control characters, dates in the product's range."""

import datetime as dt

from plixo.core.text import date_problem, text_problem
from plixo.ledger.models import LedgerError


def text_check(value: str, what: str, *, single_line: bool = False) -> str:
    """`value` unchanged, or a LedgerError that names the field and the problem."""
    if not isinstance(value, str):
        raise LedgerError(f"{what} must be text.")
    problem = text_problem(value, single_line=single_line)
    if problem:
        raise LedgerError(f"{what} {problem}.")
    return value


def date_check(value, what: str):
    """`value` unchanged (a date or datetime), or a LedgerError naming the field and the range."""
    if value is None:
        return value
    if not isinstance(value, dt.date):
        raise LedgerError(f"{what} must be a date.")
    problem = date_problem(value)
    if problem:
        raise LedgerError(f"{what} {problem}.")
    return value


def fields_check(obj, fields=None) -> None:
    """Every text field of `obj` free of control characters (one-line fields of line breaks
    too) and every date field within the product's range, with aware datetimes; a LedgerError
    naming the field otherwise."""
    from django.db import models
    from django.utils import timezone

    for field in obj._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        value = getattr(obj, field.attname, None)
        what = str(field.verbose_name).capitalize()
        if isinstance(field, models.TextField) and isinstance(value, str):
            text_check(value, what)
        elif isinstance(field, models.CharField) and isinstance(value, str):
            text_check(value, what, single_line=True)
        elif isinstance(field, models.DateField) and value is not None:
            if isinstance(value, dt.datetime) and timezone.is_naive(value):
                raise LedgerError(f"{what} needs a time zone (for example 2030-01-01T09:00:00Z).")
            date_check(value, what)
