from decimal import Decimal

from django import template

from plixo.reports.selectors.common import BUCKET_LABELS

register = template.Library()


@register.filter
def normalize(value) -> str:
    """A rate as written: 1.2000000000 -> 1.2, never in exponent form."""
    if value is None:
        return ""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def field_label(form, name: str) -> str:
    field = form.fields.get(name)
    return str(field.label) if field is not None and field.label else name


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value}%"


@register.filter
def bucket_label(key: str) -> str:
    return BUCKET_LABELS.get(key, key)


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
