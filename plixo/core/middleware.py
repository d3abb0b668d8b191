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


class InputGuardMiddleware:
    """Two rules for every request, whatever view answers it:

    - A NUL character in a query parameter, a form field or an API body is refused before any
      view runs (PostgreSQL cannot store it and no text needs it): 422 in the API's error
      shape under /api/, a 400 page elsewhere. Multipart uploads are left to their views
      (parsed after authentication, their fields checked by their forms); provider webhooks
      keep their raw bodies (they are stored first, as delivered).
    - Answers to a signed-in user or an API key are never stored by a browser or a proxy
      (`Cache-Control: private, no-store`), unless the view said otherwise.
    """

    SKIP_BODY_PREFIXES = ("/webhooks/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = self._nul_in(request)
        response = self._refuse(request, where) if where else self.get_response(request)
        if not response.has_header("Cache-Control") and (
            request.path.startswith("/api/")
            or (hasattr(request, "user") and request.user.is_authenticated)
        ):
            response["Cache-Control"] = "private, no-store"
        return response

    def _nul_in(self, request: HttpRequest) -> tuple[str, str] | None:
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return ("query", key.replace("\x00", ""))
        if request.method not in ("POST", "PUT", "PATCH"):
            return None
        if request.path.startswith(self.SKIP_BODY_PREFIXES):
            return None
        if request.content_type == "multipart/form-data":
            # Uploads are parsed by their views after authentication; their text fields are
            # checked by the forms and schemas that read them.
            return None
        if request.content_type == "application/x-www-form-urlencoded":
            try:
                fields = request.POST
            except Exception:  # noqa: BLE001 (a body over the limit: the view answers it)
                return None
            for key, values in fields.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return ("body", key.replace("\x00", ""))
            return None
        if request.path.startswith("/api/"):
            # A JSON body, whatever content type the client sent it as.
            try:
                body = request.body
            except Exception:  # noqa: BLE001 (a body over the limit: the view answers it)
                return None
            if b"\\u0000" in body or b"\x00" in body:
                return ("body", "")
        return None

    def _refuse(self, request: HttpRequest, where: tuple[str, str]) -> HttpResponse:
        message = "Text may not contain a NUL character (\\u0000)."
        if request.path.startswith("/api/"):
            from django.http import JsonResponse

            loc = [part for part in where if part]
            detail = [{"loc": loc, "msg": message, "type": "invalid_text"}]
            return JsonResponse(
                {"detail": detail, "request_id": getattr(request, "request_id", None)},
                status=422,
            )
        return render(
            request,
            "error.html",
            {
                "status": 400,
                "title": "This request holds a character Plixo does not accept",
                "message": message + " Remove it and try again; nothing was saved.",
                "request_id": getattr(request, "request_id", None),
            },
            status=400,
        )
