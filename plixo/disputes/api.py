"""`/api/v1/disputes`: list, get, create, assign, route, review and resolve disputes, with the
same capabilities and rules as the pages (the services decide; a refused rule answers 400, a
role that may not take a step 403)."""

import base64
import binascii
import datetime as dt
from typing import Literal
from uuid import UUID

from django.core.files.base import ContentFile
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from plixo.api.auth import api_requires
from plixo.api.common import invoice_and_contact, paginate_keyset, referenced, responses
from plixo.api.errors import ReferenceNotFound
from plixo.api.schemas import CursorPage, Line, MoneyIn, MoneyOut, PageParams, Text
from plixo.core.models import Membership, User
from plixo.core.money import quantize
from plixo.core.permissions import Cap
from plixo.disputes import selectors, services
from plixo.disputes.attachments import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from plixo.disputes.models import Dispute, DisputeSource
from plixo.disputes.selectors import QUEUE_SORTS, QueueFilters
from plixo.disputes.sla import SlaClock
from plixo.disputes.workflow import NOTE_MAX_LENGTH, team_label
from plixo.ledger import selectors as ledger_selectors
from plixo.ledger.models import LedgerError

router = Router(tags=["disputes"])

ReasonCodeIn = Literal[
    "pricing", "quantity", "quality", "not_received", "duplicate", "already_paid", "other"
]
TeamIn = Literal["legal", "sales", "ar_operator", "ar_manager"]
# base64 grows a file by 4/3; a little more for padding.
MAX_BASE64 = MAX_ATTACHMENT_BYTES * 4 // 3 + 8


class InvoiceRef(Schema):
    id: UUID
    number: str
    status: str
    balance: MoneyOut
    currency: str
    customer: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_balance(obj) -> str:
        return str(quantize(obj.balance, obj.currency))

    @staticmethod
    def resolve_customer(obj) -> str:
        return obj.customer.name


class AttachmentOut(Schema):
    id: UUID
    name: str
    content_type: str
    size: int

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.original_name


class ApprovalRef(Schema):
    id: UUID
    status: str
    guardrail: str
    routed_to: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class SlaOut(Schema):
    due_at: dt.datetime | None
    business_seconds_left: int | None = Field(
        description="Business time left until the deadline (negative: overdue); measured at "
        "the resolution for a resolved dispute."
    )
    breached: bool
    due_soon: bool
    text: str


class DisputeOut(Schema):
    id: UUID
    invoice: InvoiceRef
    reason_code: str
    reason: str
    amount: MoneyOut
    currency: str
    description: str
    status: str
    source: str
    filed_by: str
    created_at: dt.datetime
    assignee: str | None = Field(description="Email of the member working the dispute.")
    routed_to: str | None = Field(description="The team (a role) it was routed to.")
    sla: SlaOut
    attachments: list[AttachmentOut]
    pending_approval: ApprovalRef | None
    resolved_at: dt.datetime | None
    resolution_amount: MoneyOut | None
    resolution_note: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_reason(obj) -> str:
        return obj.get_reason_code_display()

    @staticmethod
    def resolve_amount(obj) -> str:
        return str(quantize(obj.amount, obj.currency))

    @staticmethod
    def resolve_filed_by(obj) -> str:
        return obj.actor_label

    @staticmethod
    def resolve_assignee(obj) -> str | None:
        return obj.assignee.email if obj.assignee_id else None

    @staticmethod
    def resolve_routed_to(obj) -> str | None:
        return obj.routed_to or None

    @staticmethod
    def resolve_sla(obj) -> dict:
        clock = getattr(obj, "_clock", None) or SlaClock(obj.invoice.organization)
        state = clock.state(obj.sla_due_at, until=obj.resolved_at)
        return {
            "due_at": obj.sla_due_at,
            "business_seconds_left": int(state.left.total_seconds()) if state.left else None,
            "breached": state.breached,
            "due_soon": state.due_soon and obj.is_open,
            "text": state.text,
        }

    @staticmethod
    def resolve_attachments(obj):
        return list(obj.attachments.all())

    @staticmethod
    def resolve_pending_approval(obj):
        return obj.pending_approval if obj.awaiting_approval else None

    @staticmethod
    def resolve_resolution_amount(obj) -> str | None:
        if obj.resolution_amount is None:
            return None
        return str(quantize(obj.resolution_amount, obj.currency))


