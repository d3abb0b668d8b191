"""Daily caps (organization, operator) and the warmup ramp of a new sending domain: the excess
waits for the next day's window and nothing is dropped."""

import datetime as dt

from django.core import mail

from plixo.comms.models import Message, SendingDomain
from plixo.comms.services import outbox_send
from plixo.comms.services.outbox import warmup_cap
from tests.comms.outbox_helpers import approved, events
from tests.factories import ContactFactory, CustomerFactory

UTC = dt.UTC


def _customers(org, n):
    found = []
    for i in range(n):
        customer = CustomerFactory(organization=org, time_zone="America/New_York", country="US")
        ContactFactory(customer=customer, email=f"ap{i}@payer{i}.example", is_primary=True)
        found.append(customer)
    return found


def test_the_daily_cap_holds_the_rest_to_the_next_days_window(personas, live_org, sending, clock):
    sending.daily_cap = 2
    sending.warmup_enabled = False
    sending.save()
    messages = [approved(c, actor=personas.operator.user) for c in _customers(personas.org, 3)]
    counts = outbox_send()
    assert counts["sent"] == 2 and counts["held"] == 1, counts
    held = Message.objects.get(status=Message.Status.QUEUED)
    assert held.hold_reason == "daily cap reached (2 emails)"
    assert held.send_after == dt.datetime(2026, 3, 4, 13, 0, tzinfo=UTC)  # Wednesday 08:00 EST
    assert len(events(held, "email_held")) == 1
    # Nothing dropped, and nothing more today.
    clock.move_to(dt.datetime(2026, 3, 3, 22, 0, tzinfo=UTC))
    assert outbox_send()["sent"] == 0
    assert len(mail.outbox) == 2
    clock.move_to(dt.datetime(2026, 3, 4, 13, 0, tzinfo=UTC))
    assert outbox_send()["sent"] == 1
    assert Message.objects.filter(status=Message.Status.SENT).count() == 3
    assert {m.to[0] for m in mail.outbox} == {m.contact.email for m in messages}


def test_the_operator_cap_counts_what_that_operator_approved(personas, live_org, sending, clock):
    sending.operator_daily_cap = 1
    sending.warmup_enabled = False
    sending.save()
    first, second, third = _customers(personas.org, 3)
    operator = personas.operator.user
    manager = personas.members["ar_manager"].user
    mine = [approved(first, actor=operator), approved(second, actor=operator)]
    theirs = approved(third, actor=manager)
    counts = outbox_send()
    assert counts["sent"] == 2 and counts["held"] == 1, counts
    statuses = {m.pk: Message.objects.get(pk=m.pk) for m in [*mine, theirs]}
    assert statuses[theirs.pk].status == Message.Status.SENT
    held = [m for m in statuses.values() if m.status == Message.Status.QUEUED]
    assert len(held) == 1 and held[0].approved_by == operator
    assert held[0].hold_reason == "operator's daily cap reached (1 emails)"
    assert held[0].send_after == dt.datetime(2026, 3, 4, 13, 0, tzinfo=UTC)


def test_warmup_starts_at_the_first_day_cap_and_doubles_up_to_the_daily_cap(personas, sending):
    sending.warmup_first_day_cap = 50
    sending.daily_cap = 500
    domain = SendingDomain(organization=personas.org, domain="acme.example")
    domain.warmup_started_on = dt.date(2026, 3, 3)
    caps = [warmup_cap(sending, domain, dt.date(2026, 3, 3 + day)) for day in range(6)]
    assert caps == [50, 100, 200, 400, 500, 500]
    assert warmup_cap(sending, domain, dt.date(2026, 12, 1)) == 500
    # A domain that has not sent yet is on day 0.
    assert warmup_cap(sending, None, dt.date(2026, 3, 3)) == 50
    sending.warmup_enabled = False
    assert warmup_cap(sending, domain, dt.date(2026, 3, 3)) == 500


def test_a_new_sending_domain_sends_its_first_day_cap_then_more_the_next_day(
    personas, live_org, sending, clock
):
    sending.warmup_first_day_cap = 2
    sending.daily_cap = 100
    sending.save()
    for customer in _customers(personas.org, 5):
        approved(customer, actor=personas.operator.user)
    counts = outbox_send()
    assert counts["sent"] == 2 and counts["held"] == 3, counts
    reasons = set(
        Message.objects.filter(status=Message.Status.QUEUED).values_list("hold_reason", flat=True)
    )
    assert len(reasons) == 1 and reasons.pop().startswith("warmup cap reached for ")
    domain = SendingDomain.objects.get(organization=personas.org)
    assert domain.warmup_started_on == dt.date(2026, 3, 3)
    clock.move_to(dt.datetime(2026, 3, 4, 13, 0, tzinfo=UTC))  # day 1: twice as many
    assert outbox_send()["sent"] == 3
    assert Message.objects.filter(status=Message.Status.SENT).count() == 5
