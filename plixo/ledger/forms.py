import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from plixo.core.forms import DateField
from plixo.core.models import Membership
from plixo.core.money import MoneyError, is_currency, parse_amount, quantize
from plixo.ledger.models import Customer, Invoice, InvoiceStatus, PaymentMethod
from plixo.ledger.selectors import AGING_BUCKETS, SEARCH_MIN_LENGTH, customers_visible

STATUS_FILTER_CHOICES = [
    ("", "All statuses"),
    ("open", "All open"),
    *[(value, label) for value, label in InvoiceStatus.choices if value != InvoiceStatus.OPEN],
]
OVERDUE_FILTER_CHOICES = [
    ("", "Any age"),
    ("any", "Overdue"),
    *[(bucket.key, bucket.label) for bucket in AGING_BUCKETS],
]


class InvoiceFilterForm(forms.Form):
    """The GET form above the invoice list. Unknown values are errors, never silently ignored,
    so a tampered or stale link cannot show a list that looks filtered but is not."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.SearchInput(
            attrs={"placeholder": "Number, customer, PO, description", "data-search": ""}
        ),
    )
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_FILTER_CHOICES)
    overdue = forms.ChoiceField(label="Age", required=False, choices=OVERDUE_FILTER_CHOICES)
    currency = forms.CharField(label="Currency", required=False, max_length=3)
    customer = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, membership: Membership, **kwargs):
        self.membership = membership
        super().__init__(*args, **kwargs)

    def clean_q(self) -> str:
        value = self.cleaned_data["q"].strip()
        if value and len(value) < SEARCH_MIN_LENGTH:
            raise forms.ValidationError(f"Type at least {SEARCH_MIN_LENGTH} characters to search.")
        return value

    def clean_currency(self) -> str:
        value = self.cleaned_data["currency"].strip().upper()
        if value and not is_currency(value):
            raise forms.ValidationError(f"{value} is not an ISO 4217 currency code.")
        return value

    def clean_customer(self) -> Customer | None:
        value = self.cleaned_data["customer"].strip()
        if not value:
            return None
        customer = (
            customers_visible(membership=self.membership)
            .filter(public_id__in=_uuid_or_none(value))
            .first()
        )
        if customer is None:
            raise forms.ValidationError("No such customer.")
        return customer


def _uuid_or_none(value: str) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(value)]
    except ValueError:
        return []


class PaymentFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": "Reference or customer", "data-search": ""}),
    )
    unapplied = forms.BooleanField(label="With unapplied cash only", required=False)

    def clean_q(self) -> str:
        value = self.cleaned_data["q"].strip()
        if value and len(value) < SEARCH_MIN_LENGTH:
            raise forms.ValidationError(f"Type at least {SEARCH_MIN_LENGTH} characters to search.")
        return value


CUSTOMER_SORT_CHOICES = [
    ("", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("-balance", "Largest open balance"),
    ("balance", "Smallest open balance"),
]


class CustomerFilterForm(forms.Form):
    """The GET form above the customer list. A balance sort is within one currency: the chosen
    one, or the organization's base currency."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": "Name or external id", "data-search": ""}),
    )
    currency = forms.ChoiceField(label="Open in", required=False)
    sort = forms.ChoiceField(label="Sort", required=False, choices=CUSTOMER_SORT_CHOICES)

    def __init__(self, *args, currencies: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [("", "Any currency")] + [(c, c) for c in currencies]


def _amount_in(value: Decimal, currency: str) -> Decimal:
    try:
        amount = parse_amount(value, currency)
    except MoneyError as exc:
        raise forms.ValidationError(str(exc)) from exc
    if amount <= 0:
        raise forms.ValidationError("Enter an amount greater than zero.")
    return amount


class RecordPaymentForm(forms.Form):
    reference = forms.CharField(
        max_length=120,
        help_text="Check number, transfer id or remittance reference.",
    )
    amount = forms.DecimalField(max_digits=19, decimal_places=4)
    received_on = DateField(label="Received on", widget=forms.DateInput(attrs={"type": "date"}))
    # No default: a payment recorded by hand is whatever the person saw arrive (a check, a
    # wire …); a preselected method would be recorded unread.
    method = forms.ChoiceField(choices=[("", "Choose…"), *PaymentMethod.choices])
    memo = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, invoice: Invoice, today: dt.date, **kwargs):
        self.invoice, self.today = invoice, today
        kwargs.setdefault(
            "initial", {"amount": quantize(invoice.balance, invoice.currency), "received_on": today}
        )
        kwargs.setdefault("prefix", "pay")
        super().__init__(*args, **kwargs)
        self.fields[
            "amount"
        ].help_text = (
            f"In {invoice.currency}. More than the balance is recorded; the rest stays unapplied."
        )

    def clean_amount(self) -> Decimal:
        return _amount_in(self.cleaned_data["amount"], self.invoice.currency)

    def clean_received_on(self) -> dt.date:
        day = self.cleaned_data["received_on"]
        if day > self.today:
            raise forms.ValidationError("A payment cannot be received in the future.")
        return day

    def received_at(self) -> dt.datetime:
        """Today means now; an earlier day means noon of that day in the organization's time
        zone, so the date reads the same in every zone the team works from."""
        day = self.cleaned_data["received_on"]
        if day == self.today:
            return timezone.now()
        zone = ZoneInfo(self.invoice.organization.time_zone)
        return dt.datetime.combine(day, dt.time(12, 0), tzinfo=zone)


class VoidForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Issued in error, replaced by INV-…"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "void")
        super().__init__(*args, **kwargs)


class WriteOffForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Customer insolvent, small balance"}),
    )
    amount = forms.DecimalField(
        max_digits=19,
        decimal_places=4,
        required=False,
        help_text="Leave empty to write off the whole balance.",
    )

    def __init__(self, *args, invoice: Invoice, **kwargs):
        self.invoice = invoice
        kwargs.setdefault("prefix", "writeoff")
        super().__init__(*args, **kwargs)

    def clean_amount(self) -> Decimal | None:
        value = self.cleaned_data["amount"]
        if value is None:
            return None
        return _amount_in(value, self.invoice.currency)


class RemainderPromiseForm(forms.Form):
    """PAY-4: after a partial payment, the payer's promise to pay what remains."""

    promised_on = DateField(label="Promised for", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="Note", required=False, max_length=1000)

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        if not self.is_bound:
            self.fields["promised_on"].initial = today + dt.timedelta(days=7)
        self.fields["promised_on"].widget.attrs["min"] = today.isoformat()


class RemainderDisputeForm(forms.Form):
    """PAY-4: after a partial payment, the rest is in dispute (a short payment)."""

    reason_code = forms.ChoiceField(label="Reason", choices=())
    description = forms.CharField(
        label="What the payer says", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, invoice: Invoice, **kwargs):
        from plixo.disputes.models import ReasonCode

        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = [("", "Choose a reason"), *ReasonCode.choices]
        if not self.is_bound:
            currency = invoice.currency
            paid = quantize(invoice.amount - invoice.balance, currency)
            total, left = quantize(invoice.amount, currency), quantize(invoice.balance, currency)
            self.fields[
                "description"
            ].initial = (
                f"Short payment: {paid} of {total} {currency} paid; {left} {currency} is disputed."
            )


class CustomerTeamForm(forms.Form):
    """Who follows a customer: its owner (Sales or a CSM, who then see it) and its collector
    (the A/R operator or manager whose queue holds its invoices)."""

    OWNER_ROLES = ("sales", "csm")
    COLLECTOR_ROLES = ("ar_operator", "ar_manager", "controller")

    owner = forms.ChoiceField(label="Account owner", required=False)
    collector = forms.ChoiceField(label="Collector", required=False)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        members = list(
            Membership.objects.filter(organization=organization, is_active=True)
            .select_related("user")
            .order_by("user__first_name", "user__last_name", "user__email")
        )
        self.members = {str(m.public_id): m for m in members}

        def choices(roles):
            return [("", "Nobody")] + [
                (str(m.public_id), f"{m.user.display_name} ({m.get_role_display()})")
                for m in members
                if m.role in roles
            ]

        self.fields["owner"].choices = choices(self.OWNER_ROLES)
        self.fields["collector"].choices = choices(self.COLLECTOR_ROLES)

    def user_for(self, field: str):
        membership = self.members.get(self.cleaned_data.get(field) or "")
        return membership.user if membership else None
