"""/api/v1/messages: drafts, the outbox (queued and held emails) and what was sent."""

from uuid import UUID

from ninja import Query, Router

from plixo.api.auth import api_requires
from plixo.api.common import paginate_keyset, referenced, responses
from plixo.api.schemas import PageParams
from plixo.api.schemas_comms import MessageFilters, MessageOut, MessagePage
from plixo.comms import services
from plixo.comms.models import Message
from plixo.comms.selectors import message_for, messages_visible
from plixo.core.permissions import Cap
from plixo.ledger import selectors as ledger_selectors

router = Router(tags=["messages"])


def _message_for(request, message_id: UUID) -> Message:
    return message_for(membership=request.membership, public_id=message_id)


@router.get("", response=responses({200: MessagePage}, 422), summary="List messages")
@api_requires(Cap.MESSAGES_VIEW)
def message_list(request, page: Query[PageParams], filters: Query[MessageFilters]):
    """Drafts, queued, held and sent emails the key may see, newest first. `invoice` narrows
    to one invoice; `status` to one status, or `held` for queued emails that wait for their
    send window or a cap, with the reason in `hold_reason` and the time in `send_after`."""
    # Sales and CSMs see the messages of their own accounts' invoices only.
    qs = messages_visible(membership=request.membership).select_related(
        "invoice", "contact", "cadence", "step", "approved_by"
    )
    if filters.invoice is not None:
        invoice = referenced(
            lambda: ledger_selectors.invoice_for(
                membership=request.membership, public_id=filters.invoice
            ),
            loc=("query", "invoice"),
            what="invoice",
        )
        qs = qs.filter(invoice=invoice)
    if filters.status == "held":
        qs = qs.filter(status=Message.Status.QUEUED).exclude(hold_reason="")
    elif filters.status is not None:
        qs = qs.filter(status=filters.status)
    # (organization, created_at, id) and (organization, status, created_at, id) are indexed:
    # the newest first, with the id to break ties so that pages never overlap.
    return paginate_keyset(qs, page, ordering=("-created_at", "-id"))


@router.get("/{message_id}", response=responses({200: MessageOut}, 404), summary="Get a message")
@api_requires(Cap.MESSAGES_VIEW)
def message_get(request, message_id: UUID):
    return _message_for(request, message_id)


@router.post(
    "/{message_id}/approve",
    response=responses({200: MessageOut}, 400, 404),
    summary="Approve a draft",
)
@api_requires(Cap.MESSAGES_SEND)
def message_approve(request, message_id: UUID):
    """The draft joins the outbox (`status` queued) and goes at the payer's next send window,
    within the day's caps. Approving an approved email again changes nothing."""
    message = _message_for(request, message_id)
    services.message_approve(message=message, actor=request.user)
    return _message_for(request, message_id)


@router.post(
    "/{message_id}/send",
    response=responses({200: MessageOut}, 400, 404),
    summary="Send a message now",
)
@api_requires(Cap.MESSAGES_SEND)
def message_send(request, message_id: UUID):
    """Approve the draft if needed and try to send it at once. Quiet hours, caps, test mode and
    suppression still apply, so read the answer: `status` sent with `sent_at` and `to_email`
    (the test address, with `is_test`, in test mode), or queued with `hold_reason` and
    `send_after` when it is held."""
    message = _message_for(request, message_id)
    services.message_send_now(message=message, actor=request.user)
    return _message_for(request, message_id)
