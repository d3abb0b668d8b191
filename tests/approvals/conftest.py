"""Approvals fixtures: an open invoice of $1,704.77, and a manager whose limit is $1,000."""

import datetime as dt
from decimal import Decimal

import pytest

from plixo.core.models import Role
from plixo.ledger.services import invoice_create
from tests.e2e.conftest import browser, desktop, phone, screenshots  # noqa: F401 (browser tests)
from tests.factories import CustomerFactory


@pytest.fixture
def manager(personas):
    membership = personas.members[Role.AR_MANAGER]
    membership.approval_limit = Decimal("1000.00")
    membership.save(update_fields=["approval_limit"])
    return membership


@pytest.fixture
def legal(personas):
    return personas.members[Role.LEGAL]


@pytest.fixture
def controller(personas):
    return personas.controller


def make_invoice(org, *, amount="1704.77", currency="USD", number="INV-APPR-1"):
    customer = CustomerFactory(organization=org, currency=currency)
    today = dt.date.today()
    return invoice_create(
        organization=org,
        customer=customer,
        number=number,
        issue_date=today - dt.timedelta(days=60),
        due_date=today - dt.timedelta(days=30),
        currency=currency,
        amount=Decimal(amount),
    )


@pytest.fixture
def invoice(personas):
    return make_invoice(personas.org)
