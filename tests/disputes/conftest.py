import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test starts with empty private storage, so it can count the files it wrote."""
    settings.MEDIA_ROOT = str(tmp_path / "private")
    return tmp_path / "private"


# --- the staff side: a New York customer, a frozen clock, an invoice in its cadence ------------

import datetime as dt  # noqa: E402
from decimal import Decimal  # noqa: E402

import time_machine  # noqa: E402

from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory  # noqa: E402

# Tuesday 2026-03-03 15:00 UTC = 10:00 in New York (EST).
TUESDAY_10_NY = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(TUESDAY_10_NY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ny_org(personas):
    personas.org.time_zone = "America/New_York"
    personas.org.save(update_fields=["time_zone"])
    return personas.org


@pytest.fixture
def customer(ny_org, personas):
    return CustomerFactory(
        organization=ny_org,
        name="Initech",
        time_zone="America/New_York",
        owner=personas.members["csm"].user,
    )


@pytest.fixture
def contact(customer):
    return ContactFactory(
        customer=customer, name="Peter Gibbons", email="ap@initech.example", is_primary=True
    )


@pytest.fixture
def open_invoice(customer, clock):
    due = TUESDAY_10_NY.date() - dt.timedelta(days=4)
    return InvoiceFactory(
        customer=customer,
        organization=customer.organization,
        number="INV-7001",
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        amount=Decimal("1250.00"),
    )
