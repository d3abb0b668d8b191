"""Disputes filed before SLAs existed get the organization's default deadline from when they
were filed (the data migration)."""

import datetime as dt
import importlib

import pytest
from django.apps import apps

from plixo.disputes.models import Dispute
from tests.factories import DisputeFactory

pytestmark = pytest.mark.django_db
backfill = importlib.import_module("plixo.disputes.migrations.0005_backfill_sla").backfill


def test_backfill_gives_old_disputes_their_business_hours_deadline(open_invoice):
    old = DisputeFactory(invoice=open_invoice)
    filed = dt.datetime(2026, 3, 6, 21, 0, tzinfo=dt.UTC)  # Friday 16:00 New York
    Dispute.objects.filter(pk=old.pk).update(created_at=filed, sla_due_at=None)
    done = DisputeFactory(invoice=open_invoice)
    Dispute.objects.filter(pk=done.pk).update(sla_due_at=filed)  # already set: left alone
    backfill(apps, None)
    old.refresh_from_db()
    # 24 business hours: Friday 1, Monday 8, Tuesday 8, Wednesday 7 → Wednesday 16:00 EDT.
    assert old.sla_due_at == dt.datetime(2026, 3, 11, 20, 0, tzinfo=dt.UTC)
    done.refresh_from_db()
    assert done.sla_due_at == filed
