"""Forms of the Drafts and Outbox pages and of a contact's suppression."""

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from plixo.comms.models import BODY_MAX, SUBJECT_MAX, Tone
from plixo.comms.services import SUPPRESSION_KINDS
from plixo.comms.services.suppression import MAX_SUPPRESSION
from plixo.core.forms import DateField

DRAFT_STATUSES = ("draft", "queued", "held")
OUTBOX_TABS = ("queued", "sent", "failed", "cancelled")


class MessageEditForm(forms.Form):
    subject = forms.CharField(max_length=SUBJECT_MAX, strip=True)
    body = forms.CharField(
        max_length=BODY_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Merge fields in braces, like {invoice_number} or {pay_link}.",
    )
    tone = forms.ChoiceField(choices=Tone.choices)


class MessageCancelForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        required=False,
        strip=True,
        help_text="Shown on the invoice timeline.",
    )


def local_midnight(day: dt.date, zone_name: str) -> dt.datetime:
    """The first instant of `day` in the zone, as an aware datetime in UTC. Where midnight does
    not exist (a DST jump at 00:00) this is the instant just after the jump."""
    zone = ZoneInfo(zone_name)
    return dt.datetime.combine(day, dt.time(0, 0)).replace(tzinfo=zone).astimezone(dt.UTC)


class ContactSuppressForm(forms.Form):
    kind = forms.ChoiceField(label="Reason", choices=list(SUPPRESSION_KINDS.items()))
    note = forms.CharField(
        max_length=150,
        required=False,
        strip=True,
        help_text="e.g. “Back from parental leave in January”.",
    )
    until = DateField(
        label="Reactivate on",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a real calendar date as YYYY-MM-DD, like 2026-12-12."},
    )

    def __init__(self, *args, time_zone: str, now: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        self.now = now or timezone.now()
        self.fields["until"].help_text = (
            f"Optional. Email resumes at midnight {time_zone} on this date; empty, it stays "
            "suppressed until someone lifts it."
        )

    def clean_until(self) -> dt.datetime | None:
        day = self.cleaned_data.get("until")
        if day is None:
            return None
        until = local_midnight(day, self.time_zone)
        if until <= self.now:
            raise forms.ValidationError("The reactivation date must be after today.")
        if until - self.now > MAX_SUPPRESSION:
            raise forms.ValidationError("The reactivation date must be within three years.")
        return until
