"""`plixo seed`: an organization with a login per role and a synthetic ledger that keeps every
invariant the ledger services keep."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from plixo.core.models import Membership, Organization, Role, User
from plixo.core.money import currency_digits
from plixo.ledger.models import (
    Allocation,
    Customer,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    Payment,
    TimelineEvent,
)
from plixo.ledger.services import invoice_balance_from_rows
from plixo.seeding.members import APPROVAL_LIMITS, DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def ledger_snapshot(org: Organization) -> list[tuple]:
    return list(
        Invoice.objects.filter(organization=org)
        .order_by("number")
        .values_list(
            "number", "customer__name", "currency", "amount", "balance", "status", "due_date"
        )
    )


def test_creates_the_organization_with_a_login_per_role():
    seed("--org", "bench-x", "--invoices", "0")
    org = Organization.objects.get(slug="bench-x")
    members = Membership.objects.filter(organization=org).select_related("user")
    assert {m.role for m in members} == set(Role.values)
    emails = {m.user.email for m in members}
    assert emails == {
        f"{short}@bench-x.plixo.test"
        for short in ("controller", "manager", "operator", "billing", "sales", "csm", "legal")
    }
    for membership in members:
        assert membership.user.check_password(DEMO_PASSWORD)
        assert membership.approval_limit == APPROVAL_LIMITS[membership.role]
    assert APPROVAL_LIMITS[Role.AR_OPERATOR] == Decimal("10000")
    assert APPROVAL_LIMITS[Role.AR_MANAGER] == Decimal("50000")
    assert not Invoice.objects.filter(organization=org).exists()


def test_seeded_ledger_keeps_every_invariant():
    output = seed("--org", "inv", "--invoices", "400", "--seed", "3")
    org = Organization.objects.get(slug="inv")
    invoices = Invoice.objects.filter(organization=org)
    assert invoices.count() == 400
    assert "400 invoices" in output
    assert Customer.objects.filter(organization=org).count() == 20  # one per 20 invoices
    statuses = set(invoices.values_list("status", flat=True))
    assert {InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID} <= statuses

    allocated = dict(
        Allocation.objects.filter(organization=org)
        .values_list("invoice_id")
        .annotate(total=Sum("amount"))
    )
    adjusted = dict(
        InvoiceAdjustment.objects.filter(organization=org)
        .values_list("invoice_id")
        .annotate(total=Sum("amount"))
    )
    for invoice in invoices:
        paid = allocated.get(invoice.pk, Decimal(0))
        credited = adjusted.get(invoice.pk, Decimal(0))
        assert invoice.balance == invoice.amount - paid - credited, invoice.number
        assert invoice.amount == invoice.amount.quantize(
            Decimal(1).scaleb(-currency_digits(invoice.currency))
        )
        assert invoice.due_date >= invoice.issue_date
        if invoice.status == InvoiceStatus.OPEN:
            assert invoice.balance == invoice.amount and not paid and not credited
        elif invoice.status == InvoiceStatus.PARTIALLY_PAID:
            assert 0 < invoice.balance < invoice.amount and paid and not credited
        elif invoice.status == InvoiceStatus.PAID:
            assert invoice.balance == 0 and paid == invoice.amount
        else:
            assert invoice.balance == 0 and credited == invoice.amount and not paid
    sample = invoices.order_by("?")[:25]
    for invoice in sample:
        assert invoice.balance == invoice_balance_from_rows(invoice)

    for payment in Payment.objects.filter(organization=org).annotate(
        total=Sum("allocations__amount")
    ):
        assert payment.allocated_amount == payment.total == payment.amount
        assert payment.customer_id is not None
        assert timezone.is_aware(payment.received_at)

    kinds = dict(
        TimelineEvent.objects.filter(organization=org, kind=TimelineEvent.Kind.IMPORTED)
        .values_list("invoice_id")
        .annotate(n=Count("id"))
    )
    assert set(kinds) == set(invoices.values_list("pk", flat=True))
    assert set(kinds.values()) == {1}
    paid_events = TimelineEvent.objects.filter(
        organization=org, kind=TimelineEvent.Kind.PAYMENT_RECORDED
    )
    assert paid_events.count() == Payment.objects.filter(organization=org).count()
    event = paid_events.select_related("invoice").first()
    assert event.data["reference"].startswith("SEED-P")
    assert event.data["to"] == event.invoice.status
    assert not TimelineEvent.objects.filter(organization=org, at__gt=timezone.now()).exists()

    for customer in Customer.objects.filter(organization=org):
        contacts = list(customer.contacts.all())
        assert 1 <= len(contacts) <= 3
        assert sum(c.is_primary for c in contacts) == 1
        assert all(c.email.endswith(".example") for c in contacts)
        assert all(c.organization_id == org.pk for c in contacts)


def test_same_seed_gives_the_same_ledger_and_rerunning_adds_more():
    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            seed("--org", "det", "--invoices", "120", "--seed", "42")
            first = ledger_snapshot(Organization.objects.get(slug="det"))
            raise Rollback
    except Rollback:
        pass
    assert not Organization.objects.filter(slug="det").exists()

    seed("--org", "det", "--invoices", "120", "--seed", "42")
    org = Organization.objects.get(slug="det")
    assert ledger_snapshot(org) == first

    seed("--org", "det", "--invoices", "30", "--seed", "42")
    numbers = list(Invoice.objects.filter(organization=org).values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 150
    assert max(numbers) == "SEED-000000150"
    assert Customer.objects.filter(organization=org).count() == 6 + 2
    assert User.objects.filter(email__endswith="@det.plixo.test").count() == 7
    assert Membership.objects.filter(organization=org).count() == 7


def test_customers_zero_reuses_existing_customers_and_all_open_writes_no_money():
    seed("--org", "reuse", "--invoices", "40")
    org = Organization.objects.get(slug="reuse")
    seed("--org", "reuse", "--invoices", "60", "--customers", "0", "--all-open")
    assert Customer.objects.filter(organization=org).count() == 2
    latest = Invoice.objects.filter(organization=org, number__gt="SEED-000000040")
    assert latest.count() == 60
    assert set(latest.values_list("status", flat=True)) == {InvoiceStatus.OPEN}
    assert not Allocation.objects.filter(invoice__in=latest).exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--org", "Not A Slug!", "--invoices", "1"], "slug"),
        (["--org", "empty", "--invoices", "5", "--customers", "0"], "no customers"),
        (["--org", "x", "--invoices", "-3"], "invalid count value"),
        (["--org", "x", "--invoices", "3", "--batch-size", "0"], "batch size"),
        (["--org", "x2", "--invoices", "1", "--time-zone", "Mars/Olympus"], "time zone"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        seed(*args)
