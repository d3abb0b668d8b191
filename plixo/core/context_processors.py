from plixo.core.permissions import capabilities_for
from plixo.core.templatetags.plixo import money_locale_activate


def plixo(request):
    membership = getattr(request, "membership", None)
    organization = getattr(request, "organization", None)
    # The `money` filter formats in the active organization's locale.
    money_locale_activate(organization.locale if organization is not None else None)
    return {
        "request_id": getattr(request, "request_id", ""),
        "current_membership": membership,
        "current_org": organization,
        "user_memberships": getattr(request, "memberships", []),
        "caps": capabilities_for(membership.role) if membership else frozenset(),
    }
