"""Portal fixtures: an open invoice with a contact, and a client that opened its payer link."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from plixo.ledger import services as ledger
from plixo.ledger.models import Contact, Invoice
from plixo.portal.selectors import SESSION_KEY
from plixo.portal.services import portal_link_issue


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class Billed:
    invoice: Invoice
    contact: Contact


def make_billed(organization, tag: str, amount: str = "1250.00") -> Billed:
    customer = ledger.customer_create(
        organization=organization, external_id=f"P-{tag}", name=f"Payer {tag} Inc", currency="USD"
    )
    contact = ledger.contact_create(
        customer=customer,
        email=f"ap-{tag.lower()}@payer.example",
        name=f"AP {tag}",
        is_primary=True,
    )
    today = timezone.now().date()
    invoice = ledger.invoice_create(
        organization=organization,
        customer=customer,
        number=f"INV-{tag}",
        issue_date=today - dt.timedelta(days=30),
        due_date=today + dt.timedelta(days=5),
        currency="USD",
        amount=Decimal(amount),
        po_number=f"PO-{tag}",
        description=f"Widgets for {tag}",
    )
    return Billed(invoice=invoice, contact=contact)


@pytest.fixture
def billed(personas) -> Billed:
    return make_billed(personas.org, "A")


@pytest.fixture
def billed_b(personas) -> Billed:
    return make_billed(personas.org, "B", amount="980.00")


def open_portal(invoice: Invoice, client: Client | None = None) -> Client:
    """A browser that followed a fresh payer link for `invoice` and clicked Open."""
    client = client or Client()
    _, path = portal_link_issue(invoice=invoice)
    response = client.post(path)
    assert response.status_code == 302, response.content[:500]
    assert SESSION_KEY in client.session
    return client


@pytest.fixture
def payer(billed) -> Client:
    return open_portal(billed.invoice)
