from decimal import Decimal

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from plixo.core.models import Membership, Role
from plixo.core.money import MoneyError, parse_amount, quantize
from plixo.core.text import date_problem


def _date_in_range(value) -> None:
    problem = date_problem(value)
    if problem:
        raise forms.ValidationError(f"The date {problem}.")


class DateField(forms.DateField):
    """A date field that refuses dates outside the product's range (`plixo.core.text`)."""

    default_validators = [_date_in_range]


class LoginForm(AuthenticationForm):
    """Django's login form; the `username` field holds the email address."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autocomplete": "email", "autofocus": True, "maxlength": 254}
        )

    def clean_username(self):
        # Addresses are stored lower-cased; people type them however they like.
        return self.cleaned_data["username"].strip().lower()


class MembershipChangeForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    approval_limit = forms.DecimalField(
        label="Approval limit",
        min_value=Decimal("0"),
        max_digits=19,
        decimal_places=4,
        help_text=(
            "Largest write-off, credit or plan this member may decide without approval, in the "
            "base currency; their role's default applies when it is higher."
        ),
    )
    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Why? Kept in the audit trail"}),
        help_text="Required: every access change keeps its reason.",
    )

    def __init__(self, *args, membership: Membership, **kwargs):
        self.membership = membership
        limit = quantize(membership.approval_limit, membership.organization.base_currency)
        kwargs.setdefault("initial", {"role": membership.role, "approval_limit": limit})
        kwargs.setdefault("auto_id", f"id_%s_{membership.public_id.hex[:12]}")
        super().__init__(*args, **kwargs)

    def clean_approval_limit(self):
        value = self.cleaned_data["approval_limit"]
        try:
            return parse_amount(value, self.membership.organization.base_currency)
        except MoneyError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self):
        cleaned = super().clean()
        role, limit = cleaned.get("role"), cleaned.get("approval_limit")
        if (
            role is not None
            and limit is not None
            and role == self.membership.role
            and limit == self.membership.approval_limit
        ):
            raise forms.ValidationError("Nothing to change: pick a new role or approval limit.")
        return cleaned
