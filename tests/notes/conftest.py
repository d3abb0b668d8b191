"""Notes fixtures: an invoice on an account the Sales member owns, one on an account nobody in
Sales or CSM owns, and a dispute on the first."""

from decimal import Decimal

import pytest

from plixo.core.models import Role
from plixo.disputes.services import dispute_file
from tests.factories import CustomerFactory, InvoiceFactory


@pytest.fixture
def member(personas):
    """The membership of a role in the test organization."""
    return lambda role: personas.members[role]


@pytest.fixture
def invoice(personas):
    customer = CustomerFactory(
        organization=personas.org, name="Northwind Supply", owner=personas.members[Role.SALES].user
    )
    return InvoiceFactory(customer=customer, number="INV-N1", amount=Decimal("4800.00"))


@pytest.fixture
def unowned_invoice(personas):
    customer = CustomerFactory(organization=personas.org, name="Initech", owner=None)
    return InvoiceFactory(customer=customer, number="INV-N2", amount=Decimal("900.00"))


@pytest.fixture
def dispute(invoice, personas):
    return dispute_file(
        invoice=invoice,
        reason_code="pricing",
        amount="300.00",
        description="Billed at list price; the contract says 10% off.",
        actor=personas.operator.user,
    )
