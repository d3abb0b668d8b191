"""A small fixed ledger whose report figures are worked out by hand in the tests.

Base currency USD; T is the organization's today. EUR has rates 1.10 (T−30) and 1.20 (T−3);
GBP has none.

    invoice  customer        ccy  amount  issued  due    balance now
    A-1      Alder (sales)   USD  1000    T−100   T−70   600 (400 paid on T−5)
    A-2      Alder (sales)   USD   500    T−20    T+10   500
    B-1      Birch           EUR   200    T−50    T−20   200
    B-2      Birch           USD   300    T−40    T−35   300
    C-1      Cedar           GBP   100    T−10    T−5    100
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from plixo.core.models import Role
from plixo.ledger.selectors import org_today
from plixo.ledger.services import invoice_create, payment_record
from plixo.ledger.services.payments import AllocationRequest
from plixo.reports.models import ExchangeRate
from tests.factories import CustomerFactory


@dataclass
class Ledger:
    org: object
    today: dt.date
    invoices: dict
    customers: dict


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def at_noon(org, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=ZoneInfo(org.time_zone))


@pytest.fixture
def ledger(personas) -> Ledger:
    org = personas.org
    today = org_today(org)
    sales = personas.members[Role.SALES].user
    customers = {
        "alder": CustomerFactory(organization=org, name="Alder Ltd", owner=sales, segment="ent"),
        "birch": CustomerFactory(organization=org, name="Birch plc", segment="smb"),
        "cedar": CustomerFactory(organization=org, name="Cedar GmbH", segment="smb"),
    }
    rows = [
        ("A-1", "alder", "USD", "1000", -100, -70),
        ("A-2", "alder", "USD", "500", -20, 10),
        ("B-1", "birch", "EUR", "200", -50, -20),
        ("B-2", "birch", "USD", "300", -40, -35),
        ("C-1", "cedar", "GBP", "100", -10, -5),
    ]
    invoices = {}
    for number, who, currency, amount, issued, due in rows:
        invoices[number] = invoice_create(
            organization=org,
            customer=customers[who],
            number=number,
            issue_date=today + days(issued),
            due_date=today + days(due),
            currency=currency,
            amount=Decimal(amount),
        )
    payment_record(
        organization=org,
        reference="PAY-1",
        amount=Decimal("400"),
        currency="USD",
        received_at=at_noon(org, today - days(5)),
        customer=customers["alder"],
        allocations=[AllocationRequest(invoices["A-1"], Decimal("400"))],
    )
    for offset, rate in ((-30, "1.10"), (-3, "1.20")):
        ExchangeRate.objects.create(
            organization=org,
            on=today + days(offset),
            currency="EUR",
            base_currency="USD",
            rate=Decimal(rate),
        )
    for invoice in invoices.values():
        invoice.refresh_from_db()
    return Ledger(org=org, today=today, invoices=invoices, customers=customers)
