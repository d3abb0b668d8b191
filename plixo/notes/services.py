"""Writes of notes and mentions. Every note is a timeline event on its invoice, written in the
same transaction; each mention is emailed to the member once the note commits."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from plixo.core.models import Membership, Organization, User
from plixo.core.permissions import Cap, role_can, sees_only_own_accounts
from plixo.core.text import text_problem
from plixo.ledger.models import Invoice, LedgerError, Payment, TimelineEvent
from plixo.ledger.services.timeline import timeline_record
from plixo.notes.handles import handles_in, member_handles
from plixo.notes.models import BODY_MAX_LENGTH, Mention, Note
from plixo.ops.queue import task_enqueue

MENTION_EMAIL_SEND_TASK = "plixo.notes.tasks.mention_email_send_task"
# How many valid handles an "unknown handle" error lists before "and N more".
HANDLES_LISTED = 15
MENTIONS_PER_NOTE_MAX = 20


def body_clean(body: str) -> str:
    """The note's text, stripped, or a LedgerError that says what is wrong with it."""
    body = (body or "").strip()
    if not body:
        raise LedgerError("Write the note first.")
    if len(body) > BODY_MAX_LENGTH:
        raise LedgerError(f"A note is at most {BODY_MAX_LENGTH:,} characters.")
    if problem := text_problem(body):
        raise LedgerError(f"The note {problem}.")
    return body


def member_sees_invoice(membership: Membership, invoice: Invoice) -> bool:
    """Whether the member may read this invoice (Sales and CSMs: accounts they own only)."""
    if membership.organization_id != invoice.organization_id or not membership.is_active:
        return False
    if not role_can(membership.role, Cap.LEDGER_VIEW):
        return False
    if sees_only_own_accounts(membership.role):
        owner_id = invoice.customer.owner_id
        return owner_id is not None and owner_id == membership.user_id
    return True


def _listed(handles) -> str:
    handles = sorted(handles)
    shown = ", ".join(f"@{h}" for h in handles[:HANDLES_LISTED])
    more = len(handles) - HANDLES_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def _mentioned(*, organization: Organization, invoice: Invoice, body: str, author: User | None):
    """The memberships `body` mentions (the author's own handle left out), or a LedgerError
    naming the handle that is unknown or the member who cannot see the invoice."""
    written = handles_in(body)
    if not written:
        return []
    if len(written) > MENTIONS_PER_NOTE_MAX:
        raise LedgerError(f"A note mentions at most {MENTIONS_PER_NOTE_MAX} members.")
    directory = member_handles(organization=organization)
    unknown = [h for h in written if h not in directory]
    if unknown:
        names = ", ".join(f"@{h}" for h in unknown)
        noun = "handle" if len(unknown) == 1 else "handles"
        raise LedgerError(
            f"No member of {organization.name} has the {noun} {names}. "
            f"Mention one of: {_listed(directory)}."
        )
    found = []
    for handle in written:
        mentionable = directory[handle]
        membership = mentionable.membership
        if author is not None and membership.user_id == author.pk:
            continue
        if not member_sees_invoice(membership, invoice):
            raise LedgerError(
                f"@{handle} ({membership.user.display_name}, {membership.get_role_display()}) "
                f"cannot see invoice {invoice.number}: "
                f"{membership.get_role_display()} members see only the accounts they own. "
                "Mention someone else, or make them the account's owner first."
            )
        found.append(mentionable)
    return found


def _payment_reference_clean(invoice: Invoice, reference: str) -> str:
    reference = (reference or "").strip()
    if not reference:
        return ""
    if len(reference) > 120 or text_problem(reference, single_line=True):
        raise LedgerError("That payment was not applied to this invoice.")
    if not Payment.objects.filter(
        organization_id=invoice.organization_id,
        reference=reference,
        allocations__invoice=invoice,
    ).exists():
        raise LedgerError("That payment was not applied to this invoice.")
    return reference


def _author_membership(organization: Organization, author: User | None) -> Membership | None:
    if author is None:
        return None
    membership = (
        Membership.objects.filter(organization=organization, user=author, is_active=True)
        .select_related("user")
        .first()
    )
    if membership is None or not role_can(membership.role, Cap.NOTES_WRITE):
        raise LedgerError("Only members whose role writes notes can add one.")
    return membership


