"""The JSON API at /api/v1/: per-user bearer keys, routers per resource, JSON errors."""

from django.http import JsonResponse
from django.urls import path, re_path
from ninja import NinjaAPI

from plixo.api.auth import ApiKeyAuth
from plixo.api.errors import error_response, install_exception_handlers
from plixo.api.routers import (
    cadences,
    contacts,
    customers,
    imports,
    invoices,
    members,
    messages,
    payments,
    portal,
    sending,
)
from plixo.approvals import api as approvals_api
from plixo.cashapp import api as cash_api
from plixo.commitments import api as commitments_api
from plixo.core.access import public
from plixo.disputes import api as disputes_api
from plixo.notes import api as notes_api
from plixo.reports import api as reports_api
from plixo.workspace import api as workspace_api

DESCRIPTION = """
Plixo's JSON API. Authenticate with a per-user API key (`plixo apikey create --email E --org
SLUG`): `Authorization: Bearer plx_…`. A key acts with its user's current role in its
organization.

Ids are opaque public ids (UUIDs). Money is a decimal string in the currency's minor units
("1250.00"), never a JSON number. Lists take `limit` (at most 200) and `offset` and answer
`{count, limit, offset, results}`.

Errors are JSON `{"detail": …, "request_id": …}`: 401 no or bad key, 403 the role may not do
this, 404 no such object (or not yours to see), 400 a business rule said no (the message says
which), 422 invalid input (`detail` lists `{loc, msg, type}`).
"""


class PlixoAPI(NinjaAPI):
    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        # The root answers a small JSON index instead of ninja's 404, and unknown paths under
        # /api/v1/ answer JSON like the rest of the API rather than an HTML page.
        patterns = [
            path("", api_index, name="api-root") if p.name == "api-root" else p for p in patterns
        ]
        patterns.append(re_path(r"^.*$", api_unknown_path, name="unknown"))
        return patterns, app_name, namespace


api = PlixoAPI(
    title="Plixo API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=ApiKeyAuth(),
)
install_exception_handlers(api)

api.add_router("/customers", customers.router)
api.add_router("/contacts", contacts.router)
api.add_router("/invoices", invoices.router)
api.add_router("/invoices", portal.router)
api.add_router("/payments", payments.router)
api.add_router("/imports", imports.router)
api.add_router("/cadences", cadences.router)
api.add_router("/messages", messages.router)
api.add_router("/settings", sending.router)
api.add_router("/reports", reports_api.router)
api.add_router("/exchange-rates", reports_api.rates_router)
api.add_router("/cash", cash_api.router)
api.add_router("/approvals", approvals_api.router)
api.add_router("/promises", commitments_api.promises)
api.add_router("/plans", commitments_api.plans)
api.add_router("/disputes", disputes_api.router)
api.add_router("/queue", workspace_api.queue)
api.add_router("/notes", notes_api.router)
api.add_router("/members", members.router)


@public
def api_index(request):
    root = request.path
    return JsonResponse(
        {
            "name": api.title,
            "version": api.version,
            "openapi": f"{root}{api.openapi_url.lstrip('/')}",
            "docs": f"{root}{api.docs_url.lstrip('/')}" if api.docs_url else None,
        }
    )


@public
def api_unknown_path(request, *args, **kwargs):
    return error_response(api, request, 404, "There is no such API route.")
