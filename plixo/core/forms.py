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


class InviteForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "name@company.com"}),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AR_OPERATOR)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class TemporaryRoleForm(forms.Form):
    """A temporary role until a date and time in the organization's time zone (the view
    activates it, so the typed time is read there)."""

    role = forms.ChoiceField(choices=Role.choices, label="Temporary role")
    until = forms.DateTimeField(
        label="Until",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="At most 90 days ahead; the lasting role comes back then.",
    )
    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Why? Kept in the audit trail"}),
    )

    def __init__(self, *args, membership: Membership, **kwargs):
        self.membership = membership
        kwargs.setdefault("auto_id", f"id_tmp_%s_{membership.public_id.hex[:12]}")
        super().__init__(*args, **kwargs)
        lasting = membership.lasting_role
        self.fields["role"].choices = [(v, label) for v, label in Role.choices if v != lasting]


class AccessReasonForm(forms.Form):
    """Deactivate, reactivate or end a temporary role: the reason is optional."""

    reason = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Why? (optional)"}),
    )


class InvitationAcceptForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150)
    password = forms.CharField(
        label="Choose a password",
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label="Password again",
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password"), cleaned.get("password_again")
        if first and second and first != second:
            self.add_error("password_again", "The two passwords differ.")
        return cleaned
