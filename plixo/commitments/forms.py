"""Staff forms for promises and payment plans. They check shape and bounds; the services judge
the money rules (balance, dates, one accepted plan) and say what is wrong in the same words on
the web and in the API."""

import datetime as dt
from decimal import Decimal

from django import forms

from plixo.commitments.models import Promise
from plixo.commitments.services import (
    NOTE_MAX_LENGTH,
    PLAN_MAX_INSTALLMENTS,
    PLAN_MIN_INSTALLMENTS,
    PROMISE_HORIZON_DAYS,
    plan_installments_even,
)
from plixo.core.forms import DateField
from plixo.core.money import MoneyError, parse_typed_amount, quantize
from plixo.core.text import text_problem
from plixo.ledger.models import Contact, Invoice, LedgerError, PaymentMethod

AMOUNT_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}


def _money(value, currency: str, locale: str | None = None) -> Decimal:
    """An amount as staff type it ("1,250.00", or "1.250,00" where the organization writes
    amounts that way), to the currency's minor unit."""
    try:
        amount = parse_typed_amount(str(value), currency, locale=locale)
    except MoneyError as exc:
        raise forms.ValidationError(str(exc)) from exc
    if amount <= 0:
        raise forms.ValidationError("Enter an amount more than zero.")
    return amount


def _clean_text(value: str) -> str:
    value = (value or "").strip()
    problem = text_problem(value)
    if problem:
        raise forms.ValidationError(f"This text {problem}.")
    return value


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, contact: Contact) -> str:
        name = contact.name or contact.email or "Unnamed contact"
        return f"{name} <{contact.email}>" if contact.email and contact.name else name


def _contacts(invoice: Invoice):
    return Contact.objects.filter(customer_id=invoice.customer_id).order_by(
        "-is_primary", "name", "id"
    )


class PromiseForm(forms.Form):
    """Add Promise: amount, date, the payer contact who gave their word, a note."""

    amount = forms.CharField(max_length=40, widget=forms.TextInput(attrs=AMOUNT_ATTRS))
    promised_on = DateField(label="Promised for", widget=forms.DateInput(attrs={"type": "date"}))
    contact = ContactChoiceField(queryset=Contact.objects.none(), required=False, label="Who")
    note = forms.CharField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "e.g. On the phone with Dana"}),
    )

    def __init__(self, *args, invoice: Invoice, today: dt.date, **kwargs):
        kwargs.setdefault("prefix", "promise")
        super().__init__(*args, **kwargs)
        self.invoice, self.today = invoice, today
        self.locale = invoice.organization.locale
        contacts = _contacts(invoice)
        self.fields["contact"].queryset = contacts
        self.fields["contact"].empty_label = "Not recorded"
        self.fields["amount"].help_text = f"In {invoice.currency}."
        dates = self.fields["promised_on"].widget.attrs
        dates["min"] = today.isoformat()
        dates["max"] = (today + dt.timedelta(days=PROMISE_HORIZON_DAYS)).isoformat()
        if not self.is_bound:
            self.initial.setdefault("amount", quantize(invoice.balance, invoice.currency))
            self.initial.setdefault("promised_on", today + dt.timedelta(days=7))
            primary = next((c for c in contacts if c.is_primary), None)
            if primary is not None:
                self.initial.setdefault("contact", primary.pk)

    def clean_amount(self) -> Decimal:
        return _money(self.cleaned_data["amount"], self.invoice.currency, self.locale)

    def clean_note(self) -> str:
        return _clean_text(self.cleaned_data["note"])


class ReasonForm(forms.Form):
    """A note or reason for a decision (decline, cancel, mark kept or missed)."""

    note = forms.CharField(max_length=NOTE_MAX_LENGTH, required=False)

    def __init__(self, *args, required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].required = required

    def clean_note(self) -> str:
        return _clean_text(self.cleaned_data["note"])


