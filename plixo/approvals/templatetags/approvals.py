import datetime as dt

from django import template

register = template.Library()


@register.filter
def duration_text(value) -> str:
    """A turnaround in words a person reads at a glance: "45 min", "3.5 h", "2.1 days"."""
    if not isinstance(value, dt.timedelta):
        return "—"
    seconds = max(value.total_seconds(), 0)
    if seconds < 3600:
        return f"{max(round(seconds / 60), 1)} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
