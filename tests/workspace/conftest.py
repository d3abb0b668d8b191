import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from plixo.comms.models import Message
from plixo.core.models import Role
from plixo.ledger.selectors import org_today
from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory


@pytest.fixture
def today(org):
    return org_today(org)


@pytest.fixture
def operator(personas):
    return personas.members[Role.AR_OPERATOR]


@pytest.fixture
def manager(personas):
    return personas.members[Role.AR_MANAGER]


@pytest.fixture
def account(org, operator):
    """A customer worked by the operator, with a primary contact."""
    customer = CustomerFactory(organization=org, collector=operator.user, name="Initech")
    ContactFactory(customer=customer, is_primary=True, email="ap@initech.example")
    return customer


def make_invoice(customer, *, days_overdue=10, amount="1000.00", currency="USD", **kwargs):
    today = org_today(customer.organization)
    due = today - dt.timedelta(days=days_overdue)
    return InvoiceFactory(
        customer=customer,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        amount=Decimal(amount),
        currency=currency,
        **kwargs,
    )


def make_draft(invoice, **kwargs):
    contact = invoice.customer.contacts.first()
    return Message.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        contact=contact,
        kind=Message.Kind.STEP,
        purpose=f"step:test:{invoice.pk}:{timezone.now().timestamp()}",
        idempotency_key=f"test:{invoice.pk}:{timezone.now().timestamp()}",
        subject="Invoice {invoice_number}",
        body="Hello {contact_name}, {amount_due} is open. {pay_link}",
        status=Message.Status.DRAFT,
        # As the cadence writes a draft: with its customer's collector.
        collector_id=invoice.customer.collector_id,
        **kwargs,
    )