class DisputePage(CursorPage):
    results: list[DisputeOut]


class EvidenceIn(Schema):
    filename: Line = Field(min_length=1, max_length=160)
    content_base64: str = Field(
        min_length=4, max_length=MAX_BASE64, description="The file's bytes, base64-encoded."
    )


class DisputeCreate(Schema):
    invoice: UUID
    reason_code: ReasonCodeIn
    amount: MoneyIn | None = Field(None, description="The whole balance if omitted.")
    description: Text = Field(min_length=1, max_length=services.DESCRIPTION_MAX_LENGTH)
    contact: UUID | None = Field(None, description="The payer contact who raised it.")
    evidence: list[EvidenceIn] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS,
        description="Optional files (PDF, PNG, JPEG, CSV, XLSX, DOCX; 10 MB each).",
    )


class AssignIn(Schema):
    assignee: Line | None = Field(
        None, max_length=254, description="Email of a member; null unassigns."
    )


class RouteIn(Schema):
    team: TeamIn


class ResolveIn(Schema):
    outcome: Literal["credit", "write_off", "reject"]
    amount: MoneyIn | None = Field(
        None, description="Credit or write-off; the disputed amount if omitted."
    )
    note: Text = Field(min_length=1, max_length=NOTE_MAX_LENGTH)


def _dispute(request, dispute_id: UUID) -> Dispute:
    return selectors.dispute_for(membership=request.membership, public_id=dispute_id)


def _out(dispute: Dispute) -> Dispute:
    return (
        Dispute.objects.select_related(
            "invoice__customer", "invoice__organization", "assignee", "pending_approval"
        )
        .prefetch_related("attachments")
        .get(pk=dispute.pk)
    )


def _member(request, email: str) -> User:
    membership = (
        Membership.objects.filter(
            organization=request.organization, user__email__iexact=email.strip(), is_active=True
        )
        .select_related("user")
        .first()
    )
    if membership is None:
        raise LedgerError(f"No active member of the organization has the email {email!r}.")
    return membership.user


@router.get("", response=responses({200: DisputePage}, 422), summary="List disputes")
@api_requires(Cap.LEDGER_VIEW)
def dispute_list(
    request,
    page: Query[PageParams],
    status: Literal["open", "new", "under_review", "resolved", "all"] = "open",
    reason: ReasonCodeIn | None = None,
    assignee: str | None = None,
    team: TeamIn | None = None,
    due: Literal["breached", "due_soon"] | None = None,
    invoice: UUID | None = None,
    sort: Literal["sla", "newest", "oldest"] = "sla",
):
    """Disputes the key may see (open ones by default), soonest SLA deadline first.
    `assignee` is `mine`, `unassigned` or a member's email."""
    membership = request.membership
    now = timezone.now()
    clock = SlaClock(request.organization, now=now)
    who = ""
    if assignee in ("mine", "unassigned"):
        who = assignee
    elif assignee:
        # A filter naming nobody is invalid input (422 on the parameter), as an unknown id is.
        try:
            if len(assignee) > 254:
                raise LedgerError("No member has so long an email address.")
            who = str(_member(request, assignee).public_id)
        except LedgerError as exc:
            raise ReferenceNotFound(("query", "assignee"), str(exc)) from exc
    filters = QueueFilters(
        status=status, reason=reason or "", assignee=who, team=team or "", due=due or "", sort=sort
    )
    queryset = selectors.dispute_queue(
        membership=membership, filters=filters, now=now, due_soon_before=clock.due_soon_before()
    ).prefetch_related("attachments")
    if invoice is not None:
        found = referenced(
            lambda: ledger_selectors.invoice_for(membership=membership, public_id=invoice),
            loc=("query", "invoice"),
            what="invoice",
        )
        queryset = queryset.filter(invoice=found)
    result = paginate_keyset(queryset, page, ordering=QUEUE_SORTS[sort][1])
    for row in result["results"]:
        row._clock = clock
    return result


