"""An organization's sending set-up: default cadences and sending settings, created on first
need (new organizations, seeded ones, and those that existed before cadences did)."""

from django.db import IntegrityError, transaction

from plixo.comms.defaults import DEFAULT_CADENCES
from plixo.comms.models import Cadence, CadenceStep, SendingSettings
from plixo.core.models import Membership, Organization, Role


def sending_settings_for(organization: Organization) -> SendingSettings:
    """The organization's sending settings, created with safe defaults on first use: test mode
    sends to the first Controller's address."""
    existing = SendingSettings.objects.filter(organization=organization).first()
    if existing is not None:
        return existing
    controller = (
        Membership.objects.filter(organization=organization, role=Role.CONTROLLER, is_active=True)
        .select_related("user")
        .order_by("created_at", "id")
        .first()
    )
    try:
        with transaction.atomic():
            return SendingSettings.objects.create(
                organization=organization,
                from_name=f"Accounts Receivable, {organization.name}"[:120],
                test_address=controller.user.email if controller else "",
            )
    except IntegrityError:  # created by a concurrent request
        return SendingSettings.objects.get(organization=organization)


@transaction.atomic
def default_cadences_ensure(organization: Organization) -> list[Cadence]:
    """Give an organization without any cadence the default ones (friendly, firm, final
    notice); an organization that has cadences is left alone, so edits and deletions stick."""
    if Cadence.objects.filter(organization=organization).exists():
        return []
    # Two first uses at once (two payments of a new organization) must not both create them:
    # the organization row lock makes the second wait and then find them.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    if Cadence.objects.filter(organization=organization).exists():
        return []
    created = []
    for name, description, approval, is_default, steps in DEFAULT_CADENCES:
        cadence = Cadence.objects.create(
            organization=organization,
            name=name,
            description=description,
            requires_approval=approval,
            is_default=is_default,
        )
        CadenceStep.objects.bulk_create(
            CadenceStep(cadence=cadence, offset_days=o, tone=t, subject=s, body=b)
            for o, t, s, b in steps
        )
        created.append(cadence)
    return created


def organization_created_received(sender, *, organization: Organization, **kwargs) -> None:
    """Every organization starts with cadences a manager can edit (friendly, firm, final).
    Connected to core's `organization_created`, which is sent inside the creating transaction."""
    default_cadences_ensure(organization)
