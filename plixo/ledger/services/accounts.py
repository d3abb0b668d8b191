"""Customers and contacts."""

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from plixo.core.models import Organization
from plixo.ledger.models import (
    Contact,
    Customer,
    LedgerError,
)
from plixo.ledger.validation import fields_check, text_check

CUSTOMER_FIELDS = (
    "name",
    "segment",
    "owner",
    "collector",
    "time_zone",
    "country",
    "currency",
    "risk_score",
)


def _clean_or_raise(obj, exclude: Iterable[str] = (), changed: Iterable[str] | None = None) -> None:
    """Django's field validation, and the ledger's text and date checks on the fields being
    written (`changed`; all of them for a new record): a value stored before a check existed
    never blocks an unrelated edit."""
    fields_check(obj, fields=None if changed is None else set(changed))
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        messages = []
        for field, errors in exc.message_dict.items():
            label = field if field != "__all__" else ""
            messages.extend(f"{label}: {e}" if label else e for e in errors)
        raise LedgerError("; ".join(messages)) from exc


@transaction.atomic
def customer_create(
    *, organization: Organization, external_id: str, name: str, **fields
) -> Customer:
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise LedgerError(f"Unknown customer fields: {', '.join(sorted(unknown))}.")
    customer = Customer(
        organization=organization, external_id=external_id.strip(), name=name.strip(), **fields
    )
    if "country" in fields:
        customer.country = (customer.country or "").upper()
    _clean_or_raise(customer, exclude=["organization", "owner", "collector"])
    if Customer.objects.filter(
        organization=organization, external_id=customer.external_id
    ).exists():
        raise LedgerError(f"A customer with external id {customer.external_id!r} already exists.")
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **fields) -> Customer:
    unknown = set(fields) - set(CUSTOMER_FIELDS) - {"external_id"}
    if unknown:
        raise LedgerError(f"Unknown customer fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(customer, name, value)
    if "country" in fields:
        customer.country = (customer.country or "").upper()
    _clean_or_raise(customer, exclude=["organization", "owner", "collector"], changed=fields)
    if (
        "external_id" in fields
        and Customer.objects.filter(
            organization_id=customer.organization_id, external_id=customer.external_id
        )
        .exclude(pk=customer.pk)
        .exists()
    ):
        raise LedgerError(f"A customer with external id {customer.external_id!r} already exists.")
    customer.save()
    if "collector" in fields:
        from plixo.comms.services import drafts_collector_sync

        # Drafts awaiting approval follow the account to its new collector's queue.
        drafts_collector_sync(customer_ids=[customer.pk])
    return customer


CONTACT_FIELDS = ("name", "email", "role", "is_primary", "suppressed_until", "suppression_reason")


def _demote_other_primaries(contact: Contact) -> None:
    if contact.is_primary:
        Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(
            pk=contact.pk
        ).update(is_primary=False)


@transaction.atomic
def contact_create(*, customer: Customer, email: str, **fields) -> Contact:
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise LedgerError(f"Unknown contact fields: {', '.join(sorted(unknown))}.")
    contact = Contact(
        organization_id=customer.organization_id,
        customer=customer,
        email=email.strip().lower(),
        **fields,
    )
    _clean_or_raise(contact, exclude=["organization", "customer"])
    if Contact.objects.filter(customer=customer, email=contact.email).exists():
        raise LedgerError(f"{customer.name} already has a contact {contact.email}.")
    if not Contact.objects.filter(customer=customer).exists():
        contact.is_primary = True
    _demote_other_primaries(contact)
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, **fields) -> Contact:
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise LedgerError(f"Unknown contact fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.email = contact.email.strip().lower()
    _clean_or_raise(contact, exclude=["organization", "customer"], changed=fields)
    if (
        Contact.objects.filter(customer_id=contact.customer_id, email=contact.email)
        .exclude(pk=contact.pk)
        .exists()
    ):
        raise LedgerError(f"This customer already has a contact {contact.email}.")
    _demote_other_primaries(contact)
    contact.save()
    return contact


@transaction.atomic
def contact_suppress(*, contact: Contact, reason: str, until: dt.datetime | None = None) -> Contact:
    if not reason.strip():
        raise LedgerError("A suppression needs a reason.")
    contact.suppression_reason = text_check(reason, "The reason", single_line=True).strip()
    contact.suppressed_until = until
    fields_check(contact, fields={"suppressed_until"})
    contact.save(update_fields=["suppression_reason", "suppressed_until", "updated_at"])
    return contact


def contacts_reactivate_due(*, now: dt.datetime | None = None) -> int:
    """Lift suppressions whose reactivation date has passed, so contacts re-enter automations."""
    now = now or timezone.now()
    return Contact.objects.filter(suppressed_until__isnull=False, suppressed_until__lte=now).update(
        suppressed_until=None, suppression_reason="", updated_at=now
    )
