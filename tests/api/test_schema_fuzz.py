"""The API under a schema fuzzer: schemathesis reads the OpenAPI document the application serves
and sends every operation requests made from it, those the document allows and those it does
not (wrong types, values out of range, missing fields, NUL and other odd characters), in
process and against the test run's database, with a Controller's key of an organization that
has customers, invoices, payments, a cadence, a draft message and an import. No answer may be a
5xx, and every answer must be one the document describes (status code, content type, body).

One test per operation, each in its own transaction. Bounded and derandomized, so the same
requests go out on every run. A failure prints the request that broke the route; the
traceback is in the captured log.
"""

import json
import uuid

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from plixo.api.services import api_key_create
from plixo.api.urls import api
from plixo.comms.models import Cadence, Message
from plixo.core.models import Role
from plixo.imports.models import ImportBatch
from plixo.ledger.models import Contact, Customer, Invoice, Payment
from tests.imports.helpers import import_batch_with_rejects

# The objects the requests name, with ids fixed so that the generated requests (and so the
# run) are the same every time: path parameter -> (model, public id).
OBJECTS = {
    "customer_id": (Customer, uuid.UUID("0193a000-0000-7000-8000-00000000c001")),
    "contact_id": (Contact, uuid.UUID("0193a000-0000-7000-8000-00000000c002")),
    "invoice_id": (Invoice, uuid.UUID("0193a000-0000-7000-8000-00000000c003")),
    "payment_id": (Payment, uuid.UUID("0193a000-0000-7000-8000-00000000c004")),
    "cadence_id": (Cadence, uuid.UUID("0193a000-0000-4000-8000-00000000c005")),
    "message_id": (Message, uuid.UUID("0193a000-0000-4000-8000-00000000c006")),
    "import_id": (ImportBatch, uuid.UUID("0193a000-0000-4000-8000-00000000c007")),
}
MEMBER_EMAILS = sorted(f"{role}@acme.example" for role in Role.values)
# Times with the widest offsets ISO 8601 allows, and amounts from a cent to the largest a
# money column holds (a customer's balance holds less).
MOMENTS = ["2027-03-01T09:00:00Z", "2027-03-01T09:00:00+23:59", "2027-03-01T09:00:00-23:59"]
AMOUNTS = ["1250.00", "0.01", "0", "922337203685477.58", "999999999999999"]

# Generated requests per operation in the fuzzing phase, on top of the schema's examples and
# the coverage phase's boundary values (made without randomness).
WRITE_EXAMPLES = 20
READ_EXAMPLES = 5
# The fixtures hold the organization's objects for all of an operation's requests, on purpose:
# they pile up as a client's would.
FIXTURES_SHARED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _config() -> SchemathesisConfig:
    ids = {name: str(public_id) for name, (_, public_id) in OBJECTS.items()}
    return SchemathesisConfig.from_dict(
        {
            "seed": 20261201,
            "generation": {
                "deterministic": True,
                "database": "none",
                # The test sends a valid key; a generated (wrong) one would only test the 401.
                "with-security-parameters": False,
            },
            # No stateful sequences, and no probes with methods the route does not serve (Django
            # answers those 405 before any of our code runs): the time goes to the routes.
            "phases": {"stateful": {"enabled": False}, "coverage": {"unexpected-methods": []}},
            "cache": {"enabled": False},
            # Ids in paths name the organization's objects, so that each operation gets past
            # the lookup to its input checks and services; ids in bodies and queries mostly do,
            # and sometimes are anything the schema allows (or does not). Dates, currencies
            # and amounts are often ones the services take, edges included, so that requests
            # reach the database rather than stop at the first check.
            "dictionaries": {
                "customers": {"values": [ids["customer_id"]]},
                "invoices": {"values": [ids["invoice_id"]]},
                "members": {"values": MEMBER_EMAILS},
                "issued": {"values": ["2026-11-01", "1970-01-01"]},
                "due": {"values": ["2026-12-01", "2199-12-31"]},
                "moments": {"values": MOMENTS},
                "currencies": {"values": ["USD", "EUR", "JPY", "KWD", "usd"]},
                "amounts": {"values": AMOUNTS},
            },
            "parameters": {
                **{f"path.{name}": value for name, value in ids.items()},
                "body.customer": {"dictionary": "customers", "probability": 0.9},
                "body.allocations[*].invoice": {"dictionary": "invoices", "probability": 0.8},
                "body.owner_email": {"dictionary": "members", "probability": 0.5},
                "body.operator_windows[*].member": {"dictionary": "members", "probability": 0.8},
                "body.issue_date": {"dictionary": "issued", "probability": 0.9},
                "body.due_date": {"dictionary": "due", "probability": 0.9},
                "body.received_at": {"dictionary": "moments", "probability": 0.5},
                "body.suppressed_until": {"dictionary": "moments", "probability": 0.5},
                "body.until": {"dictionary": "moments", "probability": 0.5},
                "body.currency": {"dictionary": "currencies", "probability": 0.9},
                "body.amount": {"dictionary": "amounts", "probability": 0.8},
                "body.allocations[*].amount": {"dictionary": "amounts", "probability": 0.6},
                "query.customer": {"dictionary": "customers", "probability": 0.8},
                "query.invoice": {"dictionary": "invoices", "probability": 0.8},
            },
        }
    )


# The document that /api/v1/openapi.json serves, read from the API object (fetching it through
# the middleware would need the database, which collection may not touch); the requests go to
# the whole application, middleware included.
schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(api.get_openapi_schema(), cls=DjangoJSONEncoder)), config=_config()
)
schema.app = WSGIHandler()


@pytest.fixture
def api_key(personas, acme, globex) -> str:
    """A Controller's key for acme, whose objects carry the ids in OBJECTS; globex has objects
    too, which no request may reach."""
    acme.import_batch = import_batch_with_rejects(personas.org)
    objects = {
        "customer_id": acme.customer,
        "contact_id": acme.contact,
        "invoice_id": acme.invoice,
        "payment_id": acme.payment,
        "cadence_id": acme.cadence,
        "message_id": acme.message,
        "import_id": acme.import_batch,
    }
    for name, (model, public_id) in OBJECTS.items():
        model.objects.filter(pk=objects[name].pk).update(public_id=public_id)
    _, raw = api_key_create(membership=personas.controller, name="schema fuzz")
    return raw


@pytest.fixture
def in_process():
    """Requests go to the WSGI application in this thread, on the test's connection: Django
    closes "old" connections when a request starts and ends, which would drop the transaction
    that holds the test's data (Django's test client disconnects the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _call(case, api_key: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)


@schema.include(method=["POST", "PUT", "PATCH", "DELETE"]).parametrize()
@settings(max_examples=WRITE_EXAMPLES, suppress_health_check=FIXTURES_SHARED)
def test_no_write_route_answers_a_server_error(case, api_key, in_process):
    _call(case, api_key)


@schema.include(method="GET").parametrize()
@settings(max_examples=READ_EXAMPLES, suppress_health_check=FIXTURES_SHARED)
def test_no_read_route_answers_a_server_error(case, api_key, in_process):
    _call(case, api_key)
