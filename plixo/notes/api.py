"""`/api/v1/notes`: internal notes on invoices and disputes, with @mentions.

The same rules as the pages: reading a thread needs `ledger.view` and the invoice visible to
the key's member (Sales and CSMs: their own accounts); writing needs `notes.write`. The service
decides; a refused note (unknown @handle, a member who cannot see the invoice) answers 400 and
writes nothing."""

import datetime as dt
from typing import Literal
from uuid import UUID

from django.db.models import Prefetch
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError

from plixo.api.auth import api_requires
from plixo.api.common import paginate_keyset, referenced, responses
from plixo.api.schemas import CursorPage, Line, PageParams, Text
from plixo.core.permissions import Cap
from plixo.core.selectors import one_or_404
from plixo.disputes.selectors import disputes_visible
from plixo.ledger import selectors as ledger_selectors
from plixo.notes import selectors, services
from plixo.notes.models import BODY_MAX_LENGTH, Mention, Note

router = Router(tags=["notes"])

NOTE_ORDERING = ("created_at", "id")
MENTION_ORDERING = ("-created_at", "-id")


class InvoiceRef(Schema):
    id: UUID
    number: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class MentionBrief(Schema):
    handle: str = Field(description="The member's handle, without @.")
    member: UUID = Field(description="The mentioned user's id.")
    read: bool
    answered: bool

    @staticmethod
    def resolve_member(obj) -> UUID:
        return obj.user.public_id

    @staticmethod
    def resolve_read(obj) -> bool:
        return obj.read_at is not None

    @staticmethod
    def resolve_answered(obj) -> bool:
        return obj.answered_at is not None


class NoteOut(Schema):
    id: UUID
    invoice: InvoiceRef
    dispute: UUID | None
    parent: UUID | None = Field(
        description="The note this one replies to; null for a thread's first note."
    )
    author: str
    body: str
    payment_reference: str
    created_at: dt.datetime
    mentions: list[MentionBrief]

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_dispute(obj) -> UUID | None:
        return obj.dispute.public_id if obj.dispute_id else None

    @staticmethod
    def resolve_parent(obj) -> UUID | None:
        return obj.parent.public_id if obj.parent_id else None

    @staticmethod
    def resolve_author(obj) -> str:
        return obj.author_label

    @staticmethod
    def resolve_mentions(obj):
        return list(obj.mentions.all())


class NotePage(CursorPage):
    results: list[NoteOut]


class NoteCreate(Schema):
    invoice: UUID | None = Field(None, description="The invoice; optional when `dispute` is given.")
    dispute: UUID | None = Field(None, description="One of the invoice's disputes.")
    parent: UUID | None = Field(None, description="The note this one answers.")
    body: Text = Field(
        min_length=1,
        max_length=BODY_MAX_LENGTH,
        description="Plain text; `@handle` mentions a member (the part of their email address "
        "before the @, in lower case).",
    )
    payment_reference: Line = Field(
        "", max_length=120, description="One of the payments applied to the invoice."
    )


class MentionOut(Schema):
    id: UUID
    handle: str
    created_at: dt.datetime
    read_at: dt.datetime | None
    answered_at: dt.datetime | None
    note: NoteOut

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class MentionPage(CursorPage):
    results: list[MentionOut]


def _notes(queryset):
    return queryset.select_related("invoice", "dispute", "parent").prefetch_related(
        Prefetch("mentions", queryset=Mention.objects.select_related("user"))
    )


def _note_out(note: Note) -> Note:
    return _notes(Note.objects.filter(pk=note.pk)).get()


def _query_error(name: str, message: str):
    raise NinjaValidationError([{"loc": ["query", name], "msg": message, "type": "value_error"}])


def _body_error(name: str, message: str):
    raise NinjaValidationError(
        [{"loc": ["body", "payload", name], "msg": message, "type": "value_error"}]
    )


def _dispute(membership, public_id, loc):
    return referenced(
        lambda: one_or_404(
            disputes_visible(membership=membership).select_related("invoice__customer"),
            public_id,
        ),
        loc=loc,
        what="dispute",
    )


