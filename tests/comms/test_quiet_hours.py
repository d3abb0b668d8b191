"""R10: quiet hours in the payer's time zone (contact → customer → organization), weekends,
public holidays of the payer's country, across DST; the outbox holds with a reason and a time."""

import datetime as dt

import pytest
from django.core import mail

from plixo.comms.models import Message
from plixo.comms.services import outbox_send
from plixo.comms.windows import SendWindow, window_check
from tests.comms.outbox_helpers import approved, events
from tests.factories import ContactFactory, CustomerFactory

UTC = dt.UTC
NY = SendWindow(start=dt.time(8), end=dt.time(18), time_zone="America/New_York", country="US")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_a_new_york_payer_at_0759_is_held_until_0800_local(
    personas, customer, contact, live_org, clock
):
    clock.move_to(at(2026, 3, 3, 12, 59))  # Tuesday 07:59 EST
    message = approved(customer, actor=personas.operator.user)
    counts = outbox_send()
    assert counts["held"] == 1 and counts["sent"] == 0
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    assert message.send_after == at(2026, 3, 3, 13, 0)  # 08:00 EST
    assert message.hold_reason == "quiet hours: sends 08:00–18:00 America/New_York"
    clock.move_to(at(2026, 3, 3, 12, 59, 40))
    outbox_send()
    assert mail.outbox == []
    clock.move_to(at(2026, 3, 3, 13, 0))
    assert outbox_send()["sent"] == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert len(mail.outbox) == 1
    # One hold on the timeline, not one per outbox run.
    assert len(events(message, "email_held")) == 1
    held = events(message, "email_held")[0]
    assert held.data["until"] == "2026-03-03T13:00:00+00:00"


@pytest.mark.parametrize(
    ("winter", "summer"),
    [
        # Spring forward on Sunday 2026-03-08: Friday before, Monday after.
        (at(2026, 3, 6, 12, 59), at(2026, 3, 9, 11, 59)),
        # Fall back on Sunday 2026-11-01: Friday before (summer), Monday after (winter).
        (at(2026, 11, 2, 12, 59), at(2026, 10, 30, 11, 59)),
    ],
)
def test_the_window_follows_local_time_across_dst(winter, summer):
    closed_winter = window_check(NY, winter)
    closed_summer = window_check(NY, summer)
    assert not closed_winter.open_now and not closed_summer.open_now
    assert closed_winter.opens_at == winter + dt.timedelta(minutes=1)  # 13:00 UTC = 08:00 EST
    assert closed_summer.opens_at == summer + dt.timedelta(minutes=1)  # 12:00 UTC = 08:00 EDT
    assert closed_winter.opens_at.time() == dt.time(13, 0)
    assert closed_summer.opens_at.time() == dt.time(12, 0)
    assert window_check(NY, closed_winter.opens_at).open_now
    assert window_check(NY, closed_summer.opens_at).open_now


def test_the_contacts_zone_beats_the_customers_which_beats_the_organizations(
    personas, customer, contact, live_org, clock
):
    # 15:00 UTC: 10:00 in New York (open), 00:00 in Tokyo, 07:00 in Los Angeles (both closed).
    personas.org.time_zone = "America/Los_Angeles"
    personas.org.save(update_fields=["time_zone"])
    contact.time_zone = "Asia/Tokyo"
    contact.save(update_fields=["time_zone"])
    by_contact = approved(customer, actor=personas.operator.user)
    outbox_send()
    by_contact.refresh_from_db()
    assert by_contact.hold_reason.endswith("Asia/Tokyo")
    assert by_contact.send_after == at(2026, 3, 3, 23, 0)  # 08:00 Wednesday in Tokyo

    # No zone on the contact: the customer's (New York, open now) decides.
    other = CustomerFactory(organization=personas.org, time_zone="America/New_York", country="US")
    ContactFactory(customer=other, email="ap@other.example", is_primary=True, time_zone="")
    by_customer = approved(other, actor=personas.operator.user)
    # No zone on either: the organization's (Los Angeles, closed).
    bare = CustomerFactory(organization=personas.org, time_zone="", country="US")
    ContactFactory(customer=bare, email="ap@bare.example", is_primary=True, time_zone="")
    by_org = approved(bare, actor=personas.operator.user)
    outbox_send()
    by_customer.refresh_from_db()
    by_org.refresh_from_db()
    assert by_customer.status == Message.Status.SENT
    assert by_org.status == Message.Status.QUEUED
    assert by_org.hold_reason.endswith("America/Los_Angeles")
    assert by_org.send_after == at(2026, 3, 3, 16, 0)  # 08:00 PST


def test_weekends_are_held_to_monday(personas, customer, contact, live_org, clock):
    clock.move_to(at(2026, 3, 7, 15, 0))  # Saturday 10:00 EST
    message = approved(customer, actor=personas.operator.user)
    outbox_send()
    message.refresh_from_db()
    assert message.hold_reason == "weekend"
    assert message.send_after == at(2026, 3, 9, 12, 0)  # Monday 08:00, already EDT
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("moment", "opens"),
    [
        (at(2026, 7, 3, 14, 0), at(2026, 7, 6, 12, 0)),  # Independence Day (observed), Friday
        (at(2026, 11, 26, 15, 0), at(2026, 11, 27, 13, 0)),  # Thanksgiving, Thursday
    ],
)
def test_us_public_holidays_hold_a_us_payer_but_not_a_german_one(
    personas, customer, contact, live_org, clock, moment, opens
):
    clock.move_to(moment)
    american = approved(customer, actor=personas.operator.user)
    german = CustomerFactory(
        organization=personas.org, time_zone="Europe/Berlin", country="DE", currency="EUR"
    )
    ContactFactory(customer=german, email="buchhaltung@gmbh.example", is_primary=True)
    deutsch = approved(german, actor=personas.operator.user)
    outbox_send()
    american.refresh_from_db()
    deutsch.refresh_from_db()
    assert american.status == Message.Status.QUEUED
    assert american.hold_reason.startswith("public holiday (")
    assert american.hold_reason.endswith(", US)")
    assert american.send_after == opens
    assert deutsch.status == Message.Status.SENT
    assert [m.to for m in mail.outbox] == [["buchhaltung@gmbh.example"]]


def test_an_overnight_window_spans_midnight():
    night = SendWindow(
        start=dt.time(20), end=dt.time(6), time_zone="Europe/Berlin", send_on_weekends=True
    )
    # Berlin is UTC+1 in January.
    assert window_check(night, at(2026, 1, 14, 20, 30)).open_now  # 21:30
    assert window_check(night, at(2026, 1, 15, 2, 0)).open_now  # 03:00
    assert window_check(night, at(2026, 1, 15, 4, 59)).open_now  # 05:59
    closed = window_check(night, at(2026, 1, 15, 5, 0))  # 06:00: closed
    assert not closed.open_now
    assert closed.opens_at == at(2026, 1, 15, 19, 0)  # 20:00 the same day
    noon = window_check(night, at(2026, 1, 15, 11, 0))
    assert not noon.open_now and noon.opens_at == at(2026, 1, 15, 19, 0)
