"""An organization with one signed-in person per role, as `plixo seed` and `plixo demo` need.

Logins are `<short role>@<slug>.plixo.test` with the shared demo password. Existing users and
memberships are left exactly as they are, so running this twice changes nothing.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError

from plixo.core.models import ROLE_SHORT_NAMES, Membership, Organization, Role, User
from plixo.core.services import membership_add, organization_create, user_get_or_create

# The documented, public password of every seeded login (never used in production data).
DEMO_PASSWORD = "plixo-demo"  # noqa: S105

# Largest plan or credit each role may approve, in the base currency. Controller and Legal are
# the final approvers, so their limit is effectively unlimited.
APPROVAL_LIMITS: dict[str, Decimal] = {
    Role.CONTROLLER: Decimal("1000000000"),
    Role.AR_MANAGER: Decimal("50000"),
    Role.AR_OPERATOR: Decimal("10000"),
    Role.BILLING_ADMIN: Decimal("0"),
    Role.SALES: Decimal("0"),
    Role.CSM: Decimal("0"),
    Role.LEGAL: Decimal("1000000000"),
}

SEED_REASON = "Seeded organization"


def login_email(role: str, slug: str) -> str:
    return f"{ROLE_SHORT_NAMES[Role(role)]}@{slug}.plixo.test"


@dataclass
class SeededOrganization:
    organization: Organization
    created: bool
    members: dict[str, Membership]  # role value -> membership
    users_created: int = 0
    memberships_created: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)  # (role label, email)


class _PasswordHash:
    """Hash the shared password once: PBKDF2 is deliberately slow, and every seeded user has
    the same password."""

    def __init__(self, password: str):
        self.password = password
        self._hash: str | None = None

    def __str__(self) -> str:
        if self._hash is None:
            self._hash = make_password(self.password)
        return self._hash


def seeded_user(*, email: str, full_name: str, password_hash) -> tuple[User, bool]:
    """The user with this email, created with the shared password when missing."""
    existing = User.objects.filter(email=email.lower()).first()
    if existing is not None:
        return existing, False
    user = user_get_or_create(email=email, full_name=full_name)
    user.password = str(password_hash)
    user.save(update_fields=["password"])
    return user, True


def organization_with_members(
    *,
    slug: str,
    name: str,
    base_currency: str = "USD",
    locale: str = "en_US",
    time_zone: str = "UTC",
    full_names: dict[str, str] | None = None,
    password: str = DEMO_PASSWORD,
    roles: tuple[str, ...] = tuple(Role.values),
) -> SeededOrganization:
    """Get or create the organization, then make sure each role has its login and membership.

    An existing organization keeps its name and settings; only missing users and memberships
    are added (each membership with an audit event, through `membership_add`).
    """
    organization = Organization.objects.filter(slug=slug).first()
    created = organization is None
    if created:
        organization = organization_create(
            name=name,
            slug=slug,
            base_currency=base_currency,
            locale=locale,
            time_zone=time_zone,
        )
    result = SeededOrganization(organization=organization, created=created, members={})
    password_hash = _PasswordHash(password)
    existing = {m.user_id: m for m in Membership.objects.filter(organization=organization)}
    for role in roles:
        email = login_email(role, slug)
        full_name = (full_names or {}).get(role, "") or f"{Role(role).label} ({slug})"
        user, user_created = seeded_user(
            email=email, full_name=full_name, password_hash=password_hash
        )
        result.users_created += user_created
        membership = existing.get(user.pk)
        if membership is None:
            membership = membership_add(
                organization=organization,
                user=user,
                role=role,
                approval_limit=APPROVAL_LIMITS[role],
                reason=SEED_REASON,
            )
            result.memberships_created += 1
        result.members[role] = membership
        result.logins.append((Role(role).label, email))
    return result


def membership_ensure(
    *, organization: Organization, user: User, role: str, reason: str = SEED_REASON
) -> Membership:
    """Add `user` to `organization` with `role` unless they already belong to it."""
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is not None:
        return membership
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    return membership_add(
        organization=organization,
        user=user,
        role=role,
        approval_limit=APPROVAL_LIMITS[role],
        reason=reason,
    )
