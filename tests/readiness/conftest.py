import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from plixo.core.models import Role
from plixo.disputes.models import DisputeRoutingRule
from plixo.readiness.models import ReadinessRun
from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def covered_invoice(personas):
    """An open invoice whose customer has a deliverable contact."""
    customer = CustomerFactory(organization=personas.org, name="Bright Dental")
    ContactFactory(customer=customer, email="ap@bright.example")
    return InvoiceFactory(customer=customer, amount=Decimal("1200.00"))


@pytest.fixture
def uncovered_invoice(personas):
    """An open invoice whose customer has no contact at all."""
    customer = CustomerFactory(organization=personas.org, name="Harbor Cafe")
    return InvoiceFactory(customer=customer, amount=Decimal("350.50"))


@pytest.fixture
def routing_rule(personas):
    return DisputeRoutingRule.objects.create(
        organization=personas.org, position=1, reason_code="other", route_to=Role.AR_OPERATOR
    )


def run_saved(org, *, passed: bool) -> ReadinessRun:
    return ReadinessRun.objects.create(
        organization=org,
        ran_at=timezone.now() - dt.timedelta(minutes=1),
        ran_by_label="test",
        results=[
            {
                "name": "contact_coverage",
                "title": "Contact coverage",
                "passed": passed,
                "figure": "100%" if passed else "50%",
                "threshold": "≥ 95%",
                "remediation": "",
                "details": {},
            }
        ],
        passed=passed,
    )
