"""Promises, plans and disputes in the support admin: read-only, scoped by organization, and
no link to an attachment's file."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from plixo.disputes.services import dispute_file
from tests.disputes import files
from tests.disputes.files import upload
from tests.factories import (
    CustomerFactory,
    InvoiceFactory,
    PaymentPlanFactory,
    PlanInstallmentFactory,
    PromiseFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [
    ("commitments", "promise"),
    ("commitments", "paymentplan"),
    ("disputes", "dispute"),
    ("disputes", "disputeattachment"),
]


def _records(org, tag):
    invoice = InvoiceFactory(
        customer=CustomerFactory(organization=org, name=f"{tag} Customer"),
        number=f"{tag}-INV",
        amount=Decimal("900.00"),
    )
    PromiseFactory(invoice=invoice)
    plan = PaymentPlanFactory(invoice=invoice)
    PlanInstallmentFactory(plan=plan, sequence=1, amount=Decimal("300.00"))
    PlanInstallmentFactory(plan=plan, sequence=2, amount=Decimal("300.00"))
    dispute = dispute_file(
        invoice=invoice,
        reason_code="quality",
        amount="10",
        description=f"{tag} dispute",
        attachments=[upload(f"{tag}-evidence.pdf", files.PDF)],
    )
    return dispute


@pytest.fixture
def acme_staff(personas):
    _records(personas.org, "Acme")
    _records(personas.other_org, "Globex")
    user = personas.controller.user
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["commitments", "disputes"])
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("app", "model"), MODELS)
def test_changelists_are_scoped_and_read_only(acme_staff, app, model):
    response = acme_staff.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme" in body and "Globex" not in body
    assert acme_staff.get(reverse(f"admin:{app}_{model}_add")).status_code == 403


def test_attachment_pages_never_link_to_the_file(acme_staff, personas):
    attachment = _records(personas.org, "Acme2").attachments.get()
    page = acme_staff.get(
        reverse("admin:disputes_disputeattachment_change", args=[attachment.pk])
    ).content.decode()
    assert "Acme2-evidence.pdf" in page
    assert attachment.file.name not in page
    dispute_page = acme_staff.get(
        reverse("admin:disputes_dispute_change", args=[attachment.dispute.pk])
    ).content.decode()
    assert "Acme2-evidence.pdf" in dispute_page and attachment.file.name not in dispute_page
