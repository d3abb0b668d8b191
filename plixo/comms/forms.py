"""Forms of the cadence editor, the segment rules and the sending settings. They check what a
browser can get wrong (numbers, lengths, merge fields, addresses) so the person sees the error
beside the field; the services check everything again and have the last word."""

from django import forms
from django.core.exceptions import ValidationError

from plixo.comms.merge import MergeFieldError, template_fields
from plixo.comms.models import (
    BODY_MAX,
    STEP_OFFSET_MAX,
    STEP_OFFSET_MIN,
    SUBJECT_MAX,
    Cadence,
    Tone,
)
from plixo.comms.services.cadences import MAX_STEPS
from plixo.comms.services.settings import CAP_MAX, CAP_MIN, FROM_NAME_MAX
from plixo.core.models import Organization
from plixo.core.money import MoneyError, is_currency, parse_amount
from plixo.core.text import text_problem


def _text_ok(value: str, *, single_line: bool = False) -> str:
    problem = text_problem(value or "", single_line=single_line)
    if problem:
        raise ValidationError(f"This {problem}.")
    return value


# --- cadences --------------------------------------------------------------------------------


class CadenceForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    description = forms.CharField(
        label="Description",
        max_length=500,
        required=False,
        help_text="Who this cadence is for, in a sentence.",
    )
    requires_approval = forms.BooleanField(
        label="Drafts wait for approval",
        required=False,
        help_text=(
            "On: each email is written as a draft that an operator reviews and approves before "
            "it goes out. Off: emails are sent automatically when their day comes, within the "
            "send window and caps."
        ),
    )
    is_default = forms.BooleanField(
        label="Default cadence",
        required=False,
        help_text="Chases every invoice that no segment rule assigns. There is always exactly one.",
    )
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        help_text=(
            "Off: the cadence takes no new invoices, and the invoices in it move to the "
            "cadence the segment rules or the default give them."
        ),
    )

    def __init__(self, *args, cadence: Cadence | None = None, **kwargs):
        self.cadence = cadence
        super().__init__(*args, **kwargs)
        if cadence is None:
            del self.fields["is_active"]  # a new cadence starts active
        if cadence is not None and cadence.is_default:
            # The default changes by making another cadence the default, never by unticking.
            field = self.fields["is_default"]
            field.disabled = True
            field.help_text = (
                "This is the default cadence. To change that, make another cadence the default."
            )

    def clean_name(self):
        return _text_ok(self.cleaned_data["name"], single_line=True).strip()

    def clean_description(self):
        return _text_ok(self.cleaned_data["description"], single_line=True).strip()


class StepForm(forms.Form):
    offset_days = forms.IntegerField(
        label="Day",
        min_value=STEP_OFFSET_MIN,
        max_value=STEP_OFFSET_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    tone = forms.ChoiceField(label="Tone", choices=Tone.choices, initial=Tone.FRIENDLY)
    subject = forms.CharField(label="Subject", max_length=SUBJECT_MAX)
    body = forms.CharField(
        label="Body", max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 10})
    )

    def __init__(self, *args, new_step_tone: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if new_step_tone and not self.initial:
            # A step added to a cadence usually goes on in the tone of the one before it.
            self.fields["tone"].initial = new_step_tone

    def has_changed(self) -> bool:
        # An added row holds a step only once its day, subject or body is filled: a tone
        # chosen on an otherwise empty row is not a step.
        if self.initial:
            return super().has_changed()
        return any(name != "tone" for name in self.changed_data)

    def _merge_checked(self, field: str, *, single_line: bool) -> str:
        value = _text_ok(self.cleaned_data[field], single_line=single_line)
        try:
            template_fields(value)
        except MergeFieldError as exc:
            raise ValidationError(str(exc)) from None
        return value

    def clean_subject(self):
        return self._merge_checked("subject", single_line=True)

    def clean_body(self):
        return self._merge_checked("body", single_line=False)


class BaseStepFormSet(forms.BaseFormSet):
    def __init__(self, *args, new_step_tone: str | None = None, **kwargs):
        self.new_step_tone = new_step_tone
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if index is None or index >= self.initial_form_count():
            kwargs["new_step_tone"] = self.new_step_tone
        return kwargs

    def clean(self):
        if any(self.errors):
            return
        offsets = [form.cleaned_data["offset_days"] for form in self.step_forms()]
        if not offsets:
            raise ValidationError("A cadence needs at least one step.")
        duplicates = sorted({o for o in offsets if offsets.count(o) > 1})
        if duplicates:
            days = ", ".join(f"{o:+d}" for o in duplicates)
            raise ValidationError(f"Two steps fall on the same day ({days}).")

    def step_forms(self) -> list[StepForm]:
        """Filled rows not marked for removal, in the order shown."""
        return [
            form
            for form in self.forms
            if form.has_changed() or form.initial
            if not self._should_delete_form(form) and getattr(form, "cleaned_data", None)
        ]


StepFormSet = forms.formset_factory(
    StepForm,
    formset=BaseStepFormSet,
    extra=2,
    can_delete=True,
    max_num=MAX_STEPS,
    validate_max=True,
    absolute_max=MAX_STEPS + 10,
)


# --- segment rules ---------------------------------------------------------------------------


class CadenceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Cadence) -> str:
        extras = []
        if obj.is_default:
            extras.append("default")
        if not obj.is_active:
            extras.append("inactive")
        return f"{obj.name} ({', '.join(extras)})" if extras else obj.name


class SegmentRuleForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    cadence = CadenceChoiceField(
        label="Cadence", queryset=Cadence.objects.none(), to_field_name="public_id"
    )
    priority = forms.IntegerField(
        label="Priority",
        min_value=0,
        max_value=10000,
        required=False,
        help_text="Rules are tried from the lowest number up; the first that matches wins. "
        "Empty: after the last rule.",
    )
    segment = forms.CharField(
        label="Customer segment",
        max_length=60,
        required=False,
        help_text="As on the customer, e.g. enterprise (case does not matter).",
    )
    currency = forms.CharField(
        label="Currency",
        max_length=3,
        required=False,
        help_text="Only invoices in this currency match. Needed for an amount condition.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 4}),
    )
    min_amount = forms.CharField(
        label="Balance from",
        max_length=30,
        required=False,
        help_text="Open balance, digits only, e.g. 10000.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    max_amount = forms.CharField(
        label="Balance up to",
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    min_days_overdue = forms.IntegerField(
        label="Days overdue from", min_value=-3650, max_value=3650, required=False
    )
    max_days_overdue = forms.IntegerField(
        label="Days overdue up to", min_value=-3650, max_value=3650, required=False
    )
    min_risk = forms.IntegerField(label="Risk from", min_value=0, max_value=100, required=False)
    max_risk = forms.IntegerField(label="Risk up to", min_value=0, max_value=100, required=False)

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cadence"].queryset = Cadence.objects.filter(
            organization=organization
        ).order_by("-is_default", "name")

    def clean_name(self):
        return _text_ok(self.cleaned_data["name"], single_line=True).strip()

    def clean_segment(self):
        return _text_ok(self.cleaned_data["segment"], single_line=True).strip()

    def clean_currency(self):
        code = self.cleaned_data["currency"].strip().upper()
        if code and not is_currency(code):
            raise ValidationError(f"{code} is not an ISO 4217 currency code such as USD or EUR.")
        return code

    def clean(self):
        data = super().clean()
        currency = data.get("currency", "")
        for field in ("min_amount", "max_amount"):
            raw = (data.get(field) or "").strip()
            if not raw:
                data[field] = None
                continue
            if not currency:
                if "currency" not in self.errors:
                    self.add_error(
                        "currency",
                        "An amount condition needs a currency: amounts in different currencies "
                        "are never compared.",
                    )
                data[field] = None
                continue
            try:
                amount = parse_amount(raw, currency)
            except MoneyError as exc:
                self.add_error(field, str(exc))
                continue
            if amount < 0:
                self.add_error(field, "The amount cannot be negative.")
                continue
            data[field] = amount
        for low, high, what in (
            ("min_amount", "max_amount", "amount"),
            ("min_days_overdue", "max_days_overdue", "days overdue"),
            ("min_risk", "max_risk", "risk"),
        ):
            a, b = data.get(low), data.get(high)
            if a is not None and b is not None and a > b and low not in self.errors:
                self.add_error(high, f"The {what} up to is below the {what} from.")
        return data

    def rule_fields(self) -> dict:
        data = self.cleaned_data
        return {
            key: data[key]
            for key in (
                "name",
                "priority",
                "segment",
                "currency",
                "min_amount",
                "max_amount",
                "min_days_overdue",
                "max_days_overdue",
                "min_risk",
                "max_risk",
            )
        }


