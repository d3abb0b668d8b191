"""The notes pages: the thread tag, adding with and without HTMX, the mentions page, access."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from plixo.core.models import Role
from plixo.notes.models import Mention, Note
from plixo.notes.services import note_add

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def add(invoice, author, body, **kwargs):
    return note_add(
        organization=invoice.organization, author=author, body=body, invoice=invoice, **kwargs
    )


def render_tag(text, membership, **context):
    request = RequestFactory().get("/")
    request.user = membership.user
    request.membership = membership
    request.organization = membership.organization
    return Template("{% load notes %}" + text).render(Context({"request": request, **context}))


def test_the_thread_tag_renders_notes_replies_mentions_and_the_form(invoice, member):
    note = add(invoice, member(Role.AR_MANAGER).user, "@legal is <b>this</b> right?")
    add(invoice, member(Role.LEGAL).user, "Yes.", parent=note)
    html = render_tag(
        "{% notes_thread invoice=invoice %}", member(Role.AR_OPERATOR), invoice=invoice
    )
    assert f'id="notes-invoice-{invoice.public_id}"' in html
    assert '<mark class="mention">@legal</mark>' in html
    assert "&lt;b&gt;this&lt;/b&gt;" in html  # escaped
    assert "Yes." in html and 'class="note note-reply"' in html
    assert f'hx-post="{reverse("notes:add")}"' in html
    assert "<code>@legal</code>" in html  # the handle list
    assert "email address before the @" in html


def test_the_thread_tag_shows_nothing_to_sales_off_their_accounts(unowned_invoice, member):
    add(unowned_invoice, member(Role.AR_MANAGER).user, "secret")
    assert "secret" not in render_tag(
        "{% notes_thread invoice=invoice %}", member(Role.SALES), invoice=unowned_invoice
    )
    assert "secret" in render_tag(
        "{% notes_thread invoice=invoice %}", member(Role.LEGAL), invoice=unowned_invoice
    )


def test_the_dispute_thread_tag(invoice, dispute, member):
    add(invoice, member(Role.AR_MANAGER).user, "on the invoice")
    add(invoice, member(Role.AR_MANAGER).user, "on the dispute", dispute=dispute)
    html = render_tag("{% notes_thread dispute=dispute %}", member(Role.LEGAL), dispute=dispute)
    assert "on the dispute" in html and "on the invoice" not in html
    assert f'name="dispute" value="{dispute.public_id}"' in html


def test_htmx_add_rerenders_the_thread(invoice, personas):
    client = personas.client_for(Role.AR_MANAGER)
    response = client.post(
        reverse("notes:add"),
        {"invoice": invoice.public_id, "thread": "invoice", "body": "@legal please review"},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<mark class="mention">@legal</mark> please review' in html
    assert "1 member notified" in html
    assert "<html" not in html
    assert Mention.objects.get().user == personas.members[Role.LEGAL].user


def test_htmx_refusal_keeps_the_text_and_says_why(invoice, personas):
    client = personas.client_for(Role.AR_MANAGER)
    response = client.post(
        reverse("notes:add"),
        {"invoice": invoice.public_id, "body": "@legl please review"},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "No member of Acme Widgets has the handle @legl" in html
    assert "@legl please review</textarea>" in html
    assert Note.objects.count() == 0


def test_plain_post_redirects_back_and_refusal_is_a_page_with_the_text(invoice, personas):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id})
    response = client.post(
        reverse("notes:add"), {"invoice": invoice.public_id, "body": "Called AP"}
    )
    assert response.status_code == 302 and response["Location"] == url
    response = client.post(
        reverse("notes:add"),
        {"invoice": invoice.public_id, "body": "bad \x01 text", "next": "//evil.example/"},
    )
    assert response.status_code == 400
    assert "control character" in response.content.decode()
    assert Note.objects.count() == 1


def test_a_reply_posted_in_the_thread(invoice, personas):
    note = add(invoice, personas.members[Role.AR_MANAGER].user, "@legal?")
    client = personas.client_for(Role.LEGAL)
    response = client.post(
        reverse("notes:add"),
        {
            "invoice": invoice.public_id,
            "parent": note.public_id,
            "thread": "invoice",
            "body": "Fine.",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert Mention.objects.get().answered_at is not None


def test_sales_cannot_post_on_an_account_they_do_not_own(unowned_invoice, invoice, personas):
    client = personas.client_for(Role.SALES)
    response = client.post(
        reverse("notes:add"), {"invoice": unowned_invoice.public_id, "body": "hi"}
    )
    assert response.status_code == 404
    response = client.post(reverse("notes:add"), {"invoice": invoice.public_id, "body": "hi"})
    assert response.status_code == 302
    outsider = personas.client_for(Role.CONTROLLER)
    outsider.force_login(personas.outsider.user)
    response = outsider.post(reverse("notes:add"), {"invoice": invoice.public_id, "body": "hi"})
    assert response.status_code in (403, 404)
    assert Note.objects.count() == 1


def test_the_mentions_page_lists_unread_then_marks_read_and_answers(invoice, dispute, personas):
    manager = personas.members[Role.AR_MANAGER].user
    first = add(invoice, manager, "@legal can we credit?", dispute=dispute)
    add(invoice, manager, "@legal and the other clause?")
    client = personas.client_for(Role.LEGAL)
    page = client.get(reverse("notes:mentions"))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index("the other clause") < html.index("can we credit")
    assert 'Unread <span class="chip-count">2</span>' in html
    mention = Mention.objects.get(note=first)
    response = client.post(
        reverse("notes:mention-reply", kwargs={"mention_id": mention.public_id}),
        {"body": "Yes, up to 10%."},
        **HTMX,
    )
    assert response.status_code == 200 and "Reply added to the thread." in response.content.decode()
    mention.refresh_from_db()
    assert mention.answered_at is not None
    reply = Note.objects.get(body="Yes, up to 10%.")
    assert reply.parent == first and reply.dispute == dispute
    other = Mention.objects.exclude(pk=mention.pk).get()
    response = client.post(reverse("notes:mention-read", kwargs={"mention_id": other.public_id}))
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.read_at is not None
    assert (
        "No unread mentions"
        in client.get(reverse("notes:mentions") + "?show=unread").content.decode()
    )


def test_only_the_member_mentioned_marks_it_read(invoice, unowned_invoice, personas):
    mention = add(invoice, personas.members[Role.AR_MANAGER].user, "@legal?").mentions.get()
    url = reverse("notes:mention-read", kwargs={"mention_id": mention.public_id})
    response = personas.client_for(Role.CONTROLLER).post(url, follow=True)
    assert "Only @legal, the member mentioned" in response.content.decode()
    outsider = personas.client_for(Role.CONTROLLER)
    outsider.force_login(personas.outsider.user)
    assert outsider.post(url).status_code == 404
    other = add(unowned_invoice, personas.members[Role.AR_MANAGER].user, "@legal!").mentions.get()
    url = reverse("notes:mention-read", kwargs={"mention_id": other.public_id})
    assert personas.client_for(Role.SALES).post(url).status_code == 404
    mention.refresh_from_db()
    assert mention.read_at is None


def test_an_empty_reply_is_refused_and_keeps_the_mention_unread(invoice, personas):
    mention = add(invoice, personas.members[Role.AR_MANAGER].user, "@legal?").mentions.get()
    client = personas.client_for(Role.LEGAL)
    url = reverse("notes:mention-reply", kwargs={"mention_id": mention.public_id})
    response = client.post(url, {"body": "  "})
    assert response.status_code == 400
    mention.refresh_from_db()
    assert mention.answered_at is None and Note.objects.count() == 1


def test_the_bell_shows_the_unread_count(invoice, member):
    add(invoice, member(Role.AR_MANAGER).user, "@legal?")
    html = render_tag(
        '{% include "notes/_bell.html" %}',
        member(Role.LEGAL),
        current_membership=member(Role.LEGAL),
    )
    assert 'class="notes-bell-count"' in html and ">1<" in html
    html = render_tag(
        '{% include "notes/_bell.html" %}', member(Role.CSM), current_membership=member(Role.CSM)
    )
    assert "notes-bell-count" not in html


def test_the_invoice_notes_page(invoice, personas, unowned_invoice):
    add(invoice, personas.members[Role.AR_MANAGER].user, "Called their AP team")
    url = reverse("notes:invoice-notes", kwargs={"invoice_id": invoice.public_id})
    response = personas.client_for(Role.SALES).get(url)
    assert response.status_code == 200 and "Called their AP team" in response.content.decode()
    url = reverse("notes:invoice-notes", kwargs={"invoice_id": unowned_invoice.public_id})
    assert personas.client_for(Role.SALES).get(url).status_code == 404


def test_notes_never_reach_the_payer_portal(invoice, personas):
    from plixo.portal.services import portal_link_issue
    from tests.factories import ContactFactory

    add(invoice, personas.members[Role.AR_MANAGER].user, "INTERNAL-ONLY remark @legal")
    contact = ContactFactory(customer=invoice.customer, email="ap@northwind.example")
    _, path = portal_link_issue(invoice=invoice, contact=contact)
    from django.test import Client

    payer = Client()
    response = payer.get(path, follow=True)
    assert response.status_code == 200
    assert "INTERNAL-ONLY" not in response.content.decode()


def test_a_post_without_an_invoice_saves_nothing(personas):
    client = personas.client_for(Role.AR_MANAGER)
    response = client.post(reverse("notes:add"), {"body": "orphan", "invoice": "not-a-uuid"})
    assert response.status_code == 302
    assert Note.objects.count() == 0
