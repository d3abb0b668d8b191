"""Seed data: an organization with a login per role, synthetic ledgers at benchmark scale
(`bulk`) and the hand-made demo organization (`demo`)."""

from plixo.core.seeding.members import (
    APPROVAL_LIMITS,
    DEMO_PASSWORD,
    SeededOrganization,
    login_email,
    membership_ensure,
    organization_with_members,
)

__all__ = [
    "APPROVAL_LIMITS",
    "DEMO_PASSWORD",
    "SeededOrganization",
    "login_email",
    "membership_ensure",
    "organization_with_members",
]
