"""Leader election: one conditional UPDATE on the lease row decides who schedules."""

import datetime as dt

import pytest
import time_machine
from django.db.models import QuerySet
from django.utils import timezone

from plixo.ops import services
from plixo.ops.models import SchedulerLease
from tests.ops.conftest import T0

TTL = dt.timedelta(seconds=30)

pytestmark = pytest.mark.django_db


def holder_now() -> str:
    return SchedulerLease.objects.get(name=SchedulerLease.SCHEDULER).holder


def test_first_scheduler_takes_the_lease_and_the_second_waits():
    with time_machine.travel(T0, tick=False):
        assert services.lease_acquire(holder="a", ttl=TTL) is True
        assert services.lease_acquire(holder="b", ttl=TTL) is False

    lease = SchedulerLease.objects.get()
    assert lease.holder == "a"
    assert lease.expires_at == T0 + TTL


def test_the_leader_renews_and_keeps_the_lease_past_the_first_expiry():
    with time_machine.travel(T0, tick=False) as traveller:
        assert services.lease_acquire(holder="a", ttl=TTL)
        traveller.shift(dt.timedelta(seconds=20))
        assert services.lease_acquire(holder="a", ttl=TTL)
        traveller.shift(dt.timedelta(seconds=20))  # 40 s after the first take: renewed at 20 s
        assert services.lease_acquire(holder="b", ttl=TTL) is False

    assert holder_now() == "a"
    assert SchedulerLease.objects.get().expires_at == T0 + dt.timedelta(seconds=50)


def test_a_standby_takes_over_once_the_leader_stops_renewing():
    with time_machine.travel(T0, tick=False) as traveller:
        assert services.lease_acquire(holder="a", ttl=TTL)
        traveller.shift(TTL - dt.timedelta(seconds=1))
        assert services.lease_acquire(holder="b", ttl=TTL) is False
        traveller.shift(dt.timedelta(seconds=1))  # exactly at expiry
        assert services.lease_acquire(holder="b", ttl=TTL) is True
        # The old leader comes back from a long pause: it is no longer the leader.
        assert services.lease_acquire(holder="a", ttl=TTL) is False

    assert holder_now() == "b"


def test_releasing_hands_the_lease_over_at_once():
    with time_machine.travel(T0, tick=False):
        services.lease_acquire(holder="a", ttl=TTL)
        assert services.lease_release(holder="b") is False  # not b's to release
        assert services.lease_release(holder="a") is True
        assert services.lease_acquire(holder="b", ttl=TTL) is True


def test_only_the_holder_records_ticks():
    with time_machine.travel(T0, tick=False):
        services.lease_acquire(holder="a", ttl=TTL)
        assert services.lease_tick_record(holder="b") is False
        assert services.lease_tick_record(holder="a") is True

    assert SchedulerLease.objects.get().last_tick_at == T0


def test_a_concurrent_insert_of_the_lease_row_makes_the_other_scheduler_leader(monkeypatch):
    original_exists = QuerySet.exists

    def rival_inserts_after_our_check(queryset):
        if queryset.model is not SchedulerLease:
            return original_exists(queryset)
        seen = original_exists(queryset)
        # The rival's INSERT lands between our check ("no row yet") and our INSERT.
        SchedulerLease.objects.create(
            name=SchedulerLease.SCHEDULER, holder="rival", expires_at=timezone.now() + TTL
        )
        return seen

    monkeypatch.setattr(QuerySet, "exists", rival_inserts_after_our_check)

    assert services.lease_acquire(holder="a", ttl=TTL) is False
    monkeypatch.undo()
    assert holder_now() == "rival"
