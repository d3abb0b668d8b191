"""Staff pages for internal notes: adding a note or a reply (the thread re-renders in place with
HTMX), and the member's mentions page where they read and answer. Thin: forms check the input,
`services.note_add` decides and writes."""

import secrets

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from plixo.core.access import requires
from plixo.core.paging import BadCursor, keyset_page
from plixo.core.permissions import Cap, role_can
from plixo.disputes.selectors import disputes_visible
from plixo.ledger.models import LedgerError
from plixo.ledger.selectors import invoice_for
from plixo.notes import selectors, services
from plixo.notes.forms import NoteForm, ReplyForm
from plixo.notes.handles import member_handles
from plixo.notes.presenters import thread_context

PAGE_SIZE = 25
MENTIONS_ORDERING = ("-created_at", "-id")


def _back(request, invoice) -> str:
    """Where a note posted without HTMX returns: the page it came from, or the invoice."""
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id})


def _targets(request, data: dict):
    """The invoice, dispute and parent note the form names, each through the member's scope
    (another organization's id, or an account a Sales member does not own, is a 404)."""
    membership = request.membership
    invoice = invoice_for(membership=membership, public_id=data["invoice"])
    dispute = parent = None
    if data.get("dispute"):
        dispute = (
            disputes_visible(membership=membership)
            .select_related("invoice")
            .filter(public_id=data["dispute"], invoice=invoice)
            .first()
        )
        if dispute is None:
            raise Http404("No dispute with that id on this invoice.")
    if data.get("parent"):
        parent = selectors.note_for(membership=membership, public_id=data["parent"])
    return invoice, dispute, parent


@requires(Cap.LEDGER_VIEW)
def invoice_notes(request, invoice_id):
    """The invoice's internal notes on a page of their own (linked from the invoice page)."""
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    return render(request, "notes/invoice_notes.html", {"invoice": invoice})


@requires(Cap.NOTES_WRITE)
@require_POST
def note_add(request):
    """Add a note or a reply. With HTMX the thread answers in place (errors included, the
    text kept); without, a redirect back, or the thread page with the error."""
    form = NoteForm(request.POST)
    if not form.is_valid() and any(k in form.errors for k in ("invoice", "dispute", "parent")):
        # Not a form a page of ours sent: nothing to show it on.
        messages.error(request, "Nothing was saved: the note did not say which invoice it is on.")
        return redirect("ledger:invoice-list")
    data = form.cleaned_data
    invoice, dispute, parent = _targets(request, data)
    thread_dispute = dispute if data.get("thread") == "dispute" else None
    if thread_dispute is None and data.get("thread") == "dispute" and parent is not None:
        thread_dispute = parent.dispute
    error = None
    if form.is_valid():
        try:
            note = services.note_add(
                organization=request.organization,
                author=request.user,
                body=form.cleaned_data["body"],
                invoice=invoice,
                dispute=dispute,
                parent=parent,
                payment_reference=form.cleaned_data.get("payment_reference", ""),
            )
        except LedgerError as exc:
            error = str(exc)
            form.add_error(None, error)
        else:
            mentioned = note.mentions.count()
            notice = "Reply added." if parent is not None else "Note added."
            if mentioned:
                notice += f" {mentioned} member{'s' if mentioned != 1 else ''} notified."
            if request.htmx:
                context = thread_context(
                    request=request, invoice=invoice, dispute=thread_dispute, notice=notice
                )
                return render(request, "notes/_thread.html", context)
            messages.success(request, notice)
            return redirect(_back(request, invoice))
    # Refused: the text stays in the form it came from, with the error.
    kwargs = {"request": request, "invoice": invoice, "dispute": thread_dispute}
    if parent is not None:
        kwargs.update(reply_to=parent.parent or parent, reply_form=form)
    else:
        kwargs["form"] = form
    context = thread_context(**kwargs)
    if request.htmx:
        return render(request, "notes/_thread.html", context)
    context["next"] = _back(request, invoice)
    return render(request, "notes/note_refused.html", context, status=400)


