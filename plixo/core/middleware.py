"""Request ids and the active organization.

Every request gets one id: the caller's `X-Request-ID` when it is a sane token, otherwise a
fresh one. It is bound into structlog's context (so every log line carries it), returned as a
response header and shown on every error page, so support can find the request.
"""

import re
import time
import uuid

import structlog
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from plixo.core.errors import ServiceUnavailable
from plixo.core.selectors import memberships_for_user

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
SESSION_ORG_KEY = "plixo_org"

log = structlog.get_logger("plixo.request")


def request_id_from(request: HttpRequest) -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    if _SAFE_REQUEST_ID.match(supplied):
        return supplied
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_from(request)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request.request_id)
        started = time.monotonic()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        if response.status_code >= 400:
            log.info(
                "request.failed",
                method=request.method,
                path=request.path,
                status=response.status_code,
                ms=round((time.monotonic() - started) * 1000, 1),
            )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, ServiceUnavailable):
            log.warning("request.unavailable", path=request.path, reason=str(exception))
            response = render(
                request,
                "error.html",
                {"status": 503, "title": "Not available on this server", "message": str(exception)},
                status=503,
            )
            response[REQUEST_ID_HEADER] = request.request_id
            return response
        return None


class OrganizationMiddleware:
    """Sets `request.membership` and `request.organization` for signed-in users.

    The active organization is kept in the session; a user who belongs to several picks it with
    the organization switcher. A session pointing at an organization the user has since left
    falls back to their first membership.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None
        request.organization = None
        request.memberships = []
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = list(memberships_for_user(user=user))
            request.memberships = memberships
            wanted = request.session.get(SESSION_ORG_KEY)
            chosen = next((m for m in memberships if str(m.organization.public_id) == wanted), None)
            if chosen is None and memberships:
                chosen = memberships[0]
            if chosen is not None:
                request.membership = chosen
                request.organization = chosen.organization
                structlog.contextvars.bind_contextvars(org=chosen.organization.slug, user=user.pk)
        return self.get_response(request)
