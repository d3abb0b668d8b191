from uuid import UUID

from ninja import Field, Query, Router, Schema, Status

from plixo.api.auth import api_requires
from plixo.api.common import paginate, paginate_keyset, referenced, responses
from plixo.api.schemas import (
    InvoiceCreate,
    InvoiceFilters,
    InvoiceOut,
    InvoicePage,
    InvoiceUpdate,
    Line,
    MoneyIn,
    PageParams,
    TimelinePage,
)
from plixo.approvals.api import ApprovalOut
from plixo.approvals.services import invoice_write_off_or_request
from plixo.core.paging import UNCOUNTED
from plixo.core.permissions import Cap
from plixo.ledger import selectors, services

router = Router(tags=["invoices"])


@router.get("", response=responses({200: InvoicePage}, 422), summary="List invoices")
@api_requires(Cap.LEDGER_VIEW)
def invoice_list(request, page: Query[PageParams], filters: Query[InvoiceFilters]):
    """Invoices the key may see. `status=open` means every open status (open, partially paid,
    disputed); `overdue` picks an aging bucket of open invoices, counted in days past due in
    the organization's time zone; `search` matches number, customer, PO number and
    description. Amount and balance sorts keep to one currency (`currency`, else the
    organization's base currency). Page with `next_cursor`; `count` is exact up to 10,000."""
    customer = None
    if filters.customer is not None:
        customer = referenced(
            lambda: selectors.customer_for(
                membership=request.membership, public_id=filters.customer
            ),
            loc=("query", "customer"),
            what="customer",
        )
    search = None
    if filters.search and filters.search.strip():
        search = selectors.invoice_search(membership=request.membership, term=filters.search)
    qs = selectors.invoice_list(
        membership=request.membership,
        status=filters.status,
        customer=customer,
        overdue=filters.overdue,
        search=search,
        sort=filters.sort,
        currency=filters.currency,
    )
    return paginate_keyset(
        qs,
        page,
        ordering=selectors.invoice_ordering(filters.sort),
        count=UNCOUNTED if search is not None and search.broad else None,
        few=search is not None and not search.broad,
    )


@router.get("/{invoice_id}", response=responses({200: InvoiceOut}, 404), summary="Get an invoice")
@api_requires(Cap.LEDGER_VIEW)
def invoice_get(request, invoice_id: UUID):
    return selectors.invoice_for(membership=request.membership, public_id=invoice_id)


@router.post("", response=responses({201: InvoiceOut}, 400, 422), summary="Create an invoice")
@api_requires(Cap.LEDGER_EDIT)
def invoice_create(request, payload: InvoiceCreate):
    """The currency defaults to the customer's. The invoice starts open with its balance equal
    to its amount, and its timeline records the creation."""
    customer = referenced(
        lambda: selectors.customer_for(membership=request.membership, public_id=payload.customer),
        loc=("body", "payload", "customer"),
        what="customer",
    )
    invoice = services.invoice_create(
        organization=request.organization,
        customer=customer,
        number=payload.number,
        issue_date=payload.issue_date,
        due_date=payload.due_date,
        currency=payload.currency or customer.currency,
        amount=payload.amount,
        po_number=payload.po_number,
        description=payload.description,
        actor=request.user,
    )
    return Status(201, invoice)


@router.patch(
    "/{invoice_id}",
    response=responses({200: InvoiceOut}, 400, 404, 422),
    summary="Update an invoice",
)
@api_requires(Cap.LEDGER_EDIT)
def invoice_update(request, invoice_id: UUID, payload: InvoiceUpdate):
    """Send only the fields to change. Only open invoices can change; the amount cannot drop
    below what has been paid or credited, and the timeline records what changed."""
    invoice = selectors.invoice_for(membership=request.membership, public_id=invoice_id)
    invoice = services.invoice_update(
        invoice=invoice, actor=request.user, **payload.dict(exclude_unset=True)
    )
    return selectors.invoice_for(membership=request.membership, public_id=invoice.public_id)


@router.get(
    "/{invoice_id}/timeline",
    response=responses({200: TimelinePage}, 404, 422),
    summary="An invoice's timeline",
)
@api_requires(Cap.LEDGER_VIEW)
def invoice_timeline(request, invoice_id: UUID, page: Query[PageParams]):
    """Everything that happened to the invoice, newest first."""
    invoice = selectors.invoice_for(membership=request.membership, public_id=invoice_id)
    return paginate(selectors.invoice_timeline(invoice=invoice), page)


class WriteOffIn(Schema):
    reason: Line = Field(min_length=1, max_length=500)
    amount: MoneyIn | None = Field(None, description="Leave out to write off the whole balance.")


@router.post(
    "/{invoice_id}/write-off",
    response=responses({200: InvoiceOut, 202: ApprovalOut}, 400, 404, 422),
    summary="Write off an invoice's balance",
)
@api_requires(Cap.INVOICES_WRITE_OFF)
def invoice_write_off(request, invoice_id: UUID, payload: WriteOffIn):
    """Within the key user's approval limit (in the organization's base currency) the balance,
    or `amount` of it, is written off at once: 200 with the invoice. Above the limit, or in a
    currency no exchange rate converts, nothing is written off: 202 with the approval request
    (`guardrail` says why and who approves; `reason` is its rationale), which is carried out
    when approved (`POST /api/v1/approvals/{id}/approve`)."""
    invoice = selectors.invoice_for(membership=request.membership, public_id=invoice_id)
    result = invoice_write_off_or_request(
        invoice=invoice, actor=request.user, reason=payload.reason, amount=payload.amount
    )
    if result.approval is not None:
        return Status(202, result.approval)
    return selectors.invoice_for(membership=request.membership, public_id=invoice_id)