@router.get("/{dispute_id}", response=responses({200: DisputeOut}, 404), summary="Get a dispute")
@api_requires(Cap.LEDGER_VIEW)
def dispute_get(request, dispute_id: UUID):
    return _out(_dispute(request, dispute_id))


def _evidence(items: list[EvidenceIn]) -> list[ContentFile]:
    files = []
    for index, item in enumerate(items):
        try:
            data = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LedgerError(
                f"Evidence {index + 1} ({item.filename}) is not valid base64."
            ) from exc
        files.append(ContentFile(data, name=item.filename))
    return files


@router.post("", response=responses({201: DisputeOut}, 400, 404, 422), summary="Log a dispute")
@api_requires(Cap.DISPUTES_LOG)
def dispute_create(request, payload: DisputeCreate):
    """Log a dispute on an open invoice (the invoice becomes disputed and leaves its cadence);
    it gets its SLA deadline and is routed by the organization's rules."""
    invoice, contact = invoice_and_contact(request.membership, payload)
    dispute = services.dispute_file(
        invoice=invoice,
        reason_code=payload.reason_code,
        amount=payload.amount if payload.amount is not None else invoice.balance,
        description=payload.description,
        attachments=_evidence(payload.evidence),
        contact=contact,
        source=DisputeSource.API,
        actor=request.user,
    )
    return Status(201, _out(dispute))


@router.post(
    "/{dispute_id}/assign", response=responses({200: DisputeOut}, 400, 404, 422), summary="Assign"
)
@api_requires(Cap.DISPUTES_RESOLVE)
def dispute_assign(request, dispute_id: UUID, payload: AssignIn):
    dispute = _dispute(request, dispute_id)
    assignee = _member(request, payload.assignee) if payload.assignee else None
    services.dispute_assign(dispute=dispute, assignee=assignee, actor=request.user)
    return _out(dispute)


@router.post(
    "/{dispute_id}/route", response=responses({200: DisputeOut}, 400, 404, 422), summary="Route"
)
@api_requires(Cap.DISPUTES_RESOLVE)
def dispute_route(request, dispute_id: UUID, payload: RouteIn):
    dispute = _dispute(request, dispute_id)
    services.dispute_route(dispute=dispute, team=payload.team, actor=request.user)
    return _out(dispute)


@router.post(
    "/{dispute_id}/review", response=responses({200: DisputeOut}, 400, 404), summary="Review"
)
@api_requires(Cap.DISPUTES_RESOLVE)
def dispute_review(request, dispute_id: UUID):
    dispute = _dispute(request, dispute_id)
    services.dispute_mark_under_review(dispute=dispute, actor=request.user)
    return _out(dispute)


@router.post(
    "/{dispute_id}/resolve",
    response=responses({200: DisputeOut}, 400, 404, 422),
    summary="Resolve",
)
@api_requires(Cap.DISPUTES_RESOLVE)
def dispute_resolve(request, dispute_id: UUID, payload: ResolveIn):
    """Resolve with a credit (a credit note; needs `invoices.credit`), a write-off (needs
    `invoices.write_off`) or a rejection (the invoice goes back to its cadence). A credit or
    write-off above the caller's approval limit becomes an approval request: the dispute stays
    open with `pending_approval` set and is resolved when the request is approved."""
    dispute = _dispute(request, dispute_id)
    services.dispute_resolve(
        dispute=dispute,
        outcome=payload.outcome,
        amount=payload.amount,
        note=payload.note,
        actor=request.user,
    )
    return _out(dispute)


__all__ = ["router", "team_label"]
