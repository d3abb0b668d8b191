"""Operators' own send windows (COMMS-4): an email goes out within the window of the operator
who approved it, on the payer's clock; without one, within the organization's."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from plixo.comms.models import CommsError, Message, OperatorSendWindow
from plixo.comms.services import operator_window_clear, operator_window_set, outbox_send
from plixo.core.models import Role
from tests.comms.conftest import NOON_NY
from tests.comms.outbox_helpers import approved


def test_an_email_goes_out_in_the_approving_operators_window(
    personas, customer, contact, live_org, clock
):
    # 10:00 in New York: inside the organization's 08:00–18:00, outside the operator's 12–17.
    operator = personas.operator
    operator_window_set(organization=personas.org, membership=operator, start="12:00", end="17:00")
    message = approved(customer, actor=operator.user)
    assert outbox_send()["held"] == 1
    message.refresh_from_db()
    assert message.send_after == NOON_NY + dt.timedelta(hours=2)  # 12:00 in New York
    assert "12:00–17:00" in message.hold_reason
    assert mail.outbox == []

    # The same email approved by someone without a window of their own goes now.
    manager_message = approved(customer, actor=personas.members[Role.AR_MANAGER].user)
    assert outbox_send()["sent"] == 1
    assert [m.to for m in mail.outbox] == [["ap@initech.example"]]
    assert Message.objects.get(pk=manager_message.pk).status == Message.Status.SENT

    operator_window_clear(organization=personas.org, membership=operator)
    Message.objects.filter(pk=message.pk).update(send_after=NOON_NY)
    assert outbox_send()["sent"] == 1


def test_only_members_who_send_get_a_window_and_it_is_checked(personas):
    with pytest.raises(CommsError, match="does not send email"):
        operator_window_set(
            organization=personas.org,
            membership=personas.members[Role.SALES],
            start="09:00",
            end="17:00",
        )
    with pytest.raises(CommsError, match="same time"):
        operator_window_set(
            organization=personas.org, membership=personas.operator, start="09:00", end="09:00"
        )
    with pytest.raises(CommsError, match="another organization"):
        operator_window_set(
            organization=personas.org, membership=personas.outsider, start="09:00", end="17:00"
        )
    assert not OperatorSendWindow.objects.exists()


def test_the_settings_page_sets_and_clears_an_operators_window(personas):
    operator = personas.operator
    url = reverse("comms:operator-window", kwargs={"membership_id": operator.public_id})
    client = personas.client_for(Role.AR_MANAGER)

    page = client.get(reverse("comms:sending-settings")).content.decode()
    assert "Send windows per operator" in page and operator.user.email in page

    response = client.post(url, {"start": "7am", "end": "16:00"})
    assert response.status_code == 400
    assert "24-hour clock" in response.content.decode()
    assert not OperatorSendWindow.objects.exists()

    response = client.post(url, {"start": "07:30", "end": "16:00"}, follow=True)
    assert "07:30–16:00" in response.content.decode()
    window = OperatorSendWindow.objects.get(membership=operator)
    assert (window.start, window.end) == (dt.time(7, 30), dt.time(16, 0))

    client.post(url, {"action": "clear"})
    assert not OperatorSendWindow.objects.exists()

    operator_client = personas.client_for(Role.AR_OPERATOR)  # may not manage windows
    assert operator_client.post(url, {"start": "07:30", "end": "16:00"}).status_code == 403