@requires(Cap.LEDGER_VIEW)
def mentions(request):
    """The member's mentions: unread first (the default view), or all, newest first."""
    membership = request.membership
    unread_count = selectors.mentions_unread_count(membership=membership)
    show = request.GET.get("show") or ("unread" if unread_count else "all")
    if show not in ("unread", "all"):
        show = "unread"
    queryset = (
        selectors.mentions_pending(membership=membership)
        if show == "unread"
        else selectors.mentions_for_member(membership=membership)
    )
    try:
        page = keyset_page(
            queryset, ordering=MENTIONS_ORDERING, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    except BadCursor as exc:
        messages.error(request, str(exc))
        page = keyset_page(queryset, ordering=MENTIONS_ORDERING, cursor=None, limit=PAGE_SIZE)
    context = {
        "page": page,
        "rows": [_card(request, mention) for mention in page.rows],
        "show": show,
        "unread_count": unread_count,
        "known_handles": set(member_handles(organization=membership.organization)),
        "can_write": role_can(membership.role, Cap.NOTES_WRITE),
        "org_zone": membership.organization.time_zone,
    }
    return render(request, "notes/mentions.html", context)


def _card(request, mention, *, form=None, notice=""):
    """One mention as its card shows it: the note, its thread's replies, a reply form."""
    root = mention.note.parent or mention.note
    form = form or ReplyForm()
    # Fresh ids on every render (see `presenters.thread_context`).
    form.auto_id = f"id_%s_{mention.public_id.hex[:8]}_{secrets.token_hex(4)}"
    replies = list(root.replies.select_related("author").order_by("created_at", "id"))
    return {
        "mention": mention,
        "note": mention.note,
        "root": root,
        "replies": replies,
        "form": form or ReplyForm(),
        "notice": notice,
    }


def _card_response(request, mention, *, form=None, notice="", status=200):
    """The mention's card (HTMX), or a page holding it when the post was refused."""
    context = {
        "row": _card(request, mention, form=form, notice=notice),
        "known_handles": set(member_handles(organization=request.organization)),
        "can_write": role_can(request.membership.role, Cap.NOTES_WRITE),
        "show": request.POST.get("show", ""),
        "org_zone": request.organization.time_zone,
    }
    template = (
        "notes/_mention.html" if request.htmx or status == 200 else "notes/mention_refused.html"
    )
    return render(request, template, context, status=status)


def _mentions_back(request):
    show = request.POST.get("show", "")
    url = reverse("notes:mentions")
    return redirect(f"{url}?show={show}" if show in ("unread", "all") else url)


@requires(Cap.NOTES_WRITE)
@require_POST
def mention_read(request, mention_id):
    mention = selectors.mention_for(membership=request.membership, public_id=mention_id)
    try:
        services.mention_mark_read(mention=mention, user=request.user)
    except LedgerError as exc:
        messages.error(request, str(exc))
        return _mentions_back(request)
    if request.htmx:
        return _card_response(request, mention, notice="Marked read.")
    messages.success(request, "Mention marked read.")
    return _mentions_back(request)


@requires(Cap.NOTES_WRITE)
@require_POST
def mentions_read_all(request):
    count = services.mentions_mark_all_read(organization=request.organization, user=request.user)
    messages.success(request, f"{count} mention{'s' if count != 1 else ''} marked read.")
    return redirect("notes:mentions")


@requires(Cap.NOTES_WRITE)
@require_POST
def mention_reply(request, mention_id):
    """Answer a mention in place: a reply in the note's thread, which marks it answered."""
    mention = selectors.mention_for(membership=request.membership, public_id=mention_id)
    form = ReplyForm(request.POST)
    if form.is_valid():
        note = mention.note
        try:
            services.note_add(
                organization=request.organization,
                author=request.user,
                body=form.cleaned_data["body"],
                invoice=note.invoice,
                dispute=note.dispute,
                parent=note.parent or note,
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            mention.refresh_from_db()
            if request.htmx:
                return _card_response(request, mention, notice="Reply added to the thread.")
            messages.success(request, "Reply added to the thread.")
            return _mentions_back(request)
    if request.htmx:
        return _card_response(request, mention, form=form)
    return _card_response(request, mention, form=form, status=400)
