"""JSON writes to the ledger through the API are one transaction with their answer: when
building the response fails after the service wrote (a 5xx), the write rolls back, so a client
that retries after the error never finds a duplicated record.

Only the ledger's record routes are wrapped: they write the database and nothing else. Routes
with effects outside it (sending an email, calling a provider) keep their own transactions, so
that what went out is recorded even if the answer fails; file uploads (imports) start
background work of their own.
"""

from django.db import transaction
from django.http import HttpRequest, HttpResponse

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
WRAPPED = ("/api/v1/customers", "/api/v1/contacts", "/api/v1/invoices", "/api/v1/payments")


class ApiWriteAtomicMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method not in WRITE_METHODS
            or not request.path.startswith(WRAPPED)
            or request.content_type == "multipart/form-data"
        ):
            return self.get_response(request)
        with transaction.atomic():
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
        return response
