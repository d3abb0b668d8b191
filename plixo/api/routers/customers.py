from uuid import UUID

from ninja import Query, Router, Status

from plixo.api.auth import api_requires
from plixo.api.common import paginate_keyset, responses
from plixo.api.errors import ReferenceNotFound
from plixo.api.schemas import (
    CustomerCreate,
    CustomerDetail,
    CustomerFilters,
    CustomerPage,
    CustomerUpdate,
    PageParams,
)
from plixo.api.selectors import member_by_email
from plixo.core.permissions import Cap
from plixo.ledger import selectors, services

router = Router(tags=["customers"])


def _owner(request, email: str | None, field: str = "owner_email"):
    """The user an `owner_email` (or `collector_email`) names: a member of the caller's
    organization, or None."""
    if email is None or not email.strip():
        return None
    membership = member_by_email(organization=request.organization, email=email)
    if membership is None:
        raise ReferenceNotFound(
            ("body", "payload", field), "No member of this organization has that email."
        )
    return membership.user


@router.get("", response=responses({200: CustomerPage}, 422), summary="List customers")
@api_requires(Cap.LEDGER_VIEW)
def customer_list(request, page: Query[PageParams], filters: Query[CustomerFilters]):
    """Customers the key may see, by name; `search` matches name or external id. With
    `currency`, only customers with something open in that currency; `sort=-balance` lists the
    largest open balance first, within `currency` (the organization's base currency when
    omitted): balances in different currencies are never compared. Each customer carries its
    open balance per currency. Pages by cursor (`next_cursor`), like invoices."""
    result = paginate_keyset(
        selectors.customer_list(
            membership=request.membership,
            search=filters.search,
            currency=filters.currency,
            sort=filters.sort,
        ),
        page,
        ordering=selectors.customer_list_ordering(filters.sort),
    )
    balances = selectors.customers_open_balances(customers=result["results"])
    for customer in result["results"]:
        customer.open_rows = balances.get(customer.pk, [])
    return result


@router.get(
    "/{customer_id}", response=responses({200: CustomerDetail}, 404), summary="Get a customer"
)
@api_requires(Cap.LEDGER_VIEW)
def customer_get(request, customer_id: UUID):
    return selectors.customer_for(membership=request.membership, public_id=customer_id)


@router.post("", response=responses({201: CustomerDetail}, 400, 422), summary="Create a customer")
@api_requires(Cap.LEDGER_EDIT)
def customer_create(request, payload: CustomerCreate):
    fields = payload.dict()
    organization = request.organization
    fields["owner"] = _owner(request, fields.pop("owner_email"))
    fields["collector"] = _owner(request, fields.pop("collector_email"), "collector_email")
    fields["time_zone"] = fields["time_zone"] or organization.time_zone
    fields["currency"] = (fields["currency"] or organization.base_currency).upper()
    customer = services.customer_create(organization=organization, **fields)
    return Status(201, customer)


@router.patch(
    "/{customer_id}",
    response=responses({200: CustomerDetail}, 400, 404, 422),
    summary="Update a customer",
)
@api_requires(Cap.LEDGER_EDIT)
def customer_update(request, customer_id: UUID, payload: CustomerUpdate):
    """Send only the fields to change; `owner_email: null` removes the owner."""
    customer = selectors.customer_for(membership=request.membership, public_id=customer_id)
    fields = payload.dict(exclude_unset=True)
    if "owner_email" in fields:
        fields["owner"] = _owner(request, fields.pop("owner_email"))
    if "collector_email" in fields:
        fields["collector"] = _owner(request, fields.pop("collector_email"), "collector_email")
    if fields.get("currency"):
        fields["currency"] = fields["currency"].upper()
    return services.customer_update(customer=customer, **fields)
