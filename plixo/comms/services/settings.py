"""The organization's sending settings and its live/test switch: what the A/R Manager and the
Controller change on the sending settings page (and the API's settings route).

The send window is stored on the organization (`quiet_hours_start`/`_end`, wall-clock times in
the payer's time zone) and the rest on `SendingSettings`; one update writes both in one
transaction, after every value has been checked, so a refused update writes nothing.

Going live or back to test mode is not an access change, so it has no `AuditEvent` action of
its own; it is logged (who, when, which way) and shown to the person who did it.
"""

import datetime as dt

import structlog
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from plixo.comms.models import CommsError, OperatorSendWindow, SendingDomain, SendingSettings
from plixo.comms.services.outbox import sender_address
from plixo.comms.services.setup import sending_settings_for
from plixo.core.models import Membership, Organization
from plixo.core.permissions import Cap, role_can
from plixo.core.text import text_problem

log = structlog.get_logger("plixo.comms")

CAP_MIN = 1
CAP_MAX = 100_000
FROM_NAME_MAX = 120
EMAIL_MAX = 254

WINDOW_FIELDS = ("quiet_hours_start", "quiet_hours_end")
FLAG_FIELDS = ("send_on_weekends", "skip_holidays", "warmup_enabled")
CAP_FIELDS = {
    "daily_cap": "The daily cap",
    "operator_daily_cap": "The daily cap per operator",
    "warmup_first_day_cap": "The warmup's first-day cap",
}
ADDRESS_FIELDS = {
    "from_email": "The sender address",
    "reply_to": "The reply-to address",
    "test_address": "The test address",
}
SETTINGS_FIELDS = frozenset(
    {*WINDOW_FIELDS, *FLAG_FIELDS, *CAP_FIELDS, *ADDRESS_FIELDS, "from_name"}
)


def _time(value, what: str) -> dt.time:
    if isinstance(value, dt.datetime):
        raise CommsError(f"{what} must be a time of day such as 08:00.")
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, str):
        try:
            parsed = dt.time.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                return parsed.replace(second=0, microsecond=0)
    raise CommsError(f"{what} must be a time of day such as 08:00.")


def _cap(value, what: str) -> int:
    if isinstance(value, bool):
        raise CommsError(f"{what} must be a whole number.")
    if isinstance(value, str):
        value = value.strip()
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CommsError(f"{what} must be a whole number.") from None
    if isinstance(value, float) and number != value:
        raise CommsError(f"{what} must be a whole number.")
    if not CAP_MIN <= number <= CAP_MAX:
        raise CommsError(f"{what} must be between {CAP_MIN} and {CAP_MAX:,} emails a day.")
    return number


