"""mentions_pending and the threads: what they return, the scope, and their cost."""

import pytest
from django.utils import timezone

from plixo.core.models import Role
from plixo.notes import selectors
from plixo.notes.models import Mention
from plixo.notes.services import mention_mark_read, note_add

pytestmark = pytest.mark.django_db


def add(invoice, author, body, **kwargs):
    return note_add(
        organization=invoice.organization, author=author, body=body, invoice=invoice, **kwargs
    )


def test_pending_mentions_are_the_unread_ones_newest_first(invoice, dispute, member):
    legal = member(Role.LEGAL)
    manager = member(Role.AR_MANAGER).user
    first = add(invoice, manager, "@legal first")
    second = add(invoice, manager, "@legal second", dispute=dispute)
    third = add(invoice, manager, "@legal third")
    add(invoice, manager, "@sales not for legal")
    mention_mark_read(mention=Mention.objects.get(note=third), user=legal.user)
    pending = list(selectors.mentions_pending(membership=legal))
    assert [m.note for m in pending] == [second, first]
    assert pending[0].note.dispute == dispute
    assert selectors.mentions_unread_count(membership=legal) == 2


def test_pending_mentions_load_everything_the_queue_shows_in_one_query(
    invoice, dispute, member, django_assert_num_queries
):
    manager = member(Role.AR_MANAGER).user
    for n in range(5):
        add(invoice, manager, f"@legal question {n}", dispute=dispute if n % 2 else None)
    with django_assert_num_queries(1):
        rows = [
            (
                m.note.body,
                m.note.author.display_name,
                m.note.invoice.number,
                m.note.invoice.customer.name,
                m.note.dispute and m.note.dispute.reason_code,
                m.note.created_at,
            )
            for m in selectors.mentions_pending(membership=member(Role.LEGAL))[:20]
        ]
    assert len(rows) == 5


def test_an_account_handed_to_someone_else_takes_its_mentions_along(invoice, member):
    add(invoice, member(Role.AR_MANAGER).user, "@sales ping")
    sales = member(Role.SALES)
    assert selectors.mentions_pending(membership=sales).count() == 1
    invoice.customer.owner = member(Role.CSM).user
    invoice.customer.save(update_fields=["owner"])
    assert selectors.mentions_pending(membership=sales).count() == 0


def test_mentions_are_only_ever_the_members_own(invoice, personas, member):
    add(invoice, member(Role.AR_MANAGER).user, "@legal ping")
    assert selectors.mentions_pending(membership=member(Role.CONTROLLER)).count() == 0
    assert selectors.mentions_pending(membership=personas.outsider).count() == 0


def test_the_invoice_thread_holds_its_dispute_notes_and_the_dispute_thread_only_those(
    invoice, dispute, member
):
    manager = member(Role.AR_MANAGER).user
    plain = add(invoice, manager, "invoice note")
    on_dispute = add(invoice, manager, "dispute note", dispute=dispute)
    reply = add(invoice, member(Role.LEGAL).user, "reply", parent=plain)
    thread = list(selectors.invoice_thread(invoice=invoice))
    assert thread == [plain, on_dispute]
    assert list(thread[0].replies.all()) == [reply]
    assert list(selectors.dispute_thread(dispute=dispute)) == [on_dispute]


def test_notes_of_accounts_not_owned_are_invisible_to_sales(invoice, unowned_invoice, member):
    manager = member(Role.AR_MANAGER).user
    mine = add(invoice, manager, "on the sales account")
    add(unowned_invoice, manager, "elsewhere")
    assert list(selectors.notes_visible(membership=member(Role.SALES))) == [mine]
    assert selectors.notes_visible(membership=member(Role.LEGAL)).count() == 2


def test_mention_read_state(invoice, member):
    note = add(invoice, member(Role.AR_MANAGER).user, "@legal ping")
    mention = note.mentions.get()
    before = timezone.now()
    mention_mark_read(mention=mention, user=member(Role.LEGAL).user)
    mention.refresh_from_db()
    assert mention.read_at >= before and mention.answered_at is None
