"""Staff forms for disputes. They check shape and bounds; the services judge the rules (balance,
status, approval limits) and say what is wrong in the same words on the web and in the API."""

import datetime as dt
import zoneinfo
from decimal import Decimal

from django import forms

from plixo.core.forms import DateField
from plixo.core.models import Role
from plixo.core.money import MoneyError, is_currency, parse_typed_amount
from plixo.core.text import text_problem
from plixo.disputes.attachments import ALLOWED_TEXT, MAX_ATTACHMENTS
from plixo.disputes.business_hours import WEEKDAYS
from plixo.disputes.models import (
    MAX_TARGET_HOURS,
    ROUTABLE_TEAMS,
    DisputeSettings,
    ReasonCode,
)
from plixo.disputes.selectors import QUEUE_DUE, QUEUE_SORTS, QUEUE_STATUSES
from plixo.disputes.workflow import NOTE_MAX_LENGTH, OUTCOMES, team_label
from plixo.ledger.models import LedgerError
from plixo.portal.forms import MultipleFileField

AMOUNT_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}
DESCRIPTION_MAX = 5000
TEAM_CHOICES = [(team.value, team_label(team.value)) for team in ROUTABLE_TEAMS]


def _money(value, currency: str, locale: str | None = None) -> Decimal:
    try:
        amount = parse_typed_amount(str(value), currency, locale=locale)
    except MoneyError as exc:
        raise forms.ValidationError(str(exc)) from exc
    if amount <= 0:
        raise forms.ValidationError("Enter an amount more than zero.")
    return amount


def _text(value: str, *, single_line: bool = False) -> str:
    value = (value or "").strip()
    if problem := text_problem(value, single_line=single_line):
        raise forms.ValidationError(f"This text {problem}.")
    return value


class DisputeLogForm(forms.Form):
    """Log a dispute from the invoice, as the payer would in the portal."""

    reason_code = forms.ChoiceField(
        label="Reason", choices=[("", "Choose a reason"), *ReasonCode.choices]
    )
    amount = forms.CharField(
        label="Disputed amount", max_length=40, widget=forms.TextInput(attrs=AMOUNT_ATTRS)
    )
    description = forms.CharField(
        label="What the payer says is wrong",
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    attachments = MultipleFileField(
        label="Evidence",
        required=False,
        help_text=f"Up to {MAX_ATTACHMENTS} files, 10 MB each: {ALLOWED_TEXT}.",
    )

    def __init__(self, *args, invoice, locale: str | None = None, **kwargs):
        self.invoice, self.locale = invoice, locale
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["amount"].initial = f"{invoice.balance:.{_digits(invoice.currency)}f}"
        self.fields["amount"].help_text = (
            f"In {invoice.currency}, at most the balance; the whole balance unless only part "
            "is disputed."
        )

    def clean_amount(self):
        amount = _money(self.cleaned_data["amount"], self.invoice.currency, self.locale)
        if amount > self.invoice.balance:
            raise forms.ValidationError("That is more than the invoice's balance.")
        return amount

    def clean_description(self):
        value = _text(self.cleaned_data["description"])
        if not value:
            raise forms.ValidationError("Describe what is wrong with the invoice.")
        return value

    def clean_attachments(self):
        from plixo.disputes.services import attachment_validate

        files = self.cleaned_data.get("attachments") or []
        if len(files) > MAX_ATTACHMENTS:
            raise forms.ValidationError(
                f"Attach at most {MAX_ATTACHMENTS} files ({len(files)} were chosen)."
            )
        problems = []
        for upload in files:
            try:
                attachment_validate(upload)
            except LedgerError as exc:
                problems.append(str(exc))
        if problems:
            raise forms.ValidationError(problems)
        return files


def _digits(currency: str) -> int:
    from plixo.core.money import currency_digits

    return currency_digits(currency)


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(choices=list(QUEUE_STATUSES.items()), required=False)
    reason = forms.ChoiceField(choices=[("", "Any reason"), *ReasonCode.choices], required=False)
    assignee = forms.CharField(required=False, max_length=40)
    team = forms.ChoiceField(choices=[("", "Any team"), *TEAM_CHOICES], required=False)
    due = forms.ChoiceField(choices=list(QUEUE_DUE.items()), required=False)
    sort = forms.ChoiceField(
        choices=[(key, label) for key, (label, _) in QUEUE_SORTS.items()], required=False
    )

    def clean_assignee(self):
        import uuid

        value = (self.cleaned_data.get("assignee") or "").strip()
        if value in ("", "mine", "unassigned"):
            return value
        try:
            return str(uuid.UUID(value))
        except ValueError as exc:
            raise forms.ValidationError("Choose an assignee from the list.") from exc


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label="Assign to", required=False)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {str(m.user.public_id): m.user for m in members}
        self.fields["assignee"].choices = [
            ("", "Nobody (unassigned)"),
            *[(str(m.user.public_id), f"{m.user} · {m.get_role_display()}") for m in members],
        ]

    def clean_assignee(self):
        value = self.cleaned_data.get("assignee") or ""
        return self.members.get(value) if value else None


