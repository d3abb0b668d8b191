"""Bearer API keys, and the capability check every operation declares with `api_requires`.

Order of checks for every request: the key (401), then the capability (403), then the input
(422), then the object lookup (404). The capability check runs inside authentication, before
ninja validates the input, so a role that may not use a route learns nothing about it from
validation errors; the operation's own wrapper checks again, so an operation mounted without
this authentication still cannot run for the wrong role.
"""

from functools import wraps

import structlog
from ninja.decorators import decorate_view
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from plixo.api.selectors import api_key_authenticate
from plixo.api.services import api_key_touch
from plixo.core.permissions import Cap, role_can

# Set on the request by the operation (see `api_requires`) before authentication runs.
REQUIRED_CAPABILITY_ATTR = "plixo_api_capability"
MAX_KEY_LENGTH = 200


def _check_capability(request, capability: Cap) -> None:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise AuthorizationError(message="This API key does not act for any organization.")
    if not role_can(membership.role, capability):
        raise AuthorizationError(
            message=f"Your role ({membership.get_role_display()}) does not allow this."
        )


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer plx_…`: the key acts as its user, with the role the user has
    in the key's organization now (not when the key was made)."""

    def authenticate(self, request, token: str):
        if not token or len(token) > MAX_KEY_LENGTH:
            return None
        found = api_key_authenticate(raw=token.strip())
        if found is None:
            return None
        key, membership = found
        api_key_touch(key=key)
        request.api_key = key
        request.user = membership.user
        request.membership = membership
        request.organization = membership.organization
        request.memberships = [membership]
        structlog.contextvars.bind_contextvars(
            org=membership.organization.slug, user=membership.user_id, api_key=key.prefix
        )
        capability = getattr(request, REQUIRED_CAPABILITY_ATTR, None)
        if capability is not None:
            _check_capability(request, capability)
        return key


def _announce_capability(capability: Cap):
    """A ninja run decorator: it runs before authentication and tells it what to check."""

    def decorator(run):
        @wraps(run)
        def announced(request, *args, **kwargs):
            setattr(request, REQUIRED_CAPABILITY_ATTR, capability)
            return run(request, *args, **kwargs)

        return announced

    return decorator


def api_requires(capability: Cap):
    """Declare the capability an API operation needs (from `plixo.core.permissions`).

    Put it directly below the router decorator. A key whose role lacks the capability gets
    403 JSON. The function keeps `required_capability`, which `api_operations()` and the
    generated access tests read.
    """
    if not isinstance(capability, Cap):
        raise TypeError(f"api_requires needs a Cap, not {capability!r}.")

    def decorator(func):
        @wraps(func)
        def operation(request, *args, **kwargs):
            _check_capability(request, capability)
            return func(request, *args, **kwargs)

        operation.required_capability = capability
        return decorate_view(_announce_capability(capability))(operation)

    return decorator