@router.get("", response=responses({200: NotePage}, 422), summary="List notes")
@api_requires(Cap.LEDGER_VIEW)
def note_list(
    request,
    page: Query[PageParams],
    invoice: UUID | None = None,
    dispute: UUID | None = None,
):
    """Notes oldest first, replies included (`parent` says which note each answers): with
    `invoice`, that invoice's (its disputes' notes included); with `dispute`, that dispute's;
    with neither, every note the key may see. Give at most one of them."""
    membership = request.membership
    if invoice is not None and dispute is not None:
        _query_error("invoice", "Give either invoice or dispute, not both.")
    queryset = selectors.notes_visible(membership=membership)
    if invoice is None and dispute is None:
        pass
    elif invoice is not None:
        found = referenced(
            lambda: ledger_selectors.invoice_for(membership=membership, public_id=invoice),
            loc=("query", "invoice"),
            what="invoice",
        )
        queryset = queryset.filter(invoice=found)
    else:
        queryset = queryset.filter(dispute=_dispute(membership, dispute, ("query", "dispute")))
    return paginate_keyset(_notes(queryset), page, ordering=NOTE_ORDERING)


@router.post("", response=responses({201: NoteOut}, 400, 422), summary="Add a note")
@api_requires(Cap.NOTES_WRITE)
def note_create(request, payload: NoteCreate):
    """Add an internal note to an invoice or a dispute, or a reply (`parent`). Each @handle
    must name a member who can see the invoice; each gets an in-app notification and an
    email. A reply by a member mentioned in the thread answers their mention."""
    membership = request.membership
    if payload.invoice is None and payload.dispute is None and payload.parent is None:
        _body_error("invoice", "Give the invoice, the dispute or the note replied to.")
    dispute = parent = invoice = None
    if payload.parent is not None:
        parent = referenced(
            lambda: selectors.note_for(membership=membership, public_id=payload.parent),
            loc=("body", "payload", "parent"),
            what="note",
        )
    if payload.dispute is not None:
        dispute = _dispute(membership, payload.dispute, ("body", "payload", "dispute"))
    if payload.invoice is not None:
        invoice = referenced(
            lambda: ledger_selectors.invoice_for(membership=membership, public_id=payload.invoice),
            loc=("body", "payload", "invoice"),
            what="invoice",
        )
    invoice = invoice or (dispute.invoice if dispute is not None else parent.invoice)
    note = services.note_add(
        organization=request.organization,
        author=request.user,
        body=payload.body,
        invoice=invoice,
        dispute=dispute,
        parent=parent,
        payment_reference=payload.payment_reference,
    )
    return Status(201, _note_out(note))


def _mentions(queryset):
    return queryset.select_related(
        "note__invoice", "note__dispute", "note__parent"
    ).prefetch_related(Prefetch("note__mentions", queryset=Mention.objects.select_related("user")))


@router.get("/mentions", response=responses({200: MentionPage}, 422), summary="Your mentions")
@api_requires(Cap.LEDGER_VIEW)
def mention_list(request, page: Query[PageParams], status: Literal["unread", "all"] = "unread"):
    """The key's member's mentions, newest first: `unread` (the default: neither read nor
    answered) or `all`."""
    membership = request.membership
    queryset = (
        selectors.mentions_pending(membership=membership)
        if status == "unread"
        else selectors.mentions_for_member(membership=membership)
    )
    return paginate_keyset(_mentions(queryset), page, ordering=MENTION_ORDERING)


@router.post(
    "/mentions/{mention_id}/read",
    response=responses({200: MentionOut}, 400, 404),
    summary="Mark a mention read",
)
@api_requires(Cap.NOTES_WRITE)
def mention_read(request, mention_id: UUID):
    """Only the member mentioned may mark their mention read (anyone else: 400)."""
    mention = selectors.mention_for(membership=request.membership, public_id=mention_id)
    services.mention_mark_read(mention=mention, user=request.user)
    return _mentions(Mention.objects.filter(pk=mention.pk)).get()
