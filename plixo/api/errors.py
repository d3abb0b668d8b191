"""Every API error is JSON `{"detail": …, "request_id": …}`.

`detail` is a message, or for 422 ninja's list of validation errors (`loc`, `msg`, `type`).
`request_id` matches the X-Request-ID response header, so support can find the request.
"""

import structlog
from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from plixo.ledger.models import LedgerError

log = structlog.get_logger("plixo.api")

UNAUTHORIZED = "A valid API key is required: send the header 'Authorization: Bearer <key>'."


class ReferenceNotFound(Exception):
    """An id in the query or body names nothing the caller may see: a 422 on that field
    (a 404 would suggest the route itself does not exist)."""

    def __init__(self, loc: tuple, message: str):
        self.loc = loc
        super().__init__(message)


def error_response(api: NinjaAPI, request, status: int, detail):
    body = {"detail": detail, "request_id": getattr(request, "request_id", None)}
    return api.create_response(request, body, status=status)


def install_exception_handlers(api: NinjaAPI) -> None:
    def on_http_error(request, exc: HttpError):
        if isinstance(exc, AuthenticationError):
            response = error_response(api, request, 401, UNAUTHORIZED)
            response["WWW-Authenticate"] = 'Bearer realm="plixo"'
            return response
        return error_response(api, request, exc.status_code, str(exc))

    def on_not_found(request, exc: Http404):
        message = str(exc) if str(exc).startswith("No ") else "Not found."
        return error_response(api, request, 404, message)

    def on_validation_error(request, exc: NinjaValidationError):
        # A malformed id in the path names nothing: the same 404 as an id that is not yours.
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors):
            return error_response(api, request, 404, "Not found.")
        return error_response(api, request, 422, exc.errors)

    def on_reference_not_found(request, exc: ReferenceNotFound):
        detail = [{"loc": list(exc.loc), "msg": str(exc), "type": "not_found"}]
        return error_response(api, request, 422, detail)

    def on_ledger_error(request, exc: LedgerError):
        return error_response(api, request, 400, str(exc))

    def on_permission_denied(request, exc: PermissionDenied):
        return error_response(api, request, 403, str(exc) or "You may not do this.")

    def on_too_big(request, exc: RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return error_response(
            api, request, 413, f"The request body is larger than {limit:,} bytes."
        )

    def on_unexpected(request, exc: Exception):
        log.exception("api.unhandled_error", path=request.path, method=request.method)
        return error_response(api, request, 500, "Something went wrong; the error has been logged.")

    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(NinjaValidationError, on_validation_error)
    api.add_exception_handler(ReferenceNotFound, on_reference_not_found)
    api.add_exception_handler(LedgerError, on_ledger_error)
    api.add_exception_handler(PermissionDenied, on_permission_denied)
    api.add_exception_handler(RequestDataTooBig, on_too_big)
    api.add_exception_handler(Exception, on_unexpected)
