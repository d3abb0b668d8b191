from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from ninja import Query, Router, Status

from plixo.api.auth import api_requires
from plixo.api.common import paginate_keyset, referenced, responses
from plixo.api.schemas import (
    ContactCreate,
    ContactOut,
    ContactPage,
    ContactUpdate,
    Line,
    PageParams,
)
from plixo.api.schemas_comms import ContactSuppress
from plixo.api.selectors import contact_list as contact_list_query
from plixo.comms import services as comms_services
from plixo.core.permissions import Cap, role_can
from plixo.ledger import selectors, services
from plixo.ledger.models import LedgerError

router = Router(tags=["contacts"])
CONTACT_ORDER = ("id",)


@router.get("", response=responses({200: ContactPage}, 422), summary="List contacts")
@api_requires(Cap.LEDGER_VIEW)
def contact_list(
    request, page: Query[PageParams], customer: UUID | None = None, search: Line | None = None
):
    """Contacts the key may see, in the order they were added; `customer` narrows to one
    customer, `search` matches name or email. Pages by `offset` (up to 10,000) or by
    `next_cursor` at any depth."""
    owner = None
    if customer is not None:
        owner = referenced(
            lambda: selectors.customer_for(membership=request.membership, public_id=customer),
            loc=("query", "customer"),
            what="customer",
        )
    qs = contact_list_query(membership=request.membership, customer=owner, search=search)
    return paginate_keyset(qs, page, ordering=CONTACT_ORDER)


@router.get("/{contact_id}", response=responses({200: ContactOut}, 404), summary="Get a contact")
@api_requires(Cap.LEDGER_VIEW)
def contact_get(request, contact_id: UUID):
    return selectors.contact_for(membership=request.membership, public_id=contact_id)


@router.post("", response=responses({201: ContactOut}, 400, 422), summary="Create a contact")
@api_requires(Cap.LEDGER_EDIT)
def contact_create(request, payload: ContactCreate):
    """The first contact of a customer becomes its primary contact; a new primary contact
    takes over from the old one. Creating a contact already suppressed needs the
    `contacts.suppress` capability, like `POST /contacts/{id}/suppress`."""
    fields = payload.dict()
    suppression = _suppression_fields(request, fields)
    customer = referenced(
        lambda: selectors.customer_for(
            membership=request.membership, public_id=fields.pop("customer")
        ),
        loc=("body", "payload", "customer"),
        what="customer",
    )
    with transaction.atomic():
        contact = services.contact_create(customer=customer, **fields)
        _suppression_apply(request, contact, suppression)
        contact.refresh_from_db()  # the answer is what was written, suppression included
    return Status(201, contact)


@router.patch(
    "/{contact_id}",
    response=responses({200: ContactOut}, 400, 404, 422),
    summary="Update a contact",
)
@api_requires(Cap.LEDGER_EDIT)
def contact_update(request, contact_id: UUID, payload: ContactUpdate):
    """Send only the fields to change; `suppressed_until: null` with an empty
    `suppression_reason` lifts a suppression. Changing a suppression needs the
    `contacts.suppress` capability and is recorded like `POST /contacts/{id}/suppress` and
    `…/unsuppress`."""
    contact = selectors.contact_for(membership=request.membership, public_id=contact_id)
    fields = payload.dict(exclude_unset=True)
    suppression = _suppression_fields(request, fields)
    with transaction.atomic():
        contact = services.contact_update(contact=contact, **fields) if fields else contact
        _suppression_apply(request, contact, suppression)
        contact.refresh_from_db()
    return contact


SUPPRESSION_FIELDS = ("suppressed_until", "suppression_reason")


def _suppression_fields(request, fields: dict) -> dict | None:
    """Take the suppression fields out of a contact write; None when none were sent (or, on
    create, when they say "not suppressed"). A role without `contacts.suppress` gets 403."""
    sent = {key: fields.pop(key) for key in SUPPRESSION_FIELDS if key in fields}
    if not sent or not any(sent.values()) and request.method == "POST":
        return None
    if not role_can(request.membership.role, Cap.CONTACTS_SUPPRESS):
        raise PermissionDenied(
            f"Your role ({request.membership.get_role_display()}) may not change a contact's "
            "email suppression."
        )
    return sent


def _suppression_apply(request, contact, sent: dict | None) -> None:
    if sent is None:
        return
    until = sent.get("suppressed_until")
    reason = (sent.get("suppression_reason") or "").strip()
    if until is None and not reason:
        comms_services.contact_unsuppress(contact=contact, actor=request.user)
        return
    if until is not None and timezone.is_naive(until):
        raise LedgerError("suppressed_until needs a time zone offset, e.g. +00:00.")
    comms_services.contact_suppress(
        contact=contact, kind="other", reason=reason, until=until, actor=request.user
    )


@router.post(
    "/{contact_id}/suppress",
    response=responses({200: ContactOut}, 400, 404, 422),
    summary="Suppress a contact's email",
)
@api_requires(Cap.CONTACTS_SUPPRESS)
def contact_suppress(request, contact_id: UUID, payload: ContactSuppress):
    """No automated email reaches the contact until the suppression ends: at `until` if given
    (a time with its zone, in the future and within three years), otherwise when it is lifted.
    A queued email that meets the suppression waits for the reactivation time, or is
    cancelled when the suppression has no end. The timeline of each open invoice of the
    customer records it."""
    contact = selectors.contact_for(membership=request.membership, public_id=contact_id)
    comms_services.contact_suppress(
        contact=contact,
        kind=payload.kind,
        reason=payload.note,
        until=payload.until,
        actor=request.user,
    )
    return selectors.contact_for(membership=request.membership, public_id=contact_id)


@router.post(
    "/{contact_id}/unsuppress",
    response=responses({200: ContactOut}, 404),
    summary="Lift a contact's suppression",
)
@api_requires(Cap.CONTACTS_SUPPRESS)
def contact_unsuppress(request, contact_id: UUID):
    """The contact receives automated email again. Lifting a suppression that is not there
    changes nothing."""
    contact = selectors.contact_for(membership=request.membership, public_id=contact_id)
    comms_services.contact_unsuppress(contact=contact, actor=request.user)
    return selectors.contact_for(membership=request.membership, public_id=contact_id)
