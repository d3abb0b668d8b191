"""Commitment fixtures: the comms fixtures (a New York customer with a primary contact, a clock
frozen on Tuesday 2026-03-03 at 10:00 New York) and an invoice four days overdue, enrolled in
its cadence with the +3 reminder drafted."""

import datetime as dt

import pytest

from plixo.comms.models import Message
from plixo.comms.services import cadence_tick
from tests.comms.conftest import (  # noqa: F401 — fixtures
    NOON_NY,
    clock,
    contact,
    customer,
    invoice_due,
    sending,
)

TODAY = NOON_NY.date()


@pytest.fixture
def overdue(personas, customer, contact, sending, clock):  # noqa: F811
    invoice = invoice_due(customer, TODAY - dt.timedelta(days=4))
    cadence_tick()
    assert Message.objects.get(invoice=invoice).status == Message.Status.DRAFT
    return invoice
