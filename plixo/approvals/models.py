"""Approval limits, routing rules and approval requests.

A member's approval limit is the larger of their role's default (`RoleApprovalLimit`, set by
the Controller for the organization) and their own limit (`Membership.approval_limit`, on the
Team page). Both are in the organization's base currency. A money decision above it becomes an
`ApprovalRequest`, routed by the organization's `ApprovalRoute` rules to the Controller or to
Legal; its status moves only along `APPROVAL_TRANSITIONS`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from plixo.core.ids import uuid7
from plixo.core.models import Organization, Role
from plixo.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, validate_currency_code
from plixo.ledger.models import LedgerError

RATIONALE_MAX_LENGTH = 1000
COMMENT_MAX_LENGTH = 1000


def _money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs
    )


class ApprovalKind(models.TextChoices):
    WRITE_OFF = "write_off", "Write-off"
    CREDIT = "credit", "Credit"
    PLAN = "plan", "Payment plan"


class Approver(models.TextChoices):
    """The roles a request can be routed to. The Controller may decide every request."""

    CONTROLLER = Role.CONTROLLER.value, "Controller"
    LEGAL = Role.LEGAL.value, "Legal"


class ApprovalError(LedgerError):
    """An approval rule said no; the message is meant for the user (a 400 on the API, as the
    ledger's own refusals are)."""


class ApprovalTransitionError(ApprovalError):
    def __init__(self, current: str, wanted: str):
        self.current, self.wanted = current, wanted
        super().__init__(
            f"This request is already {ApprovalRequest.Status(current).label.lower()}; it "
            f"cannot be {ApprovalRequest.Status(wanted).label.lower()}."
        )


class RoleApprovalLimit(models.Model):
    """The organization's default approval limit for everyone in one role (base currency)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="role_approval_limits"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    amount = _money_field()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "role"], name="role_approval_limit_one_per_role"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="role_approval_limit_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.amount}"


class ApprovalRoute(models.Model):
    """A routing rule: requests of `kind` (blank: any kind) above `amount_above` (base currency;
    empty: any amount) go to `route_to`. The most specific matching rule wins (a kind before
    any kind, then the highest threshold); with none, requests go to the Controller."""

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="approval_routes"
    )
    kind = models.CharField(max_length=20, choices=ApprovalKind.choices, blank=True)
    amount_above = _money_field(null=True, blank=True)
    route_to = models.CharField(max_length=20, choices=Approver.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "kind", "amount_above"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_above__isnull=True) | Q(amount_above__gte=0),
                name="approval_route_threshold_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(route_to__in=Approver.values), name="approval_route_to_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind or 'any'} above {self.amount_above} -> {self.route_to}"


class ApprovalRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="approval_requests"
    )
    kind = models.CharField(max_length=20, choices=ApprovalKind.choices)
    invoice = models.ForeignKey(
        "ledger.Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approval_requests",
    )
    # What the request is about, e.g. "invoice:<public id>" or "plan:<public id>": one target
    # has at most one pending request of a kind.
    target_key = models.CharField(max_length=100)
    amount = _money_field()
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    # The amount in the organization's base currency, when a rate was there to convert it.
    amount_in_base = _money_field(null=True, blank=True)
    rationale = models.TextField()
    guardrail = models.CharField(max_length=300)
    routed_to = models.CharField(max_length=20, choices=Approver.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    # What the owning app needs to carry the action out on approval (amount, reason, …).
    params = models.JSONField(default=dict, blank=True)
    # What carrying it out produced (ids of the rows written), for the record.
    outcome = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "target_key"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_target_and_kind",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="approval_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "rejected", "cancelled"]),
                name="approval_status_known",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="approval_decided_at_iff_decided",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-created_at"], name="approval_status"),
            models.Index(
                fields=["organization", "routed_to", "status", "-created_at"],
                name="approval_routed",
            ),
            models.Index(
                fields=["organization", "requested_by", "-created_at"], name="approval_requester"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.amount} {self.currency} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def turnaround(self):
        if self.decided_at is None:
            return None
        return self.decided_at - self.created_at

    def check_transition(self, wanted: str) -> None:
        if wanted not in APPROVAL_TRANSITIONS[self.status]:
            raise ApprovalTransitionError(self.status, wanted)


S = ApprovalRequest.Status
APPROVAL_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
}
del S