class RouteForm(forms.Form):
    team = forms.ChoiceField(label="Route to", choices=TEAM_CHOICES)


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Resolution",
        choices=[
            ("credit", "Credit the invoice (credit note)"),
            ("write_off", "Write off"),
            ("reject", "Reject — back to the cadence"),
        ],
        widget=forms.RadioSelect,
    )
    amount = forms.CharField(
        label="Amount",
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs=AMOUNT_ATTRS),
        help_text="Credit or write-off only; the disputed amount when left empty.",
    )
    note = forms.CharField(
        label="Resolution note",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept on the invoice's timeline.",
    )

    def __init__(self, *args, dispute, outcomes=None, locale: str | None = None, **kwargs):
        self.dispute, self.locale = dispute, locale
        super().__init__(*args, **kwargs)
        if outcomes is not None:
            self.fields["outcome"].choices = [
                (key, label) for key, label in self.fields["outcome"].choices if key in outcomes
            ]

    def clean_amount(self):
        value = (self.cleaned_data.get("amount") or "").strip()
        if not value:
            return None
        return _money(value, self.dispute.currency, self.locale)

    def clean_note(self):
        value = _text(self.cleaned_data["note"])
        if not value:
            raise forms.ValidationError("Say how the dispute was settled.")
        return value

    def clean(self):
        data = super().clean()
        if data.get("outcome") not in OUTCOMES:
            return data
        if data.get("outcome") == "reject":
            data["amount"] = None
        return data


# --- settings ---------------------------------------------------------------------------------

_TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class DisputeSettingsForm(forms.Form):
    default_target_hours = forms.IntegerField(
        label="Default SLA target (business hours)", min_value=1, max_value=MAX_TARGET_HOURS
    )
    due_soon_hours = forms.IntegerField(
        label="Warn when due within (business hours)", min_value=1, max_value=MAX_TARGET_HOURS
    )
    time_zone = forms.CharField(
        label="Time zone",
        required=False,
        max_length=64,
        help_text="Empty: the organization's time zone.",
    )

    def __init__(self, *args, settings: DisputeSettings, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = settings
        for code, label in ReasonCode.choices:
            self.fields[f"target_{code}"] = forms.IntegerField(
                label=label,
                required=False,
                min_value=1,
                max_value=MAX_TARGET_HOURS,
                help_text="Empty: the default target.",
            )
        for day, name in enumerate(WEEKDAYS):
            self.fields[f"day_{day}_open"] = forms.BooleanField(label=name, required=False)
            self.fields[f"day_{day}_start"] = forms.TimeField(
                label=f"{name} from", required=False, widget=_TIME
            )
            self.fields[f"day_{day}_end"] = forms.TimeField(
                label=f"{name} to", required=False, widget=_TIME
            )
        if not self.is_bound:
            self.initial.update(self._initial_from(settings))

    @staticmethod
    def _initial_from(settings: DisputeSettings) -> dict:
        initial = {
            "default_target_hours": settings.default_target_hours,
            "due_soon_hours": settings.due_soon_hours,
            "time_zone": settings.time_zone,
        }
        for code in ReasonCode.values:
            initial[f"target_{code}"] = (settings.reason_targets or {}).get(code)
        for day, window in settings.window_times().items():
            initial[f"day_{day}_open"] = window is not None
            initial[f"day_{day}_start"] = window[0] if window else dt.time(9)
            initial[f"day_{day}_end"] = window[1] if window else dt.time(17)
        return initial

    def clean_time_zone(self):
        value = (self.cleaned_data.get("time_zone") or "").strip()
        if value and value not in zoneinfo.available_timezones():
            raise forms.ValidationError(
                f"{value!r} is not an IANA time zone such as Europe/Berlin."
            )
        return value

    def clean(self):
        data = super().clean()
        hours = {}
        for day, name in enumerate(WEEKDAYS):
            if not data.get(f"day_{day}_open"):
                hours[day] = None
                continue
            start, end = data.get(f"day_{day}_start"), data.get(f"day_{day}_end")
            if start is None or end is None:
                self.add_error(f"day_{day}_start", f"Give {name}'s opening and closing times.")
                continue
            hours[day] = (start, end)
        if len(hours) == 7 and not any(hours.values()):
            raise forms.ValidationError("Open at least one weekday: SLA hours run only then.")
        data["business_hours"] = hours
        data["reason_targets"] = {code: data.get(f"target_{code}") for code in ReasonCode.values}
        return data

    def day_rows(self):
        return [
            (
                name,
                self[f"day_{day}_open"],
                self[f"day_{day}_start"],
                self[f"day_{day}_end"],
            )
            for day, name in enumerate(WEEKDAYS)
        ]

    def target_rows(self):
        return [self[f"target_{code}"] for code in ReasonCode.values]


class HolidayForm(forms.Form):
    day = DateField(label="Date")
    name = forms.CharField(label="Name", max_length=100)

    def clean_name(self):
        value = _text(self.cleaned_data["name"], single_line=True)
        if not value:
            raise forms.ValidationError("Name the holiday.")
        return value


class RoutingRuleForm(forms.Form):
    reason_code = forms.ChoiceField(
        label="When the reason is",
        choices=[("", "Any reason"), *ReasonCode.choices],
        required=False,
    )
    amount_at_least = forms.CharField(
        label="Or the amount is at least",
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs=AMOUNT_ATTRS),
    )
    currency = forms.CharField(label="Currency", required=False, max_length=3)
    route_to = forms.ChoiceField(label="Route to", choices=TEAM_CHOICES)
    assignee = forms.ChoiceField(label="And assign", required=False)

    def __init__(self, *args, members, locale: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale = locale
        self.members = {str(m.user.public_id): m.user for m in members}
        self.fields["assignee"].choices = [
            ("", "Nobody"),
            *[(str(m.user.public_id), f"{m.user} · {m.get_role_display()}") for m in members],
        ]

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean_assignee(self):
        value = self.cleaned_data.get("assignee") or ""
        return self.members.get(value) if value else None

    def clean(self):
        data = super().clean()
        raw = (data.get("amount_at_least") or "").strip()
        currency = data.get("currency") or ""
        if raw:
            if not is_currency(currency):
                self.add_error("currency", "Give the threshold's currency, e.g. USD.")
            else:
                try:
                    data["amount_at_least"] = _money(raw, currency, self.locale)
                except forms.ValidationError as exc:
                    self.add_error("amount_at_least", exc)
        else:
            data["amount_at_least"] = None
        if not data.get("reason_code") and not raw:
            raise forms.ValidationError("A rule needs a reason, an amount threshold, or both.")
        return data


ROLE_LABELS = dict(Role.choices)
