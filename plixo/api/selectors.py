"""Reads for the API: key lookup, and list queries built on the ledger's scoped selectors."""

import re

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects

from plixo.api.models import ApiKey
from plixo.api.services import KEY_SCHEME, api_key_hash
from plixo.core.models import Membership, Organization
from plixo.core.selectors import sees_only_own_accounts
from plixo.ledger.models import Allocation, Contact, Customer, Payment
from plixo.ledger.selectors import (
    PAYMENT_LIST_ORDER,
    contacts_visible,
    invoices_visible,
    payment_for,
    payments_visible,
)

# `plx_<8 hex>_<43 url-safe base64 characters>`; anything else is not worth a database query.
_RAW_KEY = re.compile(rf"^{KEY_SCHEME}_[0-9a-f]{{8}}_[A-Za-z0-9_-]{{43}}$")
_PREFIX = re.compile(rf"^(?:{KEY_SCHEME}_)?([0-9a-f]{{8}})(?:_.*)?$")


def api_key_authenticate(*, raw: str) -> tuple[ApiKey, Membership] | None:
    """The key and the membership it acts as, or None when the key is unknown, revoked, or
    its user is no longer an active member of the key's organization."""
    if not _RAW_KEY.match(raw or ""):
        return None
    key = ApiKey.objects.filter(key_hash=api_key_hash(raw), revoked_at__isnull=True).first()
    if key is None:
        return None
    membership = (
        Membership.objects.select_related("user", "organization")
        .filter(
            user_id=key.user_id,
            organization_id=key.organization_id,
            is_active=True,
            user__is_active=True,
        )
        .first()
    )
    if membership is None:
        return None
    return key, membership


def api_keys_for(*, organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=organization).select_related("user")


def api_key_by_prefix(*, organization: Organization, prefix: str) -> ApiKey | None:
    """Find a key by the prefix people see (`plx_1a2b3c4d`, `1a2b3c4d` or the whole key)."""
    match = _PREFIX.match((prefix or "").strip())
    if match is None:
        return None
    return api_keys_for(organization=organization).filter(prefix=match.group(1)).first()


def member_by_email(
    *, organization: Organization, email: str, active_only: bool = True
) -> Membership | None:
    qs = Membership.objects.select_related("user", "organization").filter(
        organization=organization, user__email__iexact=(email or "").strip()
    )
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.first()


def contact_list(
    *, membership: Membership, customer: Customer | None = None, search: str | None = None
) -> QuerySet[Contact]:
    qs = contacts_visible(membership=membership).select_related("customer")
    if customer is not None:
        qs = qs.filter(customer=customer)
    if search and search.strip():
        term = search.strip()
        qs = qs.filter(Q(name__icontains=term) | Q(email__icontains=term))
    return qs


def _visible_allocations(membership: Membership) -> Prefetch:
    # A payment can be spread over several customers' invoices; Sales and CSMs only see the
    # allocations to invoices of their own accounts.
    # Everyone else sees every allocation of the payments they see (the payment's organization
    # is theirs); no filter, so the read is by payment and stays small at any ledger size.
    allocations = Allocation.objects.all()
    if sees_only_own_accounts(membership.role):
        allocations = allocations.filter(invoice__in=invoices_visible(membership=membership))
    return Prefetch(
        "allocations",
        queryset=allocations.select_related("invoice").order_by("created_at", "id"),
    )


def payment_list(*, membership: Membership, customer: Customer | None = None) -> QuerySet[Payment]:
    qs = payments_visible(membership=membership).select_related("customer")
    if customer is not None:
        qs = qs.filter(customer=customer)
    return qs.prefetch_related(_visible_allocations(membership)).order_by(*PAYMENT_LIST_ORDER)


def payment_detail(*, membership: Membership, public_id) -> Payment:
    """One payment (404 when not visible) with its visible allocations."""
    payment = payment_for(membership=membership, public_id=public_id)
    prefetch_related_objects([payment], _visible_allocations(membership))
    return payment
