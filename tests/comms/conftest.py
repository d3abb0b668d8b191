"""Comms fixtures: an organization with a customer in New York, its primary contact, and a
clock frozen on a Tuesday morning inside the send window."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from plixo.comms.models import SendingSettings
from plixo.comms.services import sending_settings_for
from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory

# Tuesday 2026-03-03 15:00 UTC = 10:00 in New York (EST), inside 08:00–18:00.
NOON_NY = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOON_NY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def customer(personas):
    return CustomerFactory(
        organization=personas.org,
        name="Initech",
        time_zone="America/New_York",
        country="US",
        segment="mid-market",
    )


@pytest.fixture
def contact(customer):
    return ContactFactory(
        customer=customer, name="Peter Gibbons", email="ap@initech.example", is_primary=True
    )


@pytest.fixture
def sending(personas) -> SendingSettings:
    settings = sending_settings_for(personas.org)
    settings.test_address = "ar-test@acme.example"
    settings.save()
    return settings


@pytest.fixture
def live_org(personas, sending):
    personas.org.is_live = True
    personas.org.save(update_fields=["is_live"])
    return personas.org


def invoice_due(customer, due: dt.date, amount="1250.00", **extra):
    return InvoiceFactory(
        customer=customer,
        organization=customer.organization,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        amount=Decimal(amount),
        **extra,
    )