@transaction.atomic
def note_add(
    *,
    organization: Organization,
    author: User | None,
    body: str,
    invoice: Invoice,
    dispute=None,
    parent: Note | None = None,
    payment_reference: str = "",
) -> Note:
    """Write an internal note on `invoice` (and `dispute`, one of its disputes), or a reply to
    `parent`, with its @mentions and a "note" event on the invoice's timeline.

    Each member mentioned gets an unread mention (their in-app notification and queue item)
    and, once the transaction commits, an email. A reply by a member who was mentioned in
    the thread answers their mentions there. Refused with a LedgerError, writing nothing,
    when the text is empty, too long or holds control characters, when a handle names no
    member, or when a mentioned member cannot see the invoice."""
    body = body_clean(body)
    if invoice.organization_id != organization.pk:
        raise LedgerError("That invoice belongs to another organization.")
    if parent is not None:
        if parent.parent_id is not None:
            parent = parent.parent  # replies are one level deep: join the thread's first note
        if parent.invoice_id != invoice.pk:
            raise LedgerError("A reply must be on the same invoice as the note it answers.")
        if dispute is not None and parent.dispute_id != dispute.pk:
            raise LedgerError("A reply must be on the same dispute as the note it answers.")
        dispute = parent.dispute
    if dispute is not None and dispute.invoice_id != invoice.pk:
        raise LedgerError("That dispute is about another invoice.")
    author_membership = _author_membership(organization, author)
    if author_membership is not None and not member_sees_invoice(author_membership, invoice):
        raise LedgerError(f"You cannot see invoice {invoice.number}.")
    payment_reference = _payment_reference_clean(invoice, payment_reference)
    mentioned = _mentioned(organization=organization, invoice=invoice, body=body, author=author)

    now = timezone.now()
    note = Note.objects.create(
        organization=organization,
        invoice=invoice,
        dispute=dispute,
        parent=parent,
        author=author,
        author_label=author.display_name if author is not None else "system",
        body=body,
        payment_reference=payment_reference,
        created_at=now,
    )
    mentions = Mention.objects.bulk_create(
        [
            Mention(
                organization=organization,
                note=note,
                user=m.membership.user,
                handle=m.handle,
                created_at=now,
            )
            for m in mentioned
        ]
    )
    if parent is not None and author is not None:
        thread = Q(note=parent) | Q(note__parent=parent)
        waiting = Mention.objects.filter(thread, user=author, answered_at__isnull=True)
        waiting.filter(read_at__isnull=True).update(read_at=now)
        waiting.update(answered_at=now, answer=note)
    data = {"text": body, "note": str(note.public_id)}
    if payment_reference:
        data["payment_reference"] = payment_reference
    if mentioned:
        data["mentions"] = [m.label for m in mentioned]
    if dispute is not None:
        data["dispute"] = str(dispute.public_id)
    if parent is not None:
        data["reply_to"] = str(parent.public_id)
    timeline_record(
        invoice=invoice,
        kind=TimelineEvent.Kind.NOTE,
        actor=author,
        actor_label=author.display_name if author is not None else None,
        data=data,
        at=now,
    )
    mention_ids = [m.pk for m in mentions]
    if mention_ids:
        transaction.on_commit(lambda: _queue_mention_emails(mention_ids))
    return note


def _queue_mention_emails(mention_ids: list[int]) -> None:
    for mention_id in mention_ids:
        task_enqueue(MENTION_EMAIL_SEND_TASK, mention_id)


def mention_mark_read(*, mention: Mention, user: User) -> Mention:
    """The member has seen the mention: it leaves their unread count and queue."""
    if mention.user_id != user.pk:
        raise LedgerError(
            f"Only @{mention.handle}, the member mentioned, can mark this mention read."
        )
    if mention.read_at is None:
        now = timezone.now()
        Mention.objects.filter(pk=mention.pk, read_at__isnull=True).update(read_at=now)
        mention.read_at = now
    return mention


def mentions_mark_all_read(*, organization: Organization, user: User) -> int:
    return Mention.objects.filter(
        organization=organization, user=user, read_at__isnull=True
    ).update(read_at=timezone.now())


# --- email -----------------------------------------------------------------------------------


def mention_email_claim(*, mention_id: int) -> bool:
    """Take the mention's email for sending; False when it was sent or another worker has it."""
    return (
        Mention.objects.filter(
            pk=mention_id, emailed_at__isnull=True, email_claimed_at__isnull=True
        ).update(email_claimed_at=timezone.now())
        == 1
    )


def mention_email_release(*, mention_id: int, error: str) -> None:
    Mention.objects.filter(pk=mention_id, emailed_at__isnull=True).update(
        email_claimed_at=None, email_error=error[:300]
    )


def mention_email_skip(*, mention_id: int, reason: str) -> None:
    Mention.objects.filter(pk=mention_id, emailed_at__isnull=True).update(email_error=reason[:300])


def mention_emailed_record(*, mention_id: int) -> None:
    Mention.objects.filter(pk=mention_id).update(emailed_at=timezone.now(), email_error="")
