"""The raw row writer (`plixo.core.bulk`) behind the import pipeline's loader and the synthetic
seeder: it hands the driver what the ORM would, and fills the columns its caller leaves out."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from plixo.core.bulk import BulkTable, fast_adapter
from plixo.ledger.models import Contact, Customer, Invoice, TimelineEvent

pytestmark = pytest.mark.django_db


def test_fast_adapters_prepare_values_exactly_like_django():
    """The raw writer's shortcuts must hand the driver what the ORM would."""
    now = timezone.now()
    samples = {
        Invoice: {
            "issue_date": dt.date(2025, 3, 1),
            "amount": Decimal("12.5000"),
            "status": "open",
            "customer": 7,
            "public_id": uuid.uuid4(),
            "created_at": now,
        },
        TimelineEvent: {"at": now.astimezone(dt.timezone(dt.timedelta(hours=-5)))},
        Contact: {"is_primary": True, "suppressed_until": None},
        Customer: {"risk_score": 42},
    }
    for model, values in samples.items():
        for name, value in values.items():
            field = model._meta.get_field(name)
            adapter = fast_adapter(field, connection)
            assert adapter is not None, name
            assert adapter(value) == field.get_db_prep_save(value, connection), name


def test_bulk_table_fills_defaults_and_refuses_models_it_cannot_fill(personas):
    org = personas.org
    customer = Customer.objects.create(organization=org, external_id="T-1", name="T")
    table = BulkTable(Contact, ("organization", "customer", "email"))
    with transaction.atomic():
        table.insert([(org.pk, customer.pk, "a@t.example"), (org.pk, customer.pk, "b@t.example")])
    contacts = list(Contact.objects.filter(customer=customer).order_by("email"))
    assert [c.email for c in contacts] == ["a@t.example", "b@t.example"]
    assert contacts[0].public_id != contacts[1].public_id  # callable default, per row
    assert contacts[0].name == "" and contacts[0].suppressed_until is None
    assert contacts[0].created_at is not None
    with pytest.raises(ImproperlyConfigured, match="needs a value for issue_date"):
        BulkTable(Invoice, ("organization", "customer", "number"))
