"""`/api/v1/queue`: the caller's queue in rank order, and escalations to the A/R Manager."""

import datetime as dt
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError

from plixo.api.auth import api_requires
from plixo.api.common import referenced, responses
from plixo.api.schemas import Text
from plixo.core.money import quantize
from plixo.core.permissions import Cap, role_can
from plixo.core.selectors import one_or_404
from plixo.ledger import selectors as ledger_selectors
from plixo.workspace import selectors, services
from plixo.workspace.models import Escalation
from plixo.workspace.services import REASON_MAX

queue = Router(tags=["queue"])


class QueueItemOut(Schema):
    kind: str = Field(
        description="escalation, dispute, promise, installment, mention, draft or invoice"
    )
    reason: str = Field(description="Why the item is where it is, e.g. “Promise due today”.")
    today: bool = Field(description="Part of Today's Focus (must happen today).")
    overdue: bool = Field(description="Past its deadline.")
    id: UUID = Field(description="The id of the record (the invoice for an invoice item).")
    invoice: UUID
    invoice_number: str
    customer: UUID
    customer_name: str
    amount: str | None
    currency: str
    due_on: dt.date | None
    due_at: dt.datetime | None


class QueueParams(Schema):
    limit: int = Field(selectors.PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)
    cursor: str | None = Field(None, max_length=1000, description="`next_cursor` of a page.")
    member: UUID | None = Field(None, description="A team member's queue (managers).")


class QueuePageOut(Schema):
    member: UUID
    limit: int
    next_cursor: str | None
    results: list[QueueItemOut]


def _item(item: selectors.QueueItem) -> dict:
    return {
        "kind": item.kind,
        "reason": item.reason,
        "today": item.in_focus,
        "overdue": item.urgent,
        "id": item.public_id,
        "invoice": item.invoice.public_id,
        "invoice_number": item.invoice.number,
        "customer": item.invoice.customer.public_id,
        "customer_name": item.invoice.customer.name,
        "amount": None if item.amount is None else str(quantize(item.amount, item.currency)),
        "currency": item.currency,
        "due_on": item.due_on,
        "due_at": item.due_at,
    }


@queue.get("", response=responses({200: QueuePageOut}, 404, 422), summary="My queue")
@api_requires(Cap.LEDGER_VIEW)
def queue_list(request, params: Query[QueueParams]):
    """The caller's queue (or, with the team capability, a member's: `member`) in rank order:
    what must happen today first (escalations, disputes by SLA, promises and installments due,
    mentions), then drafts awaiting approval, then open invoices by rank. Each item says why.
    Page on with `next_cursor`."""
    viewer = request.membership
    target = viewer
    member, limit, cursor = params.member, params.limit, params.cursor
    if member is not None:
        if not role_can(viewer.role, Cap.QUEUE_TEAM):
            raise NinjaValidationError(
                [
                    {
                        "loc": ["query", "member"],
                        "msg": "Only a manager opens another member's queue.",
                        "type": "value_error",
                    }
                ]
            )
        target = referenced(
            lambda: selectors.member_for_queue(viewer=viewer, public_id=member),
            loc=("query", "member"),
            what="member",
        )
    try:
        page = selectors.queue_for_member(
            member=target, viewer=viewer, limit=limit, cursor=cursor, focus=False
        )
    except selectors.CursorError as exc:
        raise NinjaValidationError(
            [{"loc": ["query", "cursor"], "msg": str(exc), "type": "value_error"}]
        ) from None
    return {
        "member": target.public_id,
        "limit": limit,
        "next_cursor": page.next_cursor,
        "results": [_item(item) for item in page.items],
    }


class EscalationIn(Schema):
    invoice: UUID
    reason: Text = Field(min_length=1, max_length=REASON_MAX)
    to: UUID | None = Field(
        None, description="A member who takes escalations; default the A/R Manager."
    )


class EscalationOut(Schema):
    id: UUID
    invoice: UUID
    status: str
    reason: str
    source: str
    to: UUID | None
    unanswered_steps: int
    created_at: dt.datetime

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_invoice(obj) -> UUID:
        return obj.invoice.public_id

    @staticmethod
    def resolve_to(obj) -> UUID | None:
        return obj.to_member.public_id if obj.to_member_id else None


@queue.post(
    "/escalations",
    response=responses({201: EscalationOut}, 400, 404, 422),
    summary="Escalate an invoice",
)
@api_requires(Cap.MESSAGES_SEND)
def escalation_create(request, payload: EscalationIn):
    """Hand an invoice's chronic non-response to the A/R Manager (or `to`); it shows in their
    queue and on the invoice timeline."""
    membership = request.membership
    invoice = referenced(
        lambda: ledger_selectors.invoice_for(membership=membership, public_id=payload.invoice),
        loc=("body", "payload", "invoice"),
        what="invoice",
    )
    to_member = None
    if payload.to is not None:
        to_member = referenced(
            lambda: one_or_404(
                selectors.managers(organization=membership.organization), payload.to
            ),
            loc=("body", "payload", "to"),
            what="member who takes escalations",
        )
    escalation = services.escalation_raise(
        invoice=invoice,
        from_member=membership,
        to_member=to_member,
        reason=payload.reason,
        source=Escalation.Source.API,
        actor=request.user,
    )
    escalation = Escalation.objects.select_related("invoice", "to_member").get(pk=escalation.pk)
    return Status(201, escalation)
