"""API fixtures: a bearer-key client per persona, and a small ledger in each organization."""

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client

from plixo.api.services import api_key_create
from plixo.comms.models import Cadence, Message
from plixo.comms.services import default_cadences_ensure
from plixo.core.models import Membership, Role
from plixo.ledger.models import Contact, Customer, Invoice, Payment
from plixo.ledger.services import AllocationRequest, payment_record, timeline_record
from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory


class ApiClient:
    """A test client that sends a bearer key and speaks JSON."""

    def __init__(self, raw_key: str | None):
        headers = {"Authorization": f"Bearer {raw_key}"} if raw_key else {}
        self.client = Client(headers=headers)

    def get(self, path, params=None, **extra):
        return self.client.get(path, params or {}, **extra)

    def post(self, path, body=None, **extra):
        return self.client.post(
            path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            **extra,
        )

    def patch(self, path, body=None, **extra):
        return self.client.patch(
            path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            **extra,
        )

    def request(self, method: str, path: str, body=None):
        if method == "GET":
            return self.get(path)
        return getattr(self, method.lower())(path, body)


def client_for_membership(membership: Membership) -> ApiClient:
    _, raw = api_key_create(membership=membership, name="tests")
    return ApiClient(raw)


@pytest.fixture
def api_for(personas):
    """`api_for(role)` -> an ApiClient with a fresh key of that acme member."""
    cache: dict[str, ApiClient] = {}

    def make(role: str) -> ApiClient:
        if role not in cache:
            cache[role] = client_for_membership(personas.members[role])
        return cache[role]

    return make


@pytest.fixture
def controller_api(api_for) -> ApiClient:
    return api_for(Role.CONTROLLER)


@pytest.fixture
def outsider_api(personas) -> ApiClient:
    return client_for_membership(personas.outsider)


@dataclass
class Ledger:
    """One object of each kind in an organization, reachable by the path parameter names the
    API uses (`customer_id`, `invoice_id` …)."""

    customer: Customer
    contact: Contact
    invoice: Invoice
    payment: Payment
    cadence: Cadence
    message: Message
    approval: object = None  # an ApprovalRequest, where a test made one
    promise: object = None  # a Promise and a PaymentPlan, where a test made them
    plan: object = None
    mention: object = None  # a Mention of a note on the invoice
    dispute: object = None  # an open Dispute on another invoice of the customer

    def ids(self) -> dict[str, object]:
        return {
            "customer_id": self.customer.public_id,
            "contact_id": self.contact.public_id,
            "invoice_id": self.invoice.public_id,
            "payment_id": self.payment.public_id,
            "cadence_id": self.cadence.public_id,
            "message_id": self.message.public_id,
        }


def draft_message(invoice: Invoice, contact: Contact | None, cadence: Cadence) -> Message:
    """A draft of the cadence's first step for the invoice, as the tick writes it (the same
    one if the cadence engine already drafted it)."""
    step = cadence.steps.filter(is_active=True).order_by("offset_days").first()
    purpose = f"step:{step.pk}:{invoice.due_date:%Y%m%d}"
    message, _created = Message.objects.get_or_create(
        invoice=invoice,
        purpose=purpose,
        defaults={
            "organization": invoice.organization,
            "contact": contact,
            "cadence": cadence,
            "step": step,
            "kind": Message.Kind.STEP,
            "idempotency_key": f"{invoice.organization_id}:{invoice.pk}:{purpose}",
            "tone": step.tone,
            "subject": step.subject,
            "body": step.body,
            "requires_approval": cadence.requires_approval,
            "intended_email": contact.email if contact else "",
        },
    )
    return message


def make_ledger(organization, owner=None, tag="A") -> Ledger:
    customer = CustomerFactory(
        organization=organization, owner=owner, name=f"{tag} Customer", external_id=f"EXT-{tag}"
    )
    contact = ContactFactory(customer=customer, email=f"ap-{tag.lower()}@payer.example")
    invoice = InvoiceFactory(customer=customer, number=f"INV-{tag}-1", amount=Decimal("1250.00"))
    timeline_record(invoice=invoice, kind="created", data={"amount": "1250.00"})
    payment = payment_record(
        organization=organization,
        reference=f"PAY-{tag}-1",
        amount=Decimal("300.00"),
        currency="USD",
        customer=customer,
        allocations=[AllocationRequest(invoice=invoice, amount=Decimal("200.00"))],
    )
    invoice.refresh_from_db()
    # Cadences belong to the organization: its defaults, made once.
    default_cadences_ensure(organization)
    cadence = Cadence.objects.get(organization=organization, is_default=True)
    message = draft_message(invoice, contact, cadence)
    return Ledger(
        customer=customer,
        contact=contact,
        invoice=invoice,
        payment=payment,
        cadence=cadence,
        message=message,
    )


@pytest.fixture
def acme(personas) -> Ledger:
    return make_ledger(personas.org, tag="ACME")


@pytest.fixture
def globex(personas) -> Ledger:
    return make_ledger(personas.other_org, tag="GLOBEX")


def days_ago(n: int) -> dt.date:
    return dt.date.today() - dt.timedelta(days=n)
