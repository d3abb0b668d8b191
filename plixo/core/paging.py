"""Keyset (cursor) pagination and capped counts, for lists that may hold millions of rows.

An OFFSET makes the database walk past every row before the page, so page 20,000 of a million
invoices costs as much as reading them all. A cursor instead names the last row shown (its
values in the list's order, which always ends with a unique column) and the next page starts
right after it: a seek down the index that serves the order, whatever the depth.

Counting every match is the other cost that grows with the table; `capped_count` counts up to
a cap and says when there are more ("10,000+").
"""

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connections
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce

from plixo.core.text import date_problem

COUNT_CAP = 10_000


class BadCursor(ValueError):
    """The cursor was not made by this list (edited, truncated or from another sort)."""


@dataclass(frozen=True)
class Count:
    value: int
    exact: bool  # False when there are more than `value` (the cap)
    known: bool = True  # False when not counted at all (a broad search): "many"

    def __str__(self) -> str:
        if not self.known:
            return "many"
        return f"{self.value:,}" if self.exact else f"{self.value:,}+"


UNCOUNTED = Count(0, False, known=False)


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> Count:
    """How many rows match, reading at most `cap` + 1 of them."""
    found = queryset.order_by()[: cap + 1].count()
    return Count(min(found, cap), found <= cap)


def capped_counts(querysets: dict[str, QuerySet], cap: int = COUNT_CAP) -> dict[str, Count]:
    """`capped_count` of several querysets (of one database) in one round trip: a filter bar's
    chips ask for six or seven at once."""
    counts, parts, params, names, alias = {}, [], [], [], None
    for name, queryset in querysets.items():
        try:
            sql, part_params = queryset.order_by().values("pk")[: cap + 1].query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing (an empty id list)
            counts[name] = Count(0, True)
            continue
        alias = queryset.db
        # Django compiled `sql`; its values travel apart, in `params`.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) counted_{len(parts)})")  # noqa: S608
        params.extend(part_params)
        names.append(name)
    if not parts:
        return counts
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        found = cursor.fetchone()
    for name, value in zip(names, found, strict=True):
        counts[name] = Count(min(value, cap), value <= cap)
    return counts


@dataclass(frozen=True)
class Page:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None
    count: Count
    limit: int
    start: int | None = None  # the first row's position from 1, when known

    @property
    def end(self) -> int | None:
        return None if self.start is None else self.start + len(self.rows) - 1

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def _value_of(row, path: str):
    value = row
    for part in path.split("__"):
        value = getattr(value, part)
    return value


def _field_of(queryset: QuerySet, path: str):
    """The field a cursor column reads: a model field (through relations) or an annotation."""
    annotation = queryset.query.annotations.get(path)
    if annotation is not None:
        return annotation.output_field
    model, field = queryset.model, None
    for part in path.split("__"):
        field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        model = field.related_model or model
    return field


def _encode(values: list, ordering: tuple[str, ...], backwards: bool, index: int | None) -> str:
    payload = {"o": list(ordering), "v": [str(v) for v in values], "b": backwards, "i": index}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(
    cursor: str, queryset: QuerySet, ordering: tuple[str, ...]
) -> tuple[list, bool, int | None]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if payload["o"] != list(ordering) or len(payload["v"]) != len(ordering):
            raise BadCursor("This page link belongs to another sort; start from the first page.")
        values = []
        for name, text in zip(ordering, payload["v"], strict=True):
            field = _field_of(queryset, name.lstrip("-"))
            values.append(_in_range(field, field.to_python(text)))
        index = payload.get("i")
        # Where the row sits in the list, for "51–100 of 1,200" only: never trusted further.
        index = index if isinstance(index, int) and 0 <= index < 10**9 else None
        return values, bool(payload["b"]), index
    except BadCursor:
        raise
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, ValidationError) as exc:
        raise BadCursor("That page link is not valid; start from the first page.") from exc


_BIGINT = 2**63 - 1