# --- sending settings ------------------------------------------------------------------------


def _cap_field(label: str, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=CAP_MIN,
        max_value=CAP_MAX,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


TIME_ERROR = "Enter a time on the 24-hour clock, such as 08:00 or 17:30."


def _time_field(label: str) -> forms.TimeField:
    # A text box, not <input type="time">: browsers show that one in the reader's locale
    # ("08:00 AM" in the United States), while the window is set and shown on a 24-hour clock.
    return forms.TimeField(
        label=label,
        input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={"invalid": TIME_ERROR},
        help_text="24-hour clock, e.g. 08:00 or 17:30.",
        widget=forms.TimeInput(
            format="%H:%M",
            attrs={
                "pattern": "[0-2][0-9]:[0-5][0-9]",
                "placeholder": "08:00",
                "maxlength": 8,
                "autocomplete": "off",
                "spellcheck": "false",
                "class": "time-input",
            },
        ),
    )


class SendingSettingsForm(forms.Form):
    quiet_hours_start = _time_field("Sending starts at")
    quiet_hours_end = _time_field("Sending stops at")
    send_on_weekends = forms.BooleanField(label="Send on Saturdays and Sundays", required=False)
    skip_holidays = forms.BooleanField(
        label="Skip the payer's public holidays",
        required=False,
        help_text="No email on a public holiday of the payer's country.",
    )
    daily_cap = _cap_field(
        "Daily cap", "At most this many emails a day for the organization; the rest wait."
    )
    operator_daily_cap = _cap_field(
        "Daily cap per operator", "At most this many emails a day approved by one operator."
    )
    warmup_enabled = forms.BooleanField(label="Warm up a new sending domain", required=False)
    warmup_first_day_cap = _cap_field(
        "First-day cap",
        "A new sending domain sends at most this many emails on its first day; the cap doubles "
        "each day until it reaches the daily cap.",
    )
    from_name = forms.CharField(label="Sender name", max_length=FROM_NAME_MAX, required=False)
    from_email = forms.EmailField(
        label="Sender address",
        required=False,
        help_text="Empty: the installation's default sender address.",
    )
    reply_to = forms.EmailField(
        label="Reply-to address", required=False, help_text="Where payers' replies go."
    )
    test_address = forms.EmailField(
        label="Test address",
        required=False,
        help_text="In test mode every email goes here instead of to the payer, marked as a test.",
    )

    def clean_from_name(self):
        return _text_ok(self.cleaned_data["from_name"], single_line=True).strip()

    def clean(self):
        data = super().clean()
        start, end = data.get("quiet_hours_start"), data.get("quiet_hours_end")
        if start is not None and end is not None and start == end:
            self.add_error("quiet_hours_end", "Sending cannot start and stop at the same time.")
        return data


class LiveModeForm(forms.Form):
    live = forms.TypedChoiceField(
        choices=[("1", "Live"), ("0", "Test mode")],
        coerce=lambda value: value == "1",
        widget=forms.HiddenInput,
    )
    confirm = forms.BooleanField(
        label="I understand that emails will go to payers' real addresses from now on.",
        required=False,
    )

    def __init__(self, *args, queued: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        if queued:
            emails = f"{queued:,} email{'s' if queued != 1 else ''}"
            self.fields["confirm"].label = (
                "I understand that emails will go to payers' real addresses from now on, "
                f"starting with the {emails} queued now."
            )

    def clean(self):
        data = super().clean()
        if data.get("live") is True and not data.get("confirm"):
            self.add_error("confirm", "Tick the box to confirm that email goes to payers.")
        return data


class OperatorWindowForm(forms.Form):
    """One operator's own send window; the same 24-hour text fields as the organization's."""

    start = _time_field("Starts at")
    end = _time_field("Stops at")
