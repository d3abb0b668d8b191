"""Payments pieces for pages other apps own (the staff invoice page)."""

from django import template

from plixo.payments.selectors import receipts_for_invoice

register = template.Library()


@register.simple_tag
def invoice_receipts(invoice):
    """`{% invoice_receipts invoice as receipts %}`: the invoice's receipts, newest first."""
    return list(receipts_for_invoice(invoice))