def _address(value, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CommsError(f"{what} must be text.")
    problem = text_problem(value, single_line=True)
    if problem:
        raise CommsError(f"{what} {problem}.")
    value = value.strip()
    if not value:
        return ""
    if len(value) > EMAIL_MAX:
        raise CommsError(f"{what} is longer than {EMAIL_MAX} characters.")
    try:
        validate_email(value)
    except ValidationError:
        raise CommsError(f"{what} {value!r} is not an email address.") from None
    return value


def _from_name(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CommsError("The sender name must be text.")
    problem = text_problem(value, single_line=True)
    if problem:
        raise CommsError(f"The sender name {problem}.")
    value = value.strip()
    if len(value) > FROM_NAME_MAX:
        raise CommsError(f"The sender name is longer than {FROM_NAME_MAX} characters.")
    return value


def _flag(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise CommsError(f"{field.replace('_', ' ').capitalize()} must be true or false.")
    return value


def sending_settings_update(*, organization: Organization, actor=None, **fields) -> SendingSettings:
    """Change any of the send window (`quiet_hours_start`, `quiet_hours_end`), the weekend and
    holiday rules, the caps, warmup, the sender and reply-to addresses, the sender name and
    the test address. Every value is checked before anything is written; a refused value
    raises CommsError naming it."""
    unknown = set(fields) - SETTINGS_FIELDS
    if unknown:
        raise CommsError(f"Unknown sending settings: {', '.join(sorted(unknown))}.")
    cleaned: dict = {}
    for field, value in fields.items():
        if field == "quiet_hours_start":
            cleaned[field] = _time(value, "The time sending starts")
        elif field == "quiet_hours_end":
            cleaned[field] = _time(value, "The time sending stops")
        elif field in FLAG_FIELDS:
            cleaned[field] = _flag(value, field)
        elif field in CAP_FIELDS:
            cleaned[field] = _cap(value, CAP_FIELDS[field])
        elif field in ADDRESS_FIELDS:
            cleaned[field] = _address(value, ADDRESS_FIELDS[field])
        elif field == "from_name":
            cleaned[field] = _from_name(value)

    sending_settings_for(organization)  # created with its defaults on first use
    with transaction.atomic():
        # Organization first, then its settings: the same order as `organization_live_set`.
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        sending = SendingSettings.objects.select_for_update().get(organization=org)
        start = cleaned.get("quiet_hours_start", org.quiet_hours_start)
        end = cleaned.get("quiet_hours_end", org.quiet_hours_end)
        if _as_time(start) == _as_time(end):
            raise CommsError(
                "Sending cannot start and stop at the same time: that window has no length."
            )
        if not org.is_live and "test_address" in cleaned and not cleaned["test_address"]:
            raise CommsError(
                "In test mode every email goes to the test address, so it cannot be empty. "
                "Switch sending live first, or give another address."
            )
        before, after = {}, {}
        org_fields, sending_fields = [], []
        for field, value in cleaned.items():
            target = org if field in WINDOW_FIELDS else sending
            current = getattr(target, field)
            if field in WINDOW_FIELDS:
                current = _as_time(current)
            if current == value:
                continue
            before[field], after[field] = _loggable(current), _loggable(value)
            setattr(target, field, value)
            (org_fields if target is org else sending_fields).append(field)
        if org_fields:
            org.save(update_fields=org_fields)
        if sending_fields:
            sending.save(update_fields=[*sending_fields, "updated_at"])
    for field in WINDOW_FIELDS:
        setattr(organization, field, getattr(org, field))
    if before:
        log.info(
            "comms.sending_settings_updated",
            organization=organization.slug,
            actor=str(actor) if actor is not None else "",
            before=before,
            after=after,
        )
    return sending


def _as_time(value) -> dt.time:
    """Organization times loaded from the database are `time`; freshly assigned defaults may
    still be the "08:00" strings of the field default."""
    if isinstance(value, str):
        return dt.time.fromisoformat(value)
    return value


def _loggable(value):
    return value.strftime("%H:%M") if isinstance(value, dt.time) else value


def organization_live_set(*, organization: Organization, live: bool, actor=None) -> Organization:
    """Switch the organization between live sending (email goes to payers) and test mode
    (every email goes to the test address, marked as a test). Test mode needs a test address.
    Asking for the mode it is already in changes nothing."""
    if not isinstance(live, bool):
        raise CommsError("Say whether sending is live: true or false.")
    sending_settings_for(organization)
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        sending = SendingSettings.objects.select_for_update().get(organization=org)
        if not live and not sending.test_address:
            raise CommsError(
                "Test mode sends every email to the test address: set a test address first."
            )
        if org.is_live == live:
            organization.is_live = live
            return organization
        if live:
            # Go-live readiness (Data-Ready): the last run passed, or a Controller overrode it.
            from plixo.readiness.services import go_live_blocker

            if blocker := go_live_blocker(organization=org):
                raise CommsError(blocker)
        org.is_live = live
        org.save(update_fields=["is_live"])
    organization.is_live = live
    log.info(
        "comms.organization_live_set",
        organization=organization.slug,
        live=live,
        actor=str(actor) if actor is not None else "",
        test_address=sending.test_address if not live else "",
    )
    return organization


def sending_domain_ensure(*, organization: Organization) -> SendingDomain | None:
    """The row of the domain the organization sends from now (its sender address, or the
    installation's default), created if missing so it can be checked before the first email.
    Its warmup starts with its first email, not here. None when there is no address."""
    sending = sending_settings_for(organization)
    _from, domain = sender_address(sending)
    if not domain or "@" in domain:
        return None
    try:
        with transaction.atomic():
            row, _created = SendingDomain.objects.get_or_create(
                organization=organization, domain=domain
            )
    except IntegrityError:  # created by a concurrent request
        row = SendingDomain.objects.get(organization=organization, domain=domain)
    return row


# --- operators' own send windows ----------------------------------------------------------------


@transaction.atomic
def operator_window_set(
    *, organization: Organization, membership: Membership, start, end, actor=None
) -> OperatorSendWindow:
    """Give an operator their own send window (times on the payer's clock, like the
    organization's), or change it."""
    if membership.organization_id != organization.pk:
        raise CommsError("That member belongs to another organization.")
    if not role_can(membership.role, Cap.MESSAGES_SEND):
        raise CommsError(
            f"A {membership.get_role_display()} does not send email; only members who approve "
            "and send drafts have a send window of their own."
        )
    start, end = _time(start, "The start time"), _time(end, "The end time")
    if start == end:
        raise CommsError("The window must not start and end at the same time.")
    window, _ = OperatorSendWindow.objects.update_or_create(
        membership=membership,
        defaults={"organization": organization, "start": start, "end": end},
    )
    log.info(
        "comms.operator_window_set",
        organization=organization.slug,
        member=membership.user.email,
        start=f"{start:%H:%M}",
        end=f"{end:%H:%M}",
        by=str(actor) if actor else "system",
    )
    return window


@transaction.atomic
def operator_window_clear(*, organization: Organization, membership: Membership, actor=None):
    """The operator goes back to the organization's send window."""
    OperatorSendWindow.objects.filter(organization=organization, membership=membership).delete()
    log.info(
        "comms.operator_window_cleared",
        organization=organization.slug,
        member=membership.user.email,
        by=str(actor) if actor else "system",
    )
