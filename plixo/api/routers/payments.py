from uuid import UUID

from ninja import Query, Router, Status

from plixo.api.auth import api_requires
from plixo.api.common import paginate_keyset, referenced, responses
from plixo.api.schemas import PageParams, PaymentCreate, PaymentOut, PaymentPage
from plixo.api.selectors import payment_detail
from plixo.api.selectors import payment_list as payment_list_query
from plixo.core.permissions import Cap
from plixo.ledger import selectors, services
from plixo.ledger.models import PaymentSource
from plixo.ledger.selectors import PAYMENT_LIST_ORDER as PAYMENT_ORDER
from plixo.ledger.services import AllocationRequest

router = Router(tags=["payments"])


@router.get("", response=responses({200: PaymentPage}, 422), summary="List payments")
@api_requires(Cap.LEDGER_VIEW)
def payment_list(request, page: Query[PageParams], customer: UUID | None = None):
    """Payments the key may see, newest first; `customer` narrows to one customer. Page with
    `next_cursor`; `count` is exact up to 10,000."""
    owner = None
    if customer is not None:
        owner = referenced(
            lambda: selectors.customer_for(membership=request.membership, public_id=customer),
            loc=("query", "customer"),
            what="customer",
        )
    return paginate_keyset(
        payment_list_query(membership=request.membership, customer=owner),
        page,
        ordering=PAYMENT_ORDER,
    )


@router.get("/{payment_id}", response=responses({200: PaymentOut}, 404), summary="Get a payment")
@api_requires(Cap.LEDGER_VIEW)
def payment_get(request, payment_id: UUID):
    return payment_detail(membership=request.membership, public_id=payment_id)


@router.post("", response=responses({201: PaymentOut}, 400, 422), summary="Record a payment")
@api_requires(Cap.PAYMENTS_RECORD)
def payment_create(request, payload: PaymentCreate):
    """Record money received and apply it to invoices in one step: balances, statuses and
    timelines move together or not at all. Allocations must be in the payment's currency, to
    open invoices, and together at most the payment; the rest stays unapplied."""
    membership = request.membership
    customer = None
    if payload.customer is not None:
        customer = referenced(
            lambda: selectors.customer_for(membership=membership, public_id=payload.customer),
            loc=("body", "payload", "customer"),
            what="customer",
        )
    allocations = []
    for index, allocation in enumerate(payload.allocations):
        invoice = referenced(
            lambda a=allocation: selectors.invoice_for(membership=membership, public_id=a.invoice),
            loc=("body", "payload", "allocations", index, "invoice"),
            what="invoice",
        )
        allocations.append(AllocationRequest(invoice=invoice, amount=allocation.amount))
    payment = services.payment_record(
        organization=request.organization,
        reference=payload.reference,
        amount=payload.amount,
        currency=payload.currency,
        received_at=payload.received_at,
        method=payload.method,
        source=PaymentSource.API,
        customer=customer,
        allocations=allocations,
        memo=payload.memo,
        actor=request.user,
    )
    return Status(201, payment_detail(membership=membership, public_id=payment.public_id))
