from plixo.core.permissions import capabilities_for


def plixo(request):
    membership = getattr(request, "membership", None)
    return {
        "request_id": getattr(request, "request_id", ""),
        "current_membership": membership,
        "current_org": getattr(request, "organization", None),
        "user_memberships": getattr(request, "memberships", []),
        "caps": capabilities_for(membership.role) if membership else frozenset(),
    }
