"""Every JSON write through the API is one transaction with its answer: when building the
response fails after the service wrote (a 5xx), the write rolls back, so a client that retries
after the error never finds a half-done or duplicated record."""

from django.db import transaction
from django.http import HttpRequest, HttpResponse

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ApiWriteAtomicMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # File uploads (imports) start background work of their own and are left out.
        if (
            request.method not in WRITE_METHODS
            or not request.path.startswith("/api/")
            or request.content_type == "multipart/form-data"
        ):
            return self.get_response(request)
        with transaction.atomic():
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
        return response
