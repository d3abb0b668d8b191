"""Reads of notes and mentions, scoped like the ledger: to the member's organization and, for
Sales and CSMs, to the accounts they own."""

from django.db.models import Case, Prefetch, QuerySet, Value, When

from plixo.core.models import Membership
from plixo.core.permissions import sees_only_own_accounts
from plixo.core.selectors import one_or_404, visible_to
from plixo.ledger.models import Invoice
from plixo.notes.models import Mention, Note


def notes_visible(*, membership: Membership) -> QuerySet[Note]:
    return visible_to(Note.objects, membership=membership, owner_path="invoice__customer__owner_id")


def note_for(*, membership: Membership, public_id) -> Note:
    return one_or_404(
        notes_visible(membership=membership).select_related(
            "invoice__customer", "dispute", "parent"
        ),
        public_id,
    )


def _thread(queryset: QuerySet[Note]) -> QuerySet[Note]:
    """First notes, oldest first, each with its replies and everyone's mentions loaded."""
    replies = (
        Note.objects.select_related("author")
        .prefetch_related("mentions")
        .order_by("created_at", "id")
    )
    return (
        queryset.filter(parent__isnull=True)
        .select_related("author", "dispute")
        .prefetch_related("mentions", Prefetch("replies", queryset=replies))
        .order_by("created_at", "id")
    )


def invoice_thread(*, invoice: Invoice) -> QuerySet[Note]:
    """Every note on the invoice, its disputes' notes included (each names its dispute)."""
    return _thread(Note.objects.filter(invoice=invoice))


def dispute_thread(*, dispute) -> QuerySet[Note]:
    """The notes about one dispute."""
    return _thread(Note.objects.filter(dispute=dispute))


def _member_mentions(membership: Membership) -> QuerySet[Mention]:
    queryset = Mention.objects.filter(
        organization_id=membership.organization_id, user_id=membership.user_id
    )
    if sees_only_own_accounts(membership.role):
        # An account handed to someone else takes its mentions with it.
        queryset = queryset.filter(note__invoice__customer__owner_id=membership.user_id)
    return queryset


def mentions_pending(*, membership: Membership) -> QuerySet[Mention]:
    """The member's mentions still waiting for them, newest first: the ones they have neither
    marked read nor answered (answering marks a mention read). My Queue and the unread badge
    show these.

    Each row is a `Mention` with:
    - `public_id` (UUID), `handle` (as written, without @), `created_at`, `read_at` (None here),
      `answered_at` (None here);
    - `note`: the `Note` with `public_id`, `body` (plain text with @handles, at most 2,000
      characters), `created_at`, `author` (a User or None) and `author_label` (the author's
      name when written), `parent` (None for a thread's first note);
    - `note.invoice` (with `number`, `public_id`, `customer`) and `note.dispute` (a Dispute or
      None), all loaded by this query (no further queries per row).

    Served by the index on (organization, user, read_at, -created_at): slice it (`[:20]`) for a
    page; `.count()` is the unread badge."""
    return (
        _member_mentions(membership)
        .filter(read_at__isnull=True)
        .select_related("note__author", "note__invoice__customer", "note__dispute", "note__parent")
        .order_by("-created_at", "-id")
    )


def mentions_unread_count(*, membership: Membership) -> int:
    return _member_mentions(membership).filter(read_at__isnull=True).count()


def mentions_for_member(*, membership: Membership) -> QuerySet[Mention]:
    """All the member's mentions, unread first, then newest first."""
    return (
        _member_mentions(membership)
        .select_related(
            "note__author", "note__invoice__customer", "note__dispute", "note__parent", "answer"
        )
        .annotate(unread=Case(When(read_at__isnull=True, then=Value(1)), default=Value(0)))
        .order_by("-unread", "-created_at", "-id")
    )


def mention_for(*, membership: Membership, public_id) -> Mention:
    """A mention on a note the member can see (its note shows who was notified); another
    organization's, or one on an account a Sales member or CSM does not own, is a 404. Only
    the member mentioned may mark it read (`services.mention_mark_read`)."""
    visible = visible_to(
        Mention.objects, membership=membership, owner_path="note__invoice__customer__owner_id"
    )
    return one_or_404(
        visible.select_related(
            "note__author", "note__invoice__customer", "note__dispute", "note__parent", "answer"
        ),
        public_id,
    )
