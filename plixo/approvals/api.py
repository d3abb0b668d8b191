"""/api/v1/approvals: the approvals inbox, and approve/reject with a comment."""

import datetime as dt
from typing import Literal
from uuid import UUID

from ninja import Field, Query, Router, Schema

from plixo.api.auth import api_requires
from plixo.api.common import paginate_keyset, responses
from plixo.api.schemas import CursorPage, MoneyOut, PageParams, Text
from plixo.approvals import selectors, services
from plixo.approvals.models import COMMENT_MAX_LENGTH, ApprovalRequest
from plixo.core.money import quantize
from plixo.core.permissions import Cap

router = Router(tags=["approvals"])

ORDERING = ("-created_at", "-id")


class InvoiceRef(Schema):
    id: UUID
    number: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class ApprovalOut(Schema):
    id: UUID
    kind: str
    status: str
    invoice: InvoiceRef | None
    amount: MoneyOut
    currency: str
    amount_in_base: MoneyOut | None = Field(
        description="In the organization's base currency; null when no rate converts it."
    )
    rationale: str
    guardrail: str = Field(description="What triggered the request and who must approve it.")
    routed_to: str = Field(description="controller or legal")
    requested_by: str | None
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_comment: str
    created_at: dt.datetime
    turnaround_seconds: int | None = Field(description="decided_at − created_at, once decided.")

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_amount(obj) -> str:
        return str(quantize(obj.amount, obj.currency))

    @staticmethod
    def resolve_amount_in_base(obj) -> str | None:
        if obj.amount_in_base is None:
            return None
        return str(quantize(obj.amount_in_base, obj.organization.base_currency))

    @staticmethod
    def resolve_requested_by(obj) -> str | None:
        return obj.requested_by.email if obj.requested_by else None

    @staticmethod
    def resolve_decided_by(obj) -> str | None:
        return obj.decided_by.email if obj.decided_by else None

    @staticmethod
    def resolve_turnaround_seconds(obj) -> int | None:
        turnaround = obj.turnaround
        return None if turnaround is None else int(turnaround.total_seconds())


class ApprovalPage(CursorPage):
    results: list[ApprovalOut]


class ApprovalFilters(Schema):
    status: Literal["pending", "approved", "rejected", "cancelled"] | None = None
    kind: Literal["write_off", "credit", "plan"] | None = None


class DecisionIn(Schema):
    comment: Text = Field("", max_length=COMMENT_MAX_LENGTH)


def _visible(request):
    return selectors.approvals_visible(membership=request.membership).select_related("organization")


def _approval_for(request, approval_id: UUID) -> ApprovalRequest:
    return selectors.approval_for(membership=request.membership, public_id=approval_id)


@router.get("", response=responses({200: ApprovalPage}, 422), summary="List approval requests")
@api_requires(Cap.APPROVALS_REQUEST)
def approval_list(request, page: Query[PageParams], filters: Query[ApprovalFilters]):
    """Newest first. A Controller sees every request; Legal those routed to Legal and their
    own; anyone else their own requests. Filter by `status` and `kind`; page with
    `next_cursor`."""
    qs = _visible(request)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    return paginate_keyset(qs, page, ordering=ORDERING)


@router.get("/{approval_id}", response=responses({200: ApprovalOut}, 404), summary="Get a request")
@api_requires(Cap.APPROVALS_REQUEST)
def approval_get(request, approval_id: UUID):
    return _approval_for(request, approval_id)


@router.post(
    "/{approval_id}/approve",
    response=responses({200: ApprovalOut}, 400, 404, 422),
    summary="Approve a request",
)
@api_requires(Cap.APPROVALS_DECIDE)
def approval_approve(request, approval_id: UUID, payload: DecisionIn):
    """Approving carries the action out at once (the write-off is written). Nobody approves
    their own request (403); a request routed to another role is 403 too; one decided
    already is 400."""
    approval = _approval_for(request, approval_id)
    services.approval_approve(approval=approval, actor=request.user, comment=payload.comment)
    return _approval_for(request, approval_id)


@router.post(
    "/{approval_id}/reject",
    response=responses({200: ApprovalOut}, 400, 404, 422),
    summary="Reject a request",
)
@api_requires(Cap.APPROVALS_DECIDE)
def approval_reject(request, approval_id: UUID, payload: DecisionIn):
    """Rejecting needs a comment (why), which the requester sees. Nothing is carried out."""
    approval = _approval_for(request, approval_id)
    services.approval_reject(approval=approval, actor=request.user, comment=payload.comment)
    return _approval_for(request, approval_id)