class PlanForm(forms.Form):
    """Create payment plan. First the terms (total, how many installments, from when, how far
    apart) which make an even schedule to review; then the schedule itself, each date and amount
    editable, which must add up to the total to the currency's minor unit."""

    total = forms.CharField(
        max_length=40, label="Plan total", widget=forms.TextInput(attrs=AMOUNT_ATTRS)
    )
    count = forms.IntegerField(
        label="Installments", min_value=PLAN_MIN_INSTALLMENTS, max_value=PLAN_MAX_INSTALLMENTS
    )
    first_on = DateField(label="First installment", widget=forms.DateInput(attrs={"type": "date"}))
    every_days = forms.IntegerField(label="Every (days)", min_value=1, max_value=92, initial=30)
    reason = forms.CharField(
        max_length=NOTE_MAX_LENGTH,
        label="Rationale",
        help_text="Approvers read it: why a plan, and why these terms.",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "e.g. Renewal pending; cash flow"}),
    )
    contact = ContactChoiceField(queryset=Contact.objects.none(), required=False, label="Payer")
    from_promise = forms.UUIDField(required=False, widget=forms.HiddenInput)
    accept_partial = forms.BooleanField(
        required=False, label="Create it although it does not cover the whole balance"
    )

    def __init__(
        self,
        *args,
        invoice: Invoice,
        today: dt.date,
        promise: Promise | None = None,
        with_rows: bool = False,
        **kwargs,
    ):
        kwargs.setdefault("prefix", "plan")
        super().__init__(*args, **kwargs)
        self.invoice, self.today, self.promise = invoice, today, promise
        self.locale = invoice.organization.locale
        self.fields["contact"].queryset = _contacts(invoice)
        self.fields["contact"].empty_label = "The customer's primary contact"
        self.fields[
            "total"
        ].help_text = (
            f"In {invoice.currency}; the balance is {quantize(invoice.balance, invoice.currency)}."
        )
        self.fields["first_on"].widget.attrs["min"] = today.isoformat()
        if not self.is_bound:
            self.initial.setdefault("total", quantize(invoice.balance, invoice.currency))
            self.initial.setdefault("count", 3)
            self.initial.setdefault("first_on", today + dt.timedelta(days=7))
            self.initial.setdefault("every_days", 30)
            if promise is not None:
                # Prefill from the selected promise: its invoice and payer, its amount as the
                # first installment on its date, the rest of the balance after it.
                self.initial.update(
                    {
                        "from_promise": promise.public_id,
                        "first_on": max(promise.promised_on, today),
                        "contact": promise.contact_id,
                        "reason": f"Follows the promise of {promise.promised_on:%b %-d, %Y}"
                        + (f": {promise.note}" if promise.note else ""),
                    }
                )
        self.row_count = 0
        if with_rows:
            count = self._count()
            self.row_count = count
            for number in range(1, count + 1):
                self.fields[f"due_{number}"] = DateField(
                    label=f"Installment {number} date",
                    widget=forms.DateInput(attrs={"type": "date"}),
                )
                self.fields[f"amount_{number}"] = forms.CharField(
                    max_length=40,
                    label=f"Installment {number} amount",
                    widget=forms.TextInput(attrs=AMOUNT_ATTRS),
                )

    def _count(self) -> int:
        raw = self.data.get(self.add_prefix("count")) if self.is_bound else None
        try:
            count = int(raw) if raw is not None else int(self.initial.get("count", 3))
        except (TypeError, ValueError):
            return 0
        return count if PLAN_MIN_INSTALLMENTS <= count <= PLAN_MAX_INSTALLMENTS else 0

    def clean_total(self) -> Decimal:
        return _money(self.cleaned_data["total"], self.invoice.currency, self.locale)

    def clean_reason(self) -> str:
        value = _clean_text(self.cleaned_data["reason"])
        if not value:
            raise forms.ValidationError("Approvers need the rationale.")
        return value

    def rows(self):
        """(date field, amount field) per installment row, for the template."""
        return [
            (self[f"due_{number}"], self[f"amount_{number}"])
            for number in range(1, self.row_count + 1)
        ]

    def even_schedule(self) -> list[tuple[dt.date, Decimal]]:
        """The even split of the cleaned terms (the schedule to review)."""
        data = self.cleaned_data
        try:
            return plan_installments_even(
                total=data["total"],
                currency=self.invoice.currency,
                count=data["count"],
                first_on=data["first_on"],
                every_days=data["every_days"],
            )
        except LedgerError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def schedule(self) -> list[tuple[dt.date, Decimal]]:
        """The reviewed schedule, from the rows; it must add up to the plan total."""
        data = self.cleaned_data
        schedule = []
        for number in range(1, self.row_count + 1):
            due_on = data.get(f"due_{number}")
            raw = self.data.get(self.add_prefix(f"amount_{number}"), "")
            try:
                amount = _money(raw, self.invoice.currency, self.locale)
            except forms.ValidationError as exc:
                self.add_error(f"amount_{number}", exc)
                continue
            if due_on is None:
                continue
            schedule.append((due_on, amount))
        if len(schedule) != self.row_count:
            raise forms.ValidationError("Every installment needs a date and an amount.")
        added = sum((amount for _, amount in schedule), Decimal("0"))
        if added != data["total"]:
            currency = self.invoice.currency
            raise forms.ValidationError(
                f"The installments add up to {quantize(added, currency)} {currency}, not the "
                f"plan total of {quantize(data['total'], currency)} {currency}."
            )
        return schedule


class InstallmentPaymentForm(forms.Form):
    """Mark paid: the payment that paid an installment, recorded on the ledger."""

    reference = forms.CharField(max_length=120, help_text="Check number or transfer id.")
    received_on = DateField(label="Received on", widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(choices=[("", "Choose…"), *PaymentMethod.choices])

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        if not self.is_bound:
            self.initial.setdefault("received_on", today)

    def clean_reference(self) -> str:
        value = _clean_text(self.cleaned_data["reference"])
        if "\n" in value or "\r" in value:
            raise forms.ValidationError("The reference must be a single line.")
        return value

    def clean_received_on(self) -> dt.date:
        day = self.cleaned_data["received_on"]
        if day > self.today:
            raise forms.ValidationError("A payment cannot be received in the future.")
        return day
