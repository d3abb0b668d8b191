"""note_add: the note, its mentions, the timeline event in the same transaction, the email
after commit, and every refusal writing nothing."""

import pytest
from django.core import mail

from plixo.core.models import Role
from plixo.ledger.models import LedgerError, TimelineEvent
from plixo.notes.models import BODY_MAX_LENGTH, Mention, Note
from plixo.notes.services import note_add

pytestmark = pytest.mark.django_db


def add(invoice, author, body, **kwargs):
    return note_add(
        organization=invoice.organization, author=author, body=body, invoice=invoice, **kwargs
    )


def counts():
    return (
        Note.objects.count(),
        Mention.objects.count(),
        TimelineEvent.objects.filter(kind="note").count(),
    )


def test_a_note_writes_its_mentions_and_a_timeline_event(
    invoice, member, django_capture_on_commit_callbacks
):
    manager = member(Role.AR_MANAGER).user
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = add(invoice, manager, "  @legal please check the discount clause, cc @sales.  ")
    assert note.body == "@legal please check the discount clause, cc @sales."
    assert note.author == manager and note.dispute is None and note.parent is None
    mentions = {m.handle: m for m in note.mentions.all()}
    assert set(mentions) == {"legal", "sales"}
    assert mentions["legal"].user == member(Role.LEGAL).user
    assert mentions["legal"].read_at is None and mentions["legal"].emailed_at is None
    event = TimelineEvent.objects.get(invoice=invoice, kind="note")
    assert event.data["text"] == note.body
    assert event.data["note"] == str(note.public_id)
    assert event.data["mentions"] == ["@legal", "@sales"]
    assert event.actor == manager
    # The email waits for the commit.
    assert mail.outbox == []
    assert len(callbacks) == 1


def test_mentioned_members_are_emailed_once_the_note_commits(
    invoice, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        note = add(invoice, member(Role.AR_MANAGER).user, "@legal can we credit 10%?")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [member(Role.LEGAL).user.email]
    assert "INV-N1" in message.subject
    assert "@legal can we credit 10%?" in message.body
    assert "/mentions/" in message.body
    assert Mention.objects.get(note=note).emailed_at is not None


def test_an_unknown_handle_is_refused_with_the_valid_ones_and_nothing_is_written(invoice, member):
    before = counts()
    with pytest.raises(LedgerError) as caught:
        add(invoice, member(Role.AR_MANAGER).user, "@legl please look")
    message = str(caught.value)
    assert "@legl" in message and "@legal" in message and "@controller" in message
    assert counts() == before


def test_a_member_who_cannot_see_the_invoice_is_refused(unowned_invoice, member):
    before = counts()
    with pytest.raises(LedgerError, match=r"@csm .*cannot see invoice INV-N2"):
        add(unowned_invoice, member(Role.AR_MANAGER).user, "@legal and @csm, thoughts?")
    assert counts() == before


def test_sales_can_be_mentioned_on_their_own_account(invoice, member):
    note = add(invoice, member(Role.AR_OPERATOR).user, "@sales did they agree to this price?")
    assert note.mentions.get().user == member(Role.SALES).user


def test_email_addresses_in_the_text_are_not_mentions(invoice, member):
    note = add(invoice, member(Role.AR_OPERATOR).user, "Payer wrote from ap@northwind.example")
    assert note.mentions.count() == 0


def test_mentioning_oneself_notifies_nobody(invoice, member):
    note = add(invoice, member(Role.LEGAL).user, "Note to self @legal: check clause 4")
    assert note.mentions.count() == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("   ", "Write the note first."),
        ("x" * (BODY_MAX_LENGTH + 1), "at most 2,000 characters"),
        ("bad \x00 byte", "control character"),
        ("bell \x07", "control character"),
    ],
)
def test_bad_text_is_refused(invoice, member, body, error):
    before = counts()
    with pytest.raises(LedgerError, match=error):
        add(invoice, member(Role.AR_MANAGER).user, body)
    assert counts() == before


def test_a_reply_by_the_mentioned_member_answers_the_mention(invoice, member):
    question = add(invoice, member(Role.AR_MANAGER).user, "@legal is the clause binding?")
    follow_up = add(invoice, member(Role.AR_MANAGER).user, "@legal any news?", parent=question)
    answer = add(invoice, member(Role.LEGAL).user, "Yes, clause 4 binds.", parent=follow_up)
    # A reply to a reply joins the thread's first note.
    assert answer.parent == question and follow_up.parent == question
    mentions = Mention.objects.filter(user=member(Role.LEGAL).user)
    assert mentions.count() == 2
    for mention in mentions:
        assert mention.answered_at is not None and mention.read_at is not None
        assert mention.answer == answer
    event = TimelineEvent.objects.filter(kind="note").order_by("-at", "-id").first()
    assert event.data["reply_to"] == str(question.public_id)


def test_a_reply_stays_on_its_notes_invoice(invoice, unowned_invoice, member):
    question = add(invoice, member(Role.AR_MANAGER).user, "first")
    with pytest.raises(LedgerError, match="same invoice"):
        add(unowned_invoice, member(Role.AR_MANAGER).user, "reply", parent=question)


def test_a_dispute_note_is_on_the_disputes_invoice(invoice, unowned_invoice, dispute, member):
    note = add(
        invoice,
        member(Role.AR_OPERATOR).user,
        "@legal the payer disputes the price",
        dispute=dispute,
    )
    assert note.dispute == dispute
    event = TimelineEvent.objects.get(kind="note")
    assert event.invoice == invoice and event.data["dispute"] == str(dispute.public_id)
    reply = add(invoice, member(Role.LEGAL).user, "Credit it.", parent=note)
    assert reply.dispute == dispute
    with pytest.raises(LedgerError, match="another invoice"):
        add(unowned_invoice, member(Role.AR_OPERATOR).user, "wrong", dispute=dispute)


def test_an_invoice_of_another_organization_is_refused(personas, invoice):
    with pytest.raises(LedgerError, match="another organization"):
        note_add(
            organization=personas.other_org,
            author=personas.outsider.user,
            body="x",
            invoice=invoice,
        )


def test_a_payment_reference_must_be_one_applied_to_the_invoice(invoice, member):
    with pytest.raises(LedgerError, match="not applied"):
        add(invoice, member(Role.AR_MANAGER).user, "refunded", payment_reference="pi_nothing")
    assert Note.objects.count() == 0


def test_mention_email_skipped_in_maintenance(
    invoice, member, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("plixo.notes.tasks.maintenance_active", lambda: True)
    with django_capture_on_commit_callbacks(execute=True):
        note = add(invoice, member(Role.AR_MANAGER).user, "@legal look")
    assert mail.outbox == []
    mention = note.mentions.get()
    assert mention.emailed_at is None and "maintenance" in mention.email_error
    assert mention.read_at is None  # still in the member's queue


def test_a_mention_is_emailed_once(invoice, member, django_capture_on_commit_callbacks):
    from plixo.notes.tasks import mention_email_send

    with django_capture_on_commit_callbacks(execute=True):
        note = add(invoice, member(Role.AR_MANAGER).user, "@legal look")
    assert mention_email_send(note.mentions.get().pk) is False
    assert len(mail.outbox) == 1
