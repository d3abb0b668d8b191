"""A customer balance that would not fit its column is refused with a LedgerError, whether the
move comes alone or in a batch (payments across customers, imports), and a refused batch
moves nothing."""

from decimal import Decimal

import pytest

from plixo.ledger.models import CustomerBalance, InvoiceStatus, LedgerError
from plixo.ledger.services.balances import Share, customer_balances_shift
from tests.factories import CustomerFactory

# The balances move here without invoices behind them, on purpose.
pytestmark = pytest.mark.raw_invoice_writes

NEAR_LIMIT = Decimal("900000000000000.00")  # the limit is about 922 trillion
SMALL = Decimal("100.00")


def _open(amount: Decimal, currency: str = "USD") -> Share:
    return Share(currency, amount, InvoiceStatus.OPEN)


@pytest.fixture
def customers(org):
    return CustomerFactory(organization=org), CustomerFactory(organization=org)


def _units(customer) -> int:
    return CustomerBalance.objects.get(customer=customer, currency="USD").open_units


def test_one_move_past_the_limit_is_refused(org, customers):
    first, _ = customers
    customer_balances_shift(organization_id=org.pk, moves=[(first.pk, None, _open(NEAR_LIMIT))])

    with pytest.raises(LedgerError, match="open balance in USD past"):
        customer_balances_shift(organization_id=org.pk, moves=[(first.pk, None, _open(NEAR_LIMIT))])

    assert _units(first) == 9_000_000_000_000_000_000


def test_a_batch_with_one_move_past_the_limit_moves_nothing(org, customers):
    first, second = customers
    customer_balances_shift(
        organization_id=org.pk,
        moves=[(first.pk, None, _open(NEAR_LIMIT)), (second.pk, None, _open(SMALL))],
    )

    with pytest.raises(LedgerError, match="open balance in USD past"):
        customer_balances_shift(
            organization_id=org.pk,
            moves=[(second.pk, None, _open(SMALL)), (first.pk, None, _open(NEAR_LIMIT))],
        )

    assert (_units(first), _units(second)) == (9_000_000_000_000_000_000, 1_000_000)


def test_moves_down_from_near_the_limit_still_apply(org, customers):
    first, second = customers
    customer_balances_shift(
        organization_id=org.pk,
        moves=[(first.pk, None, _open(NEAR_LIMIT)), (second.pk, None, _open(SMALL))],
    )

    customer_balances_shift(
        organization_id=org.pk,
        moves=[(first.pk, _open(NEAR_LIMIT), _open(SMALL)), (second.pk, _open(SMALL), None)],
    )

    assert (_units(first), _units(second)) == (1_000_000, 0)
