"""What the notes thread partial shows, built once for the template tag and the HTMX views."""

import secrets

from plixo.core.permissions import Cap, role_can
from plixo.ledger.selectors import invoice_allocations
from plixo.notes import selectors
from plixo.notes.forms import NoteForm
from plixo.notes.handles import member_handles
from plixo.notes.services import member_sees_invoice


def payment_references(*, invoice) -> list[str]:
    """The references of the payments applied to `invoice`, that a note may be about."""
    return list(dict.fromkeys(a.payment.reference for a in invoice_allocations(invoice=invoice)))


def thread_context(
    *,
    request,
    invoice,
    dispute=None,
    form: NoteForm | None = None,
    reply_to=None,
    reply_form: NoteForm | None = None,
    notice: str = "",
) -> dict:
    """The thread of `dispute` (when given) or of `invoice`, as `notes/_thread.html` reads it.
    Renders nothing for a member who cannot see the invoice."""
    membership = getattr(request, "membership", None)
    scope = "dispute" if dispute is not None else "invoice"
    visible = (
        membership is not None
        and role_can(membership.role, Cap.LEDGER_VIEW)
        and member_sees_invoice(membership, invoice)
    )
    context = {
        "visible": visible,
        "invoice": invoice,
        "dispute": dispute,
        "scope": scope,
        "request": request,
        "notice": notice,
        "org_zone": invoice.organization.time_zone,
        "thread_id": f"notes-{scope}-{(dispute or invoice).public_id}",
    }
    if not visible:
        return context
    notes = list(
        selectors.dispute_thread(dispute=dispute)
        if dispute is not None
        else selectors.invoice_thread(invoice=invoice)
    )
    directory = member_handles(organization=invoice.organization)
    # Fresh element ids on every render: htmx carries style attributes over between elements
    # of the same id when it swaps, which the CSP (no inline styles) blocks.
    render_key = secrets.token_hex(4)
    initial = {
        "invoice": invoice.public_id,
        "dispute": dispute.public_id if dispute is not None else None,
        "thread": scope,
    }
    if form is None:
        form = NoteForm(initial=initial)
    form.auto_id = f"id_%s_{render_key}"
    context.update(
        {
            "notes": notes,
            "known_handles": set(directory),
            "mentionable": [
                m for m in directory.values() if member_sees_invoice(m.membership, invoice)
            ],
            "my_handle": next(
                (h for h, m in directory.items() if m.membership.user_id == request.user.pk), None
            ),
            "can_write": role_can(membership.role, Cap.NOTES_WRITE),
            "form": form,
            "render_key": render_key,
            "payment_references": payment_references(invoice=invoice) if dispute is None else [],
            "reply_to": reply_to.public_id if reply_to is not None else None,
            "reply_form": reply_form,
        }
    )
    return context
