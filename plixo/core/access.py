"""View-level access: every view says what it needs, and one helper enforces it.

- `@requires(Cap.X)`: signed in, a member of the active organization, and the role has X.
- `@member_required`: signed in and a member of some organization (no capability needed).
- `@public`: no sign-in (login page, health check).

Payer pages use `@portal_session_required` from `plixo.portal.gate`, which declares itself
with `access_mark` like these.

The attribute each decorator leaves on the view (`plixo_access`) is what the generated access
test reads; a view without one fails that test.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from plixo.core.permissions import Cap, role_can


def access_mark(view, access):
    """Declare what `view` needs: "public", "member", "portal" or a `Cap`."""
    view.plixo_access = access
    return view


def public(view):
    return access_mark(view, "public")


def _membership_or_redirect(request):
    if not request.user.is_authenticated:
        return None, redirect_to_login(request.get_full_path())
    if request.membership is None:
        raise PermissionDenied("You are not a member of any organization.")
    return request.membership, None


def member_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        _, redirect = _membership_or_redirect(request)
        if redirect:
            return redirect
        return view(request, *args, **kwargs)

    return access_mark(wrapper, "member")


def requires(capability: Cap):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            membership, redirect = _membership_or_redirect(request)
            if redirect:
                return redirect
            if not role_can(membership.role, capability):
                raise PermissionDenied(
                    f"Your role ({membership.get_role_display()}) does not allow this."
                )
            return view(request, *args, **kwargs)

        wrapper.required_capability = capability
        return access_mark(wrapper, capability)

    return decorator
