"""What every page's template gets from the payments app: the Stripe degraded banner's line."""

from django.utils.functional import SimpleLazyObject

from plixo.payments.selectors import stripe_degraded_reason


def stripe_degraded(request):
    organization = getattr(request, "organization", None)
    # Read only where a page shows the banner (people who can act on it), at most once.
    return {"stripe_degraded": SimpleLazyObject(lambda: _reason(organization))}


def _reason(organization) -> str:
    if organization is None:
        return ""
    return stripe_degraded_reason(organization=organization)
