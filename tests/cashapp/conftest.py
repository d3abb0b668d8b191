import datetime as dt
from decimal import Decimal
from itertools import count

import pytest

from plixo.ledger import services as ledger

# The browser fixtures, for the Cash App browser test in this folder.
from tests.e2e.conftest import browser, desktop, phone, screenshots  # noqa: F401

_numbers = count(1)


@pytest.fixture
def make_invoice(org):
    """An open invoice of `org` through the ledger's own service."""
    customers = {}

    def make(number, amount, *, customer="Globex Ltd", currency="USD", due=None, organization=None):
        organization = organization or org
        key = (organization.pk, customer)
        if key not in customers:
            customers[key] = ledger.customer_create(
                organization=organization,
                external_id=f"C-{next(_numbers)}",
                name=customer,
                currency=currency,
            )
        due = due or dt.date(2026, 10, 1)
        return ledger.invoice_create(
            organization=organization,
            customer=customers[key],
            number=number,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            currency=currency,
            amount=Decimal(amount),
        )

    return make


def csv_bytes(
    *rows: str, header: str = "Date,Amount,Currency,Payer Name,Description,Transaction ID"
) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()
