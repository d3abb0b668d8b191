"""Helpers the routers share: pagination, references by id, documented responses."""

from collections.abc import Callable
from typing import TypeVar

from django.db.models import QuerySet
from django.http import Http404
from ninja.errors import ValidationError as NinjaValidationError

from plixo.api.errors import ReferenceNotFound
from plixo.api.schemas import ErrorOut, PageParams
from plixo.core.paging import (
    COUNT_CAP,
    BadCursor,
    Count,
    capped_count,
    cursor_for,
    keyset_page,
    order_by_terms,
    page_values,
)

T = TypeVar("T")


def paginate(queryset: QuerySet, page: PageParams) -> dict:
    return {
        "count": queryset.count(),
        "limit": page.limit,
        "offset": page.offset,
        "results": list(queryset[page.offset : page.offset + page.limit]),
    }


def paginate_keyset(
    queryset: QuerySet,
    page: PageParams,
    *,
    ordering: tuple[str, ...],
    count: Count | None = None,
    few: bool = False,
) -> dict:
    """A page of a list that may hold millions of rows: `count` is exact up to 10,000
    (`count_is_exact` says whether it is), `offset` goes up to 10,000, and `next_cursor` /
    `previous_cursor` page on from there at the same cost at any depth."""
    if page.cursor and page.offset:
        _query_error("cursor", "Give either a cursor or an offset, not both.")
    if page.offset > COUNT_CAP:
        _query_error(
            "offset",
            f"Offsets stop at {COUNT_CAP:,}; follow next_cursor to page further.",
        )
    if page.cursor:
        try:
            found = keyset_page(
                queryset,
                ordering=ordering,
                cursor=page.cursor,
                limit=page.limit,
                count=count,
                few=few,
            )
        except BadCursor as exc:
            _query_error("cursor", str(exc))
        return {"limit": page.limit, "offset": 0, "results": found.rows, **page_values(found)}
    rows = queryset.order_by(*order_by_terms(ordering, few=few))
    rows = list(rows[page.offset : page.offset + page.limit + 1])
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    count = count or capped_count(queryset)
    return {
        "count": count.value if count.known else None,
        "count_is_exact": count.exact,
        "limit": page.limit,
        "offset": page.offset,
        "next_cursor": (
            cursor_for(rows[-1], ordering, index=page.offset + len(rows) - 1) if more else None
        ),
        "previous_cursor": None,
        "results": rows,
    }


def _query_error(name: str, message: str):
    raise NinjaValidationError([{"loc": ["query", name], "msg": message, "type": "value_error"}])


def referenced(fetch: Callable[[], T], *, loc: tuple, what: str) -> T:
    """Look up an object named by an id in the query or body. Not found, or not visible to
    the caller, is a 422 on that field rather than a 404 for the route."""
    try:
        return fetch()
    except Http404 as exc:
        raise ReferenceNotFound(loc, f"No {what} with that id.") from exc


def invoice_and_contact(membership, payload):
    """The invoice a body names (`invoice`) and its optional `contact`, each a 422 on its own
    field when it is not one the caller can see."""
    from plixo.ledger import selectors as ledger_selectors

    invoice = referenced(
        lambda: ledger_selectors.invoice_for(membership=membership, public_id=payload.invoice),
        loc=("body", "payload", "invoice"),
        what="invoice",
    )
    contact = None
    if payload.contact is not None:
        contact = referenced(
            lambda: ledger_selectors.contact_for(membership=membership, public_id=payload.contact),
            loc=("body", "payload", "contact"),
            what="contact",
        )
    return invoice, contact


def responses(success: dict, *errors: int) -> dict:
    """The success response plus the error responses every route can give (401, 403) and
    those named."""
    documented = dict(success)
    for status in (401, 403, *errors):
        documented[status] = ErrorOut
    return documented
