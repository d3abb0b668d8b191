"""/api/v1/settings/sending: when and how the organization's email goes out, and whether it
goes to payers (live) or to the test address (test mode)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from ninja import Router

from plixo.api.auth import api_requires
from plixo.api.common import responses
from plixo.api.schemas_comms import SendingSettingsOut, SendingSettingsUpdate
from plixo.comms.selectors import operator_windows, sending_settings_values
from plixo.comms.services import sending_settings_for
from plixo.core.models import Membership, Organization
from plixo.core.permissions import Cap, role_can
from plixo.ledger.models import LedgerError

router = Router(tags=["settings"])


def _settings_out(organization_id: int) -> dict:
    organization = Organization.objects.get(pk=organization_id)
    sending = sending_settings_for(organization)
    values = sending_settings_values(organization=organization, sending=sending)
    values["quiet_hours_start"] = _clock(values["quiet_hours_start"])
    values["quiet_hours_end"] = _clock(values["quiet_hours_end"])
    return {
        "mode": "live" if organization.is_live else "test",
        **values,
        "operator_windows": [
            {
                "member": row.membership.user.email,
                "start": _clock(row.start),
                "end": _clock(row.end),
            }
            for row in operator_windows(organization=organization)
            if row.start is not None
        ],
        "updated_at": sending.updated_at,
    }


def _operator_window_write(request, organization, window: dict) -> None:
    from plixo.comms.services import operator_window_clear, operator_window_set

    email = (window.get("member") or "").strip().lower()
    membership = (
        Membership.objects.select_related("user")
        .filter(organization=organization, user__email=email, is_active=True)
        .first()
    )
    if membership is None:
        raise LedgerError(f"No active member {email!r} in this organization.")
    start, end = window.get("start"), window.get("end")
    if start is None and end is None:
        operator_window_clear(organization=organization, membership=membership, actor=request.user)
    elif start is None or end is None:
        raise LedgerError(
            f"{email}: give both start and end to set a window, or neither to clear it."
        )
    else:
        operator_window_set(
            organization=organization,
            membership=membership,
            start=start,
            end=end,
            actor=request.user,
        )


def _clock(value) -> str:
    return value if isinstance(value, str) else value.strftime("%H:%M")


@router.get(
    "/sending", response=responses({200: SendingSettingsOut}), summary="Get the sending settings"
)
@api_requires(Cap.CADENCES_MANAGE)
def sending_settings_get(request):
    """The send window (quiet hours, applied in each payer's time zone), weekend and holiday
    rules, daily caps, warmup, sender and test addresses, and the mode: `test` sends every
    email to the test address, `live` to the payers."""
    return _settings_out(request.organization.id)


@router.patch(
    "/sending",
    response=responses({200: SendingSettingsOut}, 400, 422),
    summary="Update the sending settings",
)
@api_requires(Cap.CADENCES_MANAGE)
def sending_settings_update(request, payload: SendingSettingsUpdate):
    """Send only the fields to change; a refused value writes nothing. Changing `mode` needs
    the Controller's role (403 otherwise, with nothing written); sending the current mode
    changes nothing. Test mode needs a test address."""
    # Imported here: the settings services are loaded only by the routes that write them.
    from plixo.comms.services.settings import organization_live_set
    from plixo.comms.services.settings import sending_settings_update as settings_write

    fields = payload.dict(exclude_unset=True)
    mode = fields.pop("mode", None)
    windows = fields.pop("operator_windows", None) or []
    organization = request.organization
    switch = mode is not None and (mode == "live") != organization.is_live
    if switch and not role_can(request.membership.role, Cap.ORG_GO_LIVE):
        raise PermissionDenied(
            f"Your role ({request.membership.get_role_display()}) does not allow switching "
            "between test and live mode."
        )
    with transaction.atomic():
        # Going live first, and back to test mode last: a test address given in the same
        # request is then in place when test mode needs it.
        if switch and mode == "live":
            organization_live_set(organization=organization, live=True, actor=request.user)
        if fields:
            settings_write(organization=organization, actor=request.user, **fields)
        for window in windows:
            _operator_window_write(request, organization, window)
        if switch and mode == "test":
            organization_live_set(organization=organization, live=False, actor=request.user)
    return _settings_out(organization.id)
