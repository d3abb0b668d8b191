from decimal import Decimal

from django import forms

from plixo.approvals.models import COMMENT_MAX_LENGTH, ApprovalKind, ApprovalRequest, Approver
from plixo.core.models import Role


class DecisionForm(forms.Form):
    comment = forms.CharField(
        label="Comment",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "Comment (required to reject)"}),
    )


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "All"), *ApprovalRequest.Status.choices]
    )
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *ApprovalKind.choices])


_REASON = forms.CharField(
    max_length=500,
    widget=forms.TextInput(attrs={"placeholder": "Why? Kept in the audit trail"}),
)


class RoleLimitForm(forms.Form):
    role = forms.ChoiceField(choices=[(r, label) for r, label in Role.choices if r != "controller"])
    amount = forms.DecimalField(
        label="Default limit", min_value=Decimal("0"), max_digits=19, decimal_places=4
    )
    reason = _REASON


class RouteForm(forms.Form):
    kind = forms.ChoiceField(required=False, choices=[("", "Any request"), *ApprovalKind.choices])
    amount_above = forms.DecimalField(
        label="Above (base currency)",
        required=False,
        min_value=Decimal("0"),
        max_digits=19,
        decimal_places=4,
        help_text="Leave empty for any amount.",
    )
    route_to = forms.ChoiceField(label="Goes to", choices=Approver.choices)
    reason = _REASON


class RouteDeleteForm(forms.Form):
    reason = _REASON
