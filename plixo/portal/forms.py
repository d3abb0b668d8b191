"""Payer forms. They check what a payer can fix on the spot (required fields, numbers, dates,
files); the domain services decide the rest and their messages come back inline."""

import datetime as dt
import secrets
from decimal import Decimal

from django import forms

from plixo.core.forms import DateField
from plixo.core.money import (
    MoneyError,
    currency_digits,
    decimal_symbol,
    parse_typed_amount,
    quantize,
)
from plixo.core.templatetags.plixo import money_text

MAX_ATTACHMENTS = 5
PLAN_MIN, PLAN_MAX = 2, 24


class AmountField(forms.CharField):
    """Money typed by a person in the invoice's currency, read in the payer's locale: "1,50"
    is one and a half in Germany, "1,250.50" a thousand in the US; what could be read both
    ways is refused (see `parse_typed_amount`). The page shows the amount as it will be
    recorded while the payer types (portal.js, from the data attributes)."""

    def __init__(self, *, currency: str, locale: str | None = None, **kwargs):
        self.currency, self.locale = currency, locale
        attrs = {
            "inputmode": "decimal",
            "data-amount-preview": "",
            "data-currency": currency,
            "data-digits": str(currency_digits(currency)),
            "data-decimal": decimal_symbol(locale) or "",
        }
        kwargs.setdefault("widget", forms.TextInput(attrs=attrs))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return None
        try:
            amount = parse_typed_amount(value, self.currency, locale=self.locale)
        except MoneyError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if amount <= 0:
            raise forms.ValidationError("Enter an amount greater than zero.")
        return amount


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class InvoiceForm(forms.Form):
    """A form about one invoice: amounts in its currency, capped at its balance."""

    def __init__(self, *args, invoice, today: dt.date, locale: str | None = None, **kwargs):
        self.invoice, self.today, self.locale = invoice, today, locale
        super().__init__(*args, **kwargs)

    @property
    def balance_text(self) -> str:
        """The balance as a person types it: "1250.00", "1250" for JPY."""
        return str(quantize(self.invoice.balance, self.invoice.currency))

    def _amount_field(self, label: str, **kwargs) -> AmountField:
        return AmountField(
            currency=self.invoice.currency, locale=self.locale, label=label, **kwargs
        )

    def clean_amount(self):
        amount = self.cleaned_data.get("amount")
        if amount is not None and amount > self.invoice.balance:
            raise forms.ValidationError(
                "That is more than the balance due "
                f"({money_text(self.invoice.balance, self.invoice.currency, self.locale)})."
            )
        return amount


def new_attempt() -> str:
    return secrets.token_urlsafe(18)


def _attempt_valid(value: str) -> None:
    if value and not all(c.isalnum() or c in "-_" for c in value):
        raise forms.ValidationError("The form was changed; reload the page and try again.")


class PayForm(InvoiceForm):
    # One nonce per rendering of the form: the same form posted twice (a double click, a
    # browser retry) opens one checkout and one provider session.
    attempt = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput, validators=[_attempt_valid]
    )

    def __init__(self, *args, installment=None, **kwargs):
        """`installment`: the next installment of the invoice's accepted payment plan
        (`commitments.selectors.NextInstallment`), which the payer may pay on its own even
        where partial payments are off."""
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["attempt"].initial = new_attempt()
        partial = self.invoice.organization.allow_partial_payments
        self.partial_allowed = partial
        self.installment = installment
        help_text = (
            "Pay the full balance or part of it."
            if partial
            else "The full balance is due in one payment."
        )
        initial = self.balance_text
        if installment is not None:
            owed = money_text(installment.owed, self.invoice.currency, self.locale)
            due = installment.installment.due_on
            initial = str(quantize(installment.owed, self.invoice.currency))
            help_text = (
                f"Installment {installment.installment.sequence} of your payment plan: {owed}, "
                f"due {due.day} {due:%B %Y}. You can also pay the full balance."
            )
        self.fields["amount"] = self._amount_field(
            "Amount to pay", initial=initial, help_text=help_text
        )
        if not partial and installment is None:
            self.fields["amount"].widget.attrs["readonly"] = True

    def clean_amount(self):
        amount = super().clean_amount()
        if amount is None or self.partial_allowed or amount == self.invoice.balance:
            return amount
        if self.installment is not None:
            if amount != self.installment.owed:
                owed = money_text(self.installment.owed, self.invoice.currency, self.locale)
                raise forms.ValidationError(
                    f"Please pay the installment due ({owed}) or the full balance."
                )
            return amount
        raise forms.ValidationError("Please pay the full balance.")


class PromiseForm(InvoiceForm):
    promised_on = DateField(label="I will pay on", widget=DateInput())
    note = forms.CharField(
        label="Note", required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"] = self._amount_field("Amount", initial=self.balance_text)
        self.order_fields(["promised_on", "amount", "note"])
        self.fields["promised_on"].widget.attrs["min"] = self.today.isoformat()

    def clean_promised_on(self):
        value = self.cleaned_data["promised_on"]
        if value < self.today:
            raise forms.ValidationError("Choose today or a later date.")
        return value


class PlanForm(InvoiceForm):
    """A plan in two steps without JavaScript: the count and first date lay out the rows
    (split evenly), then the payer can adjust each row's date and amount."""

    count = forms.TypedChoiceField(
        label="Number of installments",
        coerce=int,
        choices=[(n, str(n)) for n in range(PLAN_MIN, PLAN_MAX + 1)],
        initial=3,
    )
    first_on = DateField(label="First payment on", widget=DateInput())
    reason = forms.CharField(
        label="Why do you need a plan?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, rows: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_on"].widget.attrs["min"] = self.today.isoformat()
        self.row_count = rows
        for i in range(rows):
            self.fields[f"due_{i}"] = DateField(label=f"Payment {i + 1} date", widget=DateInput())
            self.fields[f"amount_{i}"] = self._amount_field(f"Payment {i + 1} amount")

    @property
    def rows(self):
        return [(self[f"due_{i}"], self[f"amount_{i}"]) for i in range(self.row_count)]

    def clean_first_on(self):
        value = self.cleaned_data["first_on"]
        if value < self.today:
            raise forms.ValidationError("Choose today or a later date.")
        return value

    def installments(self) -> list[tuple[dt.date, Decimal]]:
        return [
            (self.cleaned_data[f"due_{i}"], self.cleaned_data[f"amount_{i}"])
            for i in range(self.row_count)
        ]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class DisputeForm(InvoiceForm):
    reason_code = forms.ChoiceField(label="What is wrong?")
    description = forms.CharField(
        label="Tell us more",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    attachments = MultipleFileField(
        label="Supporting documents",
        required=False,
        help_text="Up to 5 files, 10 MB each: PDF, PNG, JPEG, CSV, XLSX or DOCX.",
    )

    def __init__(self, *args, reason_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = [("", "Choose a reason"), *reason_choices]
        self.fields["amount"] = self._amount_field("Disputed amount", initial=self.balance_text)
        self.order_fields(["reason_code", "amount", "description", "attachments"])

    def clean_attachments(self):
        from plixo.disputes.services import attachment_validate
        from plixo.ledger.models import LedgerError

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


class RenewForm(forms.Form):
    token = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