def _in_range(field, value):
    """A cursor's value as the database can compare it, or ValueError: a cursor is input (an
    edited link, a client's own), and a time at a +23:59 offset, a year 9999 or an amount of
    1e999999 would otherwise reach the database and fail there."""
    if value is None:
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or date_problem(value):
            raise ValueError("time out of range")
        return value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        if date_problem(value):
            raise ValueError("date out of range")
        return value
    if isinstance(value, Decimal):
        digits = getattr(field, "max_digits", None)
        places = getattr(field, "decimal_places", None) or 0
        if not value.is_finite() or (digits and abs(value) >= Decimal(10) ** (digits - places)):
            raise ValueError("amount out of range")
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _BIGINT:
        raise ValueError("number out of range")
    return value


def _after(ordering: tuple[str, ...], values: list, backwards: bool) -> Q:
    """Rows strictly after `values` in `ordering` (before them, going backwards): for the
    first column that differs, greater (or less, for a descending column)."""
    condition = Q(pk__in=[])
    for i, name in enumerate(ordering):
        field = name.lstrip("-")
        descending = name.startswith("-") != backwards
        step = Q(**{f"{field}__{'lt' if descending else 'gt'}": values[i]})
        for earlier, value in zip(ordering[:i], values[:i], strict=False):
            step &= Q(**{earlier.lstrip("-"): value})
        condition |= step
    # The leading column's bound on its own lets the database seek instead of filter.
    first, descending = ordering[0].lstrip("-"), ordering[0].startswith("-") != backwards
    return Q(**{f"{first}__{'lte' if descending else 'gte'}": values[0]}) & condition


def cursor_for(
    row, ordering: tuple[str, ...], *, backwards: bool = False, index: int | None = None
) -> str:
    """The cursor of the page after `row` (before it, `backwards`) in `ordering`; `index`, the
    row's position in the list (from 0) when known."""
    values = [_value_of(row, name.lstrip("-")) for name in ordering]
    return _encode(values, ordering, backwards, index)


def order_by_terms(ordering: tuple[str, ...], *, few: bool = False) -> list:
    """`ordering` for `order_by`. With `few` (a small set of rows picked by id, such as a narrow
    search's matches) each column is wrapped so that no index serves the order: the database
    then fetches the few rows and sorts them, where PostgreSQL would otherwise walk the whole
    order's index testing every row against the set."""
    if not few:
        return list(ordering)
    terms = []
    for name in ordering:
        field = name.lstrip("-")
        expression = Coalesce(F(field), F(field))
        terms.append(expression.desc() if name.startswith("-") else expression.asc())
    return terms


def _reverse(name: str) -> str:
    return name[1:] if name.startswith("-") else f"-{name}"


def keyset_page(
    queryset: QuerySet,
    *,
    ordering: tuple[str, ...],
    cursor: str | None,
    limit: int,
    count: Count | None = None,
    few: bool = False,
) -> Page:
    """One page of `queryset` in `ordering` (whose last column must be unique), after or
    before the row `cursor` names; `count` when the caller has counted already. Raises
    BadCursor for a cursor this list did not make. `few`: see `order_by_terms`."""
    count = count or capped_count(queryset)
    backwards, index = False, -1
    if cursor:
        values, backwards, index = _decode(cursor, queryset, ordering)
        queryset = queryset.filter(_after(ordering, values, backwards))
    order = tuple(_reverse(name) for name in ordering) if backwards else ordering
    rows = list(queryset.order_by(*order_by_terms(order, few=few))[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()

    # The first row's position from 1 ("51–100"), when the cursor knew where it was.
    if index is None:
        start = None
    else:
        start = index - len(rows) + 1 if backwards else index + 2
        start = start if start >= 1 else None

    def position(offset: int) -> int | None:
        return None if start is None else start - 1 + offset

    next_cursor = previous_cursor = None
    if rows:
        # Going forward there is a next page when a row was left over, and a previous one
        # when we came from a cursor; going back, the other way round.
        if (more and not backwards) or backwards:
            next_cursor = cursor_for(rows[-1], ordering, index=position(len(rows) - 1))
        if (cursor and not backwards) or (backwards and more):
            previous_cursor = cursor_for(rows[0], ordering, backwards=True, index=position(0))
    return Page(rows, next_cursor, previous_cursor, count, limit, start)


def page_values(page: Page) -> dict[str, Any]:
    """The parts of a page an API response carries."""
    return {
        "count": page.count.value if page.count.known else None,
        "count_is_exact": page.count.exact,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }
