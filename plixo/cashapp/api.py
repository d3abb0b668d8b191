"""The API routes under `/api/v1/cash`: bank statements in, receipts matched to invoices,
applied, split, rejected and undone (Cash App Assist).

Every route needs `cash.apply`. Receipts and applications are named in the body by their
public id (`receipt`, `suggestion`, `application`); another organization's ids answer 404.
"""

import datetime as dt
from typing import Literal
from uuid import UUID

from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from plixo.api.auth import api_requires
from plixo.api.common import paginate, referenced, responses
from plixo.api.schemas import MoneyIn, MoneyOut, PageParams, money
from plixo.cashapp import payouts, selectors, services
from plixo.cashapp.models import CashError, Receipt, StatementFormat
from plixo.cashapp.parsers import MAX_FILE_BYTES
from plixo.core.permissions import Cap
from plixo.ledger import selectors as ledger_selectors

router = Router(tags=["cash application"])

FormatIn = Literal["bai2", "camt", "ofx", "csv"]
ReceiptStatusFilter = Literal[
    "applied", "suggested", "unapplied", "unmatched", "rejected", "payout"
]


class LineRejectOut(Schema):
    line: int
    message: str


class StatementOut(Schema):
    statement_id: UUID
    format: str
    file_name: str
    created_at: dt.datetime
    lines: int
    receipts: int
    debits: int = Field(description="Outgoing lines: read, not receipts.")
    duplicates: int = Field(description="Lines imported before (same bank id or fields).")
    rejected: int
    auto_applied: int
    suggested: int
    unmatched: int
    payouts: int = Field(description="Stripe payout lines reconciled, not matched to invoices.")
    rejects: list[LineRejectOut] = Field(description="Unreadable lines with their numbers.")
    notes: list[str]


def _statement_out(statement) -> dict:
    return {
        **statement.summary(),
        "statement_id": statement.public_id,
        "file_name": statement.original_name,
        "created_at": statement.created_at,
    }


class StatementPage(Schema):
    count: int
    limit: int
    offset: int
    results: list[StatementOut]


class AllocationOut(Schema):
    invoice: UUID
    invoice_number: str
    amount: MoneyOut


class SuggestionOut(Schema):
    id: UUID
    confidence: int
    explanation: str
    allocations: list[AllocationOut]


class ApplicationOut(Schema):
    id: UUID
    amount: MoneyOut
    automatic: bool
    created_at: dt.datetime
    undone_at: dt.datetime | None
    payment: UUID | None
    allocations: list[AllocationOut]


class ReceiptOut(Schema):
    id: UUID
    statement: UUID
    line: int
    booked_on: dt.date
    amount: MoneyOut
    applied_amount: MoneyOut
    unapplied_amount: MoneyOut
    currency: str
    payer_name: str
    reference: str
    remittance: str
    bank_transaction_id: str
    status: str
    allocations: list[AllocationOut] = Field(description="What is applied now, per invoice.")
    confidence: int | None = Field(description="The best open suggestion's, if any.")
    explanation: str = Field(description="Why: of the best open suggestion, or as applied.")
    suggestions: list[SuggestionOut]
    applications: list[ApplicationOut]
    stripe_payout: str | None = Field(
        description="The Stripe payout (po_…) this line was reconciled with, if any."
    )


class ReceiptPage(Schema):
    count: int
    limit: int
    offset: int
    results: list[ReceiptOut]


def _lines_out(lines, currency) -> list[dict]:
    return [
        {
            "invoice": line.invoice.public_id,
            "invoice_number": line.invoice.number,
            "amount": money(line.amount, currency),
        }
        for line in lines
    ]


def _receipt_out(receipt: Receipt) -> dict:
    currency = receipt.currency
    suggestions = getattr(receipt, "open_suggestions", None)
    if suggestions is None:
        suggestions = list(receipt.suggestions.filter(status="open").order_by("-confidence", "id"))
    applications = getattr(receipt, "all_applications", None)
    if applications is None:
        applications = list(receipt.applications.order_by("created_at", "id"))
    live = [a for a in applications if a.undone_at is None]
    best = suggestions[0] if suggestions else None
    explanation = payouts.explanation(receipt) or (
        best.explanation if best else "; ".join(a.explanation for a in live if a.explanation)
    )
    return {
        "id": receipt.public_id,
        "statement": receipt.statement.public_id,
        "line": receipt.line_number,
        "booked_on": receipt.booked_on,
        "amount": money(receipt.amount, currency),
        "applied_amount": money(receipt.applied_amount, currency),
        "unapplied_amount": money(receipt.unapplied_amount, currency),
        "currency": currency,
        "payer_name": receipt.payer_name,
        "reference": receipt.reference,
        "remittance": receipt.remittance,
        "bank_transaction_id": receipt.bank_transaction_id,
        "status": receipt.status,
        "stripe_payout": receipt.stripe_payout.payout_id if receipt.stripe_payout else None,
        "allocations": [
            {
                "invoice": row["invoice"].public_id,
                "invoice_number": row["invoice"].number,
                "amount": money(row["amount"], currency),
            }
            for row in selectors.receipt_allocations(receipt)
        ],
        "confidence": best.confidence if best else (live[-1].confidence if live else None),
        "explanation": explanation,
        "suggestions": [
            {
                "id": s.public_id,
                "confidence": s.confidence,
                "explanation": s.explanation,
                "allocations": _lines_out(s.lines.all(), currency),
            }
            for s in suggestions
        ],
        "applications": [
            {
                "id": a.public_id,
                "amount": money(a.amount, currency),
                "automatic": a.automatic,
                "created_at": a.created_at,
                "undone_at": a.undone_at,
                "payment": a.payment.public_id if a.payment_id else None,
                "allocations": _lines_out(a.lines.all(), currency),
            }
            for a in applications
        ],
    }


def _fresh(request, receipt: Receipt) -> dict:
    found = selectors.receipt_list(organization=request.organization).get(pk=receipt.pk)
    return _receipt_out(found)


def _bad(request, exc: Exception):
    return Status(400, {"detail": str(exc), "request_id": request.request_id})


@router.post(
    "/statements",
    response=responses({201: StatementOut}, 400, 422),
    summary="Import a bank statement",
)
@api_requires(Cap.CASH_APPLY)
def statement_create(
    request,
    file: File[UploadedFile],
    format: Form[FormatIn | None] = None,
    currency: Form[str] = "",
):
    """Upload a bank statement (multipart/form-data): BAI2, ISO 20022 camt.053/camt.054, OFX
    or bank CSV (`format` is recognised from the content when omitted; `currency` is for a CSV
    without a currency column). Credit lines become receipts, deduplicated by bank transaction
    id or a hash of their fields, so the same file twice adds nothing; unreadable lines are
    listed in `rejects` with their line number. Receipts are matched to open invoices at once,
    and applied when the confidence reaches the organization's threshold."""
    if file.size is not None and file.size > MAX_FILE_BYTES:
        return _bad(request, CashError("The file is larger than 20 MB; split it by date."))
    try:
        statement = services.statement_import(
            organization=request.organization,
            data=file.read(),
            file_name=file.name or "",
            format=format if format in StatementFormat.values else None,
            default_currency=currency.strip().upper()[:3],
            actor=request.user,
        )
    except CashError as exc:
        return _bad(request, exc)
    return Status(201, _statement_out(statement))


@router.get(
    "/statements", response=responses({200: StatementPage}, 422), summary="List bank statements"
)
@api_requires(Cap.CASH_APPLY)
def statement_list(request, page: Query[PageParams]):
    result = paginate(selectors.statement_list(organization=request.organization), page)
    result["results"] = [_statement_out(s) for s in result["results"]]
    return result


@router.get("/receipts", response=responses({200: ReceiptPage}, 422), summary="List receipts")
@api_requires(Cap.CASH_APPLY)
def receipt_list(
    request,
    page: Query[PageParams],
    statement: UUID | None = None,
    status: ReceiptStatusFilter | None = None,
):
    """Receipts newest first. `status`: applied, suggested, unapplied (the queue: cash still to
    apply), unmatched or rejected."""
    found = None
    if statement is not None:
        found = referenced(
            lambda: selectors.statement_for(organization=request.organization, public_id=statement),
            loc=("query", "statement"),
            what="statement",
        )
    receipts = selectors.receipt_list(
        organization=request.organization, statement=found, status=status
    )
    result = paginate(receipts, page)
    result["results"] = [_receipt_out(r) for r in result["results"]]
    return result


class ApplyIn(Schema):
    receipt: UUID
    suggestion: UUID | None = Field(None, description="The best open suggestion if omitted.")


class SplitLineIn(Schema):
    invoice: UUID
    amount: MoneyIn


class SplitIn(Schema):
    receipt: UUID
    allocations: list[SplitLineIn] = Field(min_length=1, max_length=50)


class RejectIn(Schema):
    receipt: UUID
    suggestion: UUID | None = Field(None, description="Every open suggestion if omitted.")
    not_a_payment: bool = Field(
        False, description="Also take the receipt out of the queue (not a customer payment)."
    )


class UndoIn(Schema):
    receipt: UUID
    application: UUID | None = Field(None, description="The latest live one if omitted.")


@router.post(
    "/receipts/apply",
    response=responses({200: ReceiptOut}, 400, 404, 422),
    summary="Apply a suggestion",
)
@api_requires(Cap.CASH_APPLY)
def receipt_apply(request, payload: ApplyIn):
    """Apply a suggestion (one click): a ledger payment for its invoices and amounts."""
    receipt = selectors.receipt_for(organization=request.organization, public_id=payload.receipt)
    if payload.suggestion is not None:
        suggestion = selectors.suggestion_for(
            organization=request.organization, public_id=payload.suggestion
        )
        if suggestion.receipt_id != receipt.pk:
            return _bad(request, CashError("That suggestion is for another receipt."))
    else:
        suggestion = receipt.suggestions.filter(status="open").order_by("-confidence", "id").first()
        if suggestion is None:
            return _bad(request, CashError("This receipt has no open suggestion; split it."))
    try:
        services.suggestion_apply(suggestion=suggestion, actor=request.user)
    except CashError as exc:
        return _bad(request, exc)
    return _fresh(request, receipt)


@router.post(
    "/receipts/split",
    response=responses({200: ReceiptOut}, 400, 404, 422),
    summary="Apply a receipt across invoices",
)
@api_requires(Cap.CASH_APPLY)
def receipt_split(request, payload: SplitIn):
    """Apply chosen amounts to chosen invoices; together at most what is left on the receipt."""
    receipt = selectors.receipt_for(organization=request.organization, public_id=payload.receipt)
    allocations = []
    for index, line in enumerate(payload.allocations):
        invoice = referenced(
            lambda line=line: ledger_selectors.invoice_for(
                membership=request.membership, public_id=line.invoice
            ),
            loc=("body", "payload", "allocations", index, "invoice"),
            what="invoice",
        )
        allocations.append((invoice, line.amount))
    try:
        services.receipt_apply(receipt=receipt, allocations=allocations, actor=request.user)
    except CashError as exc:
        return _bad(request, exc)
    return _fresh(request, receipt)


@router.post(
    "/receipts/reject",
    response=responses({200: ReceiptOut}, 400, 404, 422),
    summary="Reject suggestions",
)
@api_requires(Cap.CASH_APPLY)
def receipt_reject(request, payload: RejectIn):
    """Reject one suggestion, or all open ones; with `not_a_payment` the receipt also leaves
    the unapplied queue."""
    organization = request.organization
    receipt = selectors.receipt_for(organization=organization, public_id=payload.receipt)
    try:
        if payload.suggestion is not None:
            suggestion = selectors.suggestion_for(
                organization=organization, public_id=payload.suggestion
            )
            if suggestion.receipt_id != receipt.pk:
                return _bad(request, CashError("That suggestion is for another receipt."))
            services.suggestion_reject(suggestion=suggestion, actor=request.user)
        else:
            for suggestion in receipt.suggestions.filter(status="open"):
                services.suggestion_reject(suggestion=suggestion, actor=request.user)
        if payload.not_a_payment:
            services.receipt_dismiss(receipt=receipt, actor=request.user)
    except CashError as exc:
        return _bad(request, exc)
    return _fresh(request, receipt)


@router.post(
    "/receipts/undo",
    response=responses({200: ReceiptOut}, 400, 404, 422),
    summary="Undo an application",
)
@api_requires(Cap.CASH_APPLY)
def receipt_undo(request, payload: UndoIn):
    """Reverse an application through the ledger: the invoices get their balances back (their
    timelines say so) and the cash is unapplied again."""
    organization = request.organization
    receipt = selectors.receipt_for(organization=organization, public_id=payload.receipt)
    if payload.application is not None:
        application = selectors.application_for(
            organization=organization, public_id=payload.application
        )
        if application.receipt_id != receipt.pk:
            return _bad(request, CashError("That application is for another receipt."))
    else:
        application = (
            receipt.applications.filter(undone_at=None).order_by("-created_at", "-id").first()
        )
        if application is None:
            return _bad(request, CashError("Nothing is applied from this receipt."))
    try:
        services.application_undo(application=application, actor=request.user)
    except CashError as exc:
        return _bad(request, exc)
    return _fresh(request, receipt)
