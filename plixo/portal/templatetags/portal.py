"""Template helpers for the payer portal and the staff link panel."""

from django import template

from plixo.core.permissions import Cap
from plixo.core.templatetags.plixo import money_text

register = template.Library()


@register.filter
def payer_money(amount, invoice):
    """Money in the invoice's currency and its organization's locale (a payer has no active
    organization, so the staff `money` filter's locale does not apply)."""
    return money_text(amount, invoice.currency, invoice.organization.locale)


@register.inclusion_tag("portal/staff_link_panel.html", takes_context=True)
def portal_link_panel(context, invoice):
    """The invoice page's "Pay link" card: the newest link's state, and the regenerate button
    for roles with `portal.links`."""
    from plixo.portal.selectors import portal_link_panel as panel_for

    caps = context.get("caps") or frozenset()
    return {
        "invoice": invoice,
        "panel": panel_for(invoice=invoice),
        "can_issue": Cap.PORTAL_LINKS in caps,
        "csrf_token": context.get("csrf_token"),
    }
