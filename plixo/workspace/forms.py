"""Forms of the inspector that are the workspace's own: escalate, write to the payer, suppress
a contact, and the organization's escalation rule. Promise and plan use the commitments forms."""

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms

from plixo.comms.models import BODY_MAX, SUBJECT_MAX
from plixo.comms.services import SUPPRESSION_KINDS
from plixo.core.forms import DateField
from plixo.core.text import text_problem
from plixo.ledger.models import Contact, Invoice
from plixo.workspace.models import ESCALATE_AFTER_MAX
from plixo.workspace.services import ONE_OFF_TEMPLATES, REASON_MAX


def _text(value: str) -> str:
    value = (value or "").strip()
    problem = text_problem(value)
    if problem:
        raise forms.ValidationError(f"This text {problem}.")
    return value


class ContactField(forms.ModelChoiceField):
    def label_from_instance(self, contact: Contact) -> str:
        return f"{contact.name} <{contact.email}>" if contact.name else contact.email


def _contacts(invoice: Invoice):
    return Contact.objects.filter(customer_id=invoice.customer_id).order_by(
        "-is_primary", "name", "id"
    )


class EscalateForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "e.g. Four reminders and two calls, no answer"}
        ),
    )
    to = forms.ModelChoiceField(
        queryset=None, required=False, label="To", to_field_name="public_id"
    )

    def __init__(self, *args, managers, **kwargs):
        kwargs.setdefault("prefix", "escalate")
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = managers
        self.fields["to"].empty_label = "The A/R Manager"
        self.fields["to"].label_from_instance = lambda m: (
            f"{m.user.display_name} ({m.get_role_display()})"
        )

    def clean_reason(self) -> str:
        value = _text(self.cleaned_data["reason"])
        if not value:
            raise forms.ValidationError("Say why you escalate: the manager reads it.")
        return value


class PayerMessageForm(forms.Form):
    template = forms.ChoiceField(
        choices=[("status", "Status update"), ("reminder", "Reminder"), ("blank", "Blank")],
        required=False,
    )
    contact = ContactField(queryset=Contact.objects.none(), required=False, label="To")
    subject = forms.CharField(max_length=SUBJECT_MAX)
    body = forms.CharField(max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 7}))
    attach_pdf = forms.BooleanField(required=False, initial=True, label="Attach the invoice PDF")
    revised_pdf = forms.FileField(
        required=False,
        label="Or attach a revised invoice (PDF)",
        help_text="Sent instead of the invoice PDF Plixo renders; at most 10 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    def __init__(self, *args, invoice: Invoice, **kwargs):
        kwargs.setdefault("prefix", "write")
        super().__init__(*args, **kwargs)
        contacts = _contacts(invoice).exclude(email="")
        self.fields["contact"].queryset = contacts
        self.fields["contact"].empty_label = "The primary contact"
        if not self.is_bound:
            subject, body = ONE_OFF_TEMPLATES["status"]
            self.initial.setdefault("subject", subject)
            self.initial.setdefault("body", body)
            self.initial.setdefault("attach_pdf", True)

    def clean_subject(self) -> str:
        value = _text(self.cleaned_data["subject"])
        if "\n" in value or "\r" in value:
            raise forms.ValidationError("The subject must be a single line.")
        return value

    def clean_body(self) -> str:
        return _text(self.cleaned_data["body"])


class SuppressForm(forms.Form):
    contact = ContactField(queryset=Contact.objects.none())
    kind = forms.ChoiceField(choices=list(SUPPRESSION_KINDS.items()), label="Why")
    reason = forms.CharField(max_length=150, required=False, label="Note")
    until = DateField(
        required=False,
        label="Reactivate on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty: until someone lifts it.",
    )

    def __init__(self, *args, invoice: Invoice, today: dt.date, **kwargs):
        kwargs.setdefault("prefix", "suppress")
        super().__init__(*args, **kwargs)
        self.invoice, self.today = invoice, today
        self.fields["contact"].queryset = _contacts(invoice)
        self.fields["until"].widget.attrs["min"] = (today + dt.timedelta(days=1)).isoformat()

    def clean_reason(self) -> str:
        return _text(self.cleaned_data["reason"])

    def clean_until(self):
        day = self.cleaned_data["until"]
        if day is None:
            return None
        if day <= self.today:
            raise forms.ValidationError("The reactivation date must be after today.")
        if (day - self.today).days > 3 * 365:
            raise forms.ValidationError("The reactivation date must be within three years.")
        zone = ZoneInfo(self.invoice.organization.time_zone)
        return dt.datetime.combine(day, dt.time(8, 0), tzinfo=zone)


class DecisionForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            ("acknowledged", "Acknowledge"),
            ("resolved", "Resolve"),
            ("dismissed", "Dismiss"),
        ]
    )
    note = forms.CharField(max_length=500, required=False)

    def clean_note(self) -> str:
        return _text(self.cleaned_data["note"])


class RuleForm(forms.Form):
    escalate_after_steps = forms.IntegerField(
        min_value=1,
        max_value=ESCALATE_AFTER_MAX,
        label="Propose an escalation after",
        help_text="unanswered cadence emails",
    )
