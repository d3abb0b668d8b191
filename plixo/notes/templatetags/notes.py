"""`{% load notes %}`: the notes thread of an invoice or a dispute, the unread mentions count,
and the filter that marks @mentions in a note's text."""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from plixo.notes.handles import mention_spans
from plixo.notes.presenters import thread_context
from plixo.notes.selectors import mentions_unread_count

register = template.Library()


@register.inclusion_tag("notes/_thread.html", takes_context=True)
def notes_thread(context, invoice=None, dispute=None):
    """`{% notes_thread invoice=invoice %}` or `{% notes_thread dispute=dispute %}`: the
    internal notes (with replies and @mentions) and the form to add one, posting with HTMX and
    re-rendering in place. Nothing renders for a member who cannot see the invoice."""
    request = context.get("request")
    if dispute is not None:
        invoice = dispute.invoice
    if request is None or invoice is None:
        return {"visible": False}
    found = thread_context(request=request, invoice=invoice, dispute=dispute)
    found["csrf_token"] = context.get("csrf_token")
    return found


@register.simple_tag(takes_context=True)
def mentions_unread(context) -> int:
    """How many of the signed-in member's mentions are unread (0 when not a member)."""
    request = context.get("request")
    membership = getattr(request, "membership", None) if request is not None else None
    if membership is None:
        return 0
    cached = getattr(request, "_notes_unread", None)
    if cached is None:
        cached = mentions_unread_count(membership=membership)
        request._notes_unread = cached
    return cached


@register.filter
def mentions_marked(body: str, known=None) -> str:
    """The note's text, escaped, with each @handle of a member in `known` wrapped in
    `<mark class="mention">`; line breaks kept."""
    pieces = []
    for text, is_mention in mention_spans(str(body or ""), known):
        if is_mention:
            pieces.append(f'<mark class="mention">{escape(text)}</mark>')
        else:
            pieces.append(escape(text).replace("\n", "<br>"))
    return mark_safe("".join(pieces))  # noqa: S308 — every piece is escaped above
