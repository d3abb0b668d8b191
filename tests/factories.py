"""factory_boy factories, one per model. Money is always a Decimal string, never a float."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from plixo.api.models import ApiKey
from plixo.core.models import AuditEvent, Membership, Organization, Role, User
from plixo.ledger.models import (
    Allocation,
    Contact,
    Customer,
    Invoice,
    Payment,
    TimelineEvent,
)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    base_currency = "USD"
    time_zone = "America/New_York"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "plixo-test-password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.AR_OPERATOR
    approval_limit = Decimal("10000")


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    organization = factory.SubFactory(OrganizationFactory)
    action = AuditEvent.Action.ROLE_CHANGED
    before = factory.LazyFunction(lambda: {"role": "ar_operator"})
    after = factory.LazyFunction(lambda: {"role": "ar_manager"})
    reason = "Covering for a colleague"
    actor_label = "system"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"CUST-{n:05d}")
    name = factory.Faker("company")
    segment = "mid-market"
    time_zone = "America/Chicago"
    country = "US"
    currency = "USD"
    risk_score = 20


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"ap{n}@payer.example")
    role = "Accounts payable"
    is_primary = False


class InvoiceFactory(factory.django.DjangoModelFactory):
    """An open invoice with its balance equal to its amount (no money rows yet)."""

    class Meta:
        model = Invoice

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    number = factory.Sequence(lambda n: f"INV-{n:06d}")
    issue_date = factory.LazyFunction(lambda: timezone.now().date() - dt.timedelta(days=40))
    due_date = factory.LazyAttribute(lambda o: o.issue_date + dt.timedelta(days=30))
    currency = "USD"
    amount = Decimal("1250.00")
    balance = factory.SelfAttribute("amount")
    po_number = factory.Sequence(lambda n: f"PO-{n:04d}")
    description = "Professional services"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # As `invoice_create` does: the customer's cached open balance counts the invoice.
        from plixo.ledger.services.balances import customer_balance_move

        invoice = super()._create(model_class, *args, **kwargs)
        customer_balance_move(invoice=invoice, before=None)
        return invoice


class PaymentFactory(factory.django.DjangoModelFactory):
    """A payment with nothing allocated; use `ledger.services.payment_record` to apply money."""

    class Meta:
        model = Payment

    organization = factory.SubFactory(OrganizationFactory)
    reference = factory.Sequence(lambda n: f"PAY-{n:06d}")
    amount = Decimal("500.00")
    allocated_amount = Decimal("0")
    currency = "USD"
    received_at = factory.LazyFunction(timezone.now)


class AllocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allocation

    payment = factory.SubFactory(PaymentFactory)
    invoice = factory.SubFactory(InvoiceFactory)
    organization = factory.SelfAttribute("invoice.organization")
    amount = Decimal("100.00")


class TimelineEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEvent

    invoice = factory.SubFactory(InvoiceFactory)
    organization = factory.SelfAttribute("invoice.organization")
    kind = TimelineEvent.Kind.NOTE
    actor_label = "system"
    at = factory.LazyFunction(timezone.now)
    data = factory.LazyFunction(lambda: {"text": "Called AP, left a voicemail."})


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiKey

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    prefix = factory.Sequence(lambda n: f"plx{n:05d}")
    key_hash = factory.Sequence(lambda n: f"{n:064x}")


# --- commitments and disputes ------------------------------------------------------------------
# Direct rows for reads and pages; the services (`commitments.services`, `disputes.services`) are
# what tests of the rules call.

import hashlib  # noqa: E402

from plixo.commitments.models import PaymentPlan, PlanInstallment, Promise  # noqa: E402
from plixo.disputes.models import Dispute, DisputeAttachment  # noqa: E402

MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
MINIMAL_PDF_SHA256 = hashlib.sha256(MINIMAL_PDF).hexdigest()


class PromiseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promise

    invoice = factory.SubFactory(InvoiceFactory)
    organization = factory.SelfAttribute("invoice.organization")
    amount = Decimal("250.00")
    currency = factory.SelfAttribute("invoice.currency")
    promised_on = factory.LazyFunction(lambda: timezone.now().date() + dt.timedelta(days=7))
    source = "staff"
    actor_label = "system"


class PaymentPlanFactory(factory.django.DjangoModelFactory):
    """A plan with no installments; add them with `PlanInstallmentFactory`."""

    class Meta:
        model = PaymentPlan

    invoice = factory.SubFactory(InvoiceFactory)
    organization = factory.SelfAttribute("invoice.organization")
    total = Decimal("600.00")
    currency = factory.SelfAttribute("invoice.currency")
    reason = "Cash flow is tight this quarter"
    source = "staff"
    actor_label = "system"


class PlanInstallmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanInstallment

    plan = factory.SubFactory(PaymentPlanFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    due_on = factory.LazyAttribute(
        lambda o: timezone.now().date() + dt.timedelta(days=30 * o.sequence)
    )
    amount = Decimal("200.00")


class DisputeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dispute

    invoice = factory.SubFactory(InvoiceFactory)
    organization = factory.SelfAttribute("invoice.organization")
    reason_code = "pricing"
    amount = Decimal("100.00")
    currency = factory.SelfAttribute("invoice.currency")
    description = "Unit price differs from the contract."
    source = "staff"
    actor_label = "system"


class DisputeAttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DisputeAttachment

    dispute = factory.SubFactory(DisputeFactory)
    organization = factory.SelfAttribute("dispute.organization")
    file = factory.django.FileField(filename="evidence.pdf", data=MINIMAL_PDF)
    original_name = "evidence.pdf"
    content_type = "application/pdf"
    size = len(MINIMAL_PDF)
    sha256 = MINIMAL_PDF_SHA256


def data_ready(organization):
    """A passing Data-Ready run, which going live requires (tests that go live without
    running the checks themselves)."""
    from django.utils import timezone

    from plixo.readiness.models import ReadinessRun

    return ReadinessRun.objects.create(
        organization=organization, ran_at=timezone.now(), results=[], passed=True
    )
