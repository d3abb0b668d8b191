"""Template helpers for the payer portal and the staff link panel."""

import functools
from decimal import Decimal

from django import template

from plixo.core.permissions import Cap
from plixo.core.templatetags.plixo import money_text

register = template.Library()


@functools.lru_cache(maxsize=1024)
def _formatted(amount: Decimal, currency: str, locale: str) -> str:
    return money_text(amount, currency, locale)


@register.filter
def payer_money(amount, invoice):
    """Money in the invoice's currency and its organization's locale (a payer has no active
    organization, so the staff `money` filter's locale does not apply)."""
    currency, locale = invoice.currency, invoice.organization.locale
    if isinstance(amount, Decimal) and amount.is_finite() and locale:
        # Formatting is pure and Babel's is slow next to the rest of the invoice page; the
        # same few amounts come back on every view.
        return _formatted(amount, currency, locale)
    return money_text(amount, currency, locale)


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
