"""GET/PATCH /api/v1/settings/sending"""

import datetime as dt

import pytest

from plixo.comms.models import SendingSettings
from plixo.comms.services import sending_settings_for
from plixo.core.models import Role
from tests.factories import data_ready

URL = "/api/v1/settings/sending"


def stored(organization) -> dict:
    organization.refresh_from_db()
    sending = SendingSettings.objects.get(organization=organization)
    return {
        "is_live": organization.is_live,
        "quiet_hours_start": organization.quiet_hours_start,
        "quiet_hours_end": organization.quiet_hours_end,
        "send_on_weekends": sending.send_on_weekends,
        "daily_cap": sending.daily_cap,
        "operator_daily_cap": sending.operator_daily_cap,
        "warmup_first_day_cap": sending.warmup_first_day_cap,
        "from_name": sending.from_name,
        "from_email": sending.from_email,
        "reply_to": sending.reply_to,
        "test_address": sending.test_address,
    }


@pytest.fixture
def sending(personas) -> SendingSettings:
    return sending_settings_for(personas.org)


def test_get_answers_the_settings_and_the_mode(personas, api_for, sending):
    response = api_for(Role.AR_MANAGER).get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mode"] == "test"
    assert (body["quiet_hours_start"], body["quiet_hours_end"]) == ("08:00", "18:00")
    assert body["test_address"] == "controller@acme.example"
    assert body["daily_cap"] == sending.daily_cap
    assert body["send_on_weekends"] is False
    assert body["skip_holidays"] is True
    assert set(body) == {
        "mode",
        "quiet_hours_start",
        "quiet_hours_end",
        "send_on_weekends",
        "skip_holidays",
        "daily_cap",
        "operator_daily_cap",
        "warmup_enabled",
        "warmup_first_day_cap",
        "from_name",
        "from_email",
        "reply_to",
        "test_address",
        "operator_windows",
        "updated_at",
    }


def test_manager_updates_window_caps_and_addresses(personas, api_for, sending):
    response = api_for(Role.AR_MANAGER).patch(
        URL,
        {
            "quiet_hours_start": "09:30",
            "quiet_hours_end": "17:00",
            "send_on_weekends": True,
            "daily_cap": 1000,
            "operator_daily_cap": 150,
            "warmup_first_day_cap": 20,
            "from_name": "Acme Receivables",
            "from_email": "ar@acme.example",
            "reply_to": "billing@acme.example",
            "test_address": "qa@acme.example",
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["quiet_hours_start"], body["quiet_hours_end"]) == ("09:30", "17:00")
    assert body["mode"] == "test"
    assert stored(personas.org) == {
        "is_live": False,
        "quiet_hours_start": dt.time(9, 30),
        "quiet_hours_end": dt.time(17, 0),
        "send_on_weekends": True,
        "daily_cap": 1000,
        "operator_daily_cap": 150,
        "warmup_first_day_cap": 20,
        "from_name": "Acme Receivables",
        "from_email": "ar@acme.example",
        "reply_to": "billing@acme.example",
        "test_address": "qa@acme.example",
    }


def test_a_manager_may_not_change_the_mode_and_nothing_is_written(personas, api_for, sending):
    before = stored(personas.org)
    manager = api_for(Role.AR_MANAGER)

    response = manager.patch(URL, {"mode": "live", "daily_cap": 5})

    assert response.status_code == 403
    assert "test and live" in response.json()["detail"]
    assert stored(personas.org) == before
    # Sending the mode it is already in changes nothing, so it is not refused.
    assert manager.patch(URL, {"mode": "test", "daily_cap": 5}).status_code == 200
    assert stored(personas.org)["daily_cap"] == 5


def test_the_controller_switches_live_and_back_to_test(personas, controller_api, sending):
    data_ready(personas.org)
    live = controller_api.patch(URL, {"mode": "live"})
    assert live.status_code == 200, live.content
    assert live.json()["mode"] == "live"
    assert stored(personas.org)["is_live"] is True

    # Back to test mode, with a new test address in the same request.
    test = controller_api.patch(URL, {"mode": "test", "test_address": "qa@acme.example"})
    assert test.status_code == 200, test.content
    assert test.json()["mode"] == "test"
    assert stored(personas.org)["is_live"] is False
    assert stored(personas.org)["test_address"] == "qa@acme.example"


def test_test_mode_needs_a_test_address_and_a_refusal_writes_nothing(
    personas, controller_api, sending
):
    data_ready(personas.org)
    controller_api.patch(URL, {"mode": "live"})
    before = stored(personas.org)
    assert before["is_live"] is True

    response = controller_api.patch(URL, {"mode": "test", "test_address": "", "daily_cap": 7})

    assert response.status_code == 400
    assert "test address" in response.json()["detail"]
    assert stored(personas.org) == before


def test_a_window_without_length_is_400(personas, controller_api, sending):
    before = stored(personas.org)

    response = controller_api.patch(URL, {"quiet_hours_start": "18:00"})

    assert response.status_code == 400
    assert "same time" in response.json()["detail"]
    assert stored(personas.org) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"daily_cap": 0},
        {"daily_cap": 100_001},
        {"operator_daily_cap": "many"},
        {"warmup_first_day_cap": -5},
        {"quiet_hours_start": "25:00"},
        {"quiet_hours_end": "6pm"},
        {"from_email": "not an email"},
        {"test_address": "qa@acme.example\nBcc: all@else.example"},
        {"from_name": "Acme\r\nBcc: x@y.example"},
        {"from_name": "x" * 121},
        {"mode": "production"},
        {"send_on_weekends": "sometimes"},
        {"daily_cap": None},
    ],
)
def test_invalid_input_is_422_and_nothing_is_written(personas, controller_api, sending, payload):
    before = stored(personas.org)

    response = controller_api.patch(URL, {"reply_to": "new@acme.example", **payload})

    assert response.status_code == 422, response.content
    assert stored(personas.org) == before


def test_roles_without_cadences_manage_get_403(personas, api_for, sending):
    before = stored(personas.org)
    for role in (Role.AR_OPERATOR, Role.BILLING_ADMIN, Role.SALES, Role.CSM, Role.LEGAL):
        client = api_for(role)
        assert client.get(URL).status_code == 403
        assert client.patch(URL, {"daily_cap": 3}).status_code == 403
    assert stored(personas.org) == before


def test_each_organization_sees_its_own_settings(personas, controller_api, outsider_api, sending):
    controller_api.patch(URL, {"daily_cap": 321})

    theirs = outsider_api.get(URL).json()

    assert theirs["daily_cap"] != 321
    assert theirs["test_address"] == "controller@globex.example"


def test_the_api_lists_sets_and_clears_operators_windows(personas, api_for):
    client = api_for(Role.AR_MANAGER)
    email = personas.operator.user.email
    body = client.patch(
        "/api/v1/settings/sending",
        {"operator_windows": [{"member": email, "start": "09:00", "end": "15:30"}]},
    ).json()
    assert body["operator_windows"] == [{"member": email, "start": "09:00", "end": "15:30"}]
    response = client.patch(
        "/api/v1/settings/sending",
        {"operator_windows": [{"member": "nobody@else.example", "start": "09:00", "end": "15:30"}]},
    )
    assert response.status_code == 400
    body = client.patch(
        "/api/v1/settings/sending", {"operator_windows": [{"member": email}]}
    ).json()
    assert body["operator_windows"] == []
