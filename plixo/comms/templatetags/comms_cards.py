"""The comms app's cards on other apps' pages."""

from django import template

from plixo.comms.selectors import invoice_cadence_status, invoice_emails
from plixo.comms.services import sending_settings_for
from plixo.core.permissions import Cap

register = template.Library()


@register.inclusion_tag("comms/_message_invoice_emails.html", takes_context=True)
def invoice_emails_card(context, invoice):
    """The invoice page's "Emails" card: where the invoice stands in its cadence, and its
    emails with the subject the payer reads. Nothing for roles that may not see emails."""
    caps = context.get("caps") or frozenset()
    if Cap.MESSAGES_VIEW not in caps:
        return {"show": False}
    request = context.get("request")
    viewer = getattr(request, "user", None)
    return {
        "show": True,
        "invoice": invoice,
        "can_send": Cap.MESSAGES_SEND in caps,
        "cadence": invoice_cadence_status(invoice=invoice),
        "emails": invoice_emails(
            invoice=invoice,
            sending=sending_settings_for(invoice.organization),
            viewer=viewer if getattr(viewer, "is_authenticated", False) else None,
        ),
    }
