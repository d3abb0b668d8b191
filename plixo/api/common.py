"""Helpers the routers share: pagination, references by id, documented responses."""

from collections.abc import Callable
from typing import TypeVar

from django.db.models import QuerySet
from django.http import Http404

from plixo.api.errors import ReferenceNotFound
from plixo.api.schemas import ErrorOut, PageParams

T = TypeVar("T")


def paginate(queryset: QuerySet, page: PageParams) -> dict:
    return {
        "count": queryset.count(),
        "limit": page.limit,
        "offset": page.offset,
        "results": list(queryset[page.offset : page.offset + page.limit]),
    }


def referenced(fetch: Callable[[], T], *, loc: tuple, what: str) -> T:
    """Look up an object named by an id in the query or body. Not found, or not visible to
    the caller, is a 422 on that field rather than a 404 for the route."""
    try:
        return fetch()
    except Http404 as exc:
        raise ReferenceNotFound(loc, f"No {what} with that id.") from exc


def responses(success: dict, *errors: int) -> dict:
    """The success response plus the error responses every route can give (401, 403) and
    those named."""
    documented = dict(success)
    for status in (401, 403, *errors):
        documented[status] = ErrorOut
    return documented
