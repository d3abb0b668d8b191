import datetime as dt
import uuid
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from plixo.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, validate_currency_code


class Role(models.TextChoices):
    CONTROLLER = "controller", "Controller"
    AR_MANAGER = "ar_manager", "A/R Manager"
    AR_OPERATOR = "ar_operator", "A/R Operator"
    BILLING_ADMIN = "billing_admin", "Billing Admin"
    SALES = "sales", "Sales"
    CSM = "csm", "CSM"
    LEGAL = "legal", "Legal"


# The short names used in logins such as operator@demo.plixo.test.
ROLE_SHORT_NAMES = {
    Role.CONTROLLER: "controller",
    Role.AR_MANAGER: "manager",
    Role.AR_OPERATOR: "operator",
    Role.BILLING_ADMIN: "billing",
    Role.SALES: "sales",
    Role.CSM: "csm",
    Role.LEGAL: "legal",
}


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an email address; access comes from their memberships."""

    username = None
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone such as Europe/Berlin.")


class Organization(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    base_currency = models.CharField(
        max_length=3, default="USD", validators=[validate_currency_code]
    )
    locale = models.CharField(max_length=16, default="en_US")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    quiet_hours_start = models.TimeField(default="08:00")
    quiet_hours_end = models.TimeField(default="18:00")
    is_live = models.BooleanField(
        default=False,
        help_text="Until the organization goes live, outgoing email is held in test mode.",
    )
    allow_partial_payments = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    approval_limit = models.DecimalField(
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        default=Decimal("0"),
        help_text="Largest plan or credit this member may approve, in the base currency.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A temporary role: `role` holds it until `temporary_until`, when the revert job puts
    # `role_after` back. Both empty when the role is lasting.
    temporary_until = models.DateTimeField(null=True, blank=True, db_index=True)
    role_after = models.CharField(max_length=20, choices=Role.choices, blank=True)
    temporary_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_one_per_user_and_org"
            ),
            models.CheckConstraint(
                condition=Q(approval_limit__gte=0), name="membership_approval_limit_non_negative"
            ),
            models.CheckConstraint(
                condition=(Q(temporary_until__isnull=True) & Q(role_after=""))
                | (Q(temporary_until__isnull=False) & ~Q(role_after="")),
                name="membership_temporary_role_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} as {self.get_role_display()}"

    @property
    def is_temporary(self) -> bool:
        return self.temporary_until is not None

    @property
    def lasting_role(self) -> str:
        """The role the member keeps once any temporary role ends."""
        return self.role_after or self.role


INVITATION_LIFETIME = dt.timedelta(days=7)


def invitation_default_expiry() -> dt.datetime:
    return timezone.now() + INVITATION_LIFETIME


class Invitation(models.Model):
    """An invitation to join an organization with a role. The link's token is never stored:
    only its SHA-256, so a copy of the database cannot be used to join."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        EXPIRED = "expired", "Expired"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=invitation_default_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Inviting an address again replaces its open invitation (the old link stops).
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(revoked_at__isnull=True),
                name="invitation_not_accepted_and_revoked",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"

    def state_at(self, now) -> "Invitation.State":
        if self.accepted_at is not None:
            return self.State.ACCEPTED
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= now:
            return self.State.EXPIRED
        return self.State.PENDING


class AuditEvent(models.Model):
    """Who changed access, when, what it was before and after, and why."""

    class Action(models.TextChoices):
        MEMBER_ADDED = "member_added", "Member added"
        ROLE_CHANGED = "role_changed", "Role changed"
        LIMIT_CHANGED = "limit_changed", "Approval limit changed"
        MEMBER_DEACTIVATED = "member_deactivated", "Member deactivated"
        MEMBER_REACTIVATED = "member_reactivated", "Member reactivated"
        API_KEY_CREATED = "api_key_created", "API key created"
        API_KEY_REVOKED = "api_key_revoked", "API key revoked"
        APPROVAL_ROUTE_CHANGED = "approval_route_changed", "Approval routing changed"
        APPROVAL_DECIDED = "approval_decided", "Approval request decided"
        MEMBER_INVITED = "member_invited", "Member invited"
        INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
        INVITATION_ACCEPTED = "invitation_accepted", "Invitation accepted"
        ROLE_UPGRADED = "role_upgraded", "Temporary role given"
        ROLE_UPGRADE_ENDED = "role_upgrade_ended", "Temporary role ended"
        READINESS_OVERRIDE = "readiness_override", "Data-Ready override"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"
