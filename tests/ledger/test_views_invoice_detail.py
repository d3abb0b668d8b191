"""Invoice detail (summary, allocations, timeline) and its actions: record payment, void, write
off. Actions go through the ledger services; refused input shows as a form error and writes
nothing."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from plixo.core.models import Role
from plixo.ledger import services
from plixo.ledger.models import (
    Allocation,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    Payment,
    TimelineEvent,
)
from plixo.ledger.selectors import org_today
from tests.factories import CustomerFactory, PaymentFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(personas):
    customer = CustomerFactory(organization=personas.org, name="Acme Logistics")
    today = org_today(personas.org)
    return services.invoice_create(
        organization=personas.org,
        customer=customer,
        number="INV-1001",
        issue_date=today - dt.timedelta(days=45),
        due_date=today - dt.timedelta(days=15),
        currency="USD",
        amount="1200.00",
        po_number="PO-77",
        description="Quarterly maintenance",
        actor=personas.members[Role.BILLING_ADMIN].user,
    )


def _url(invoice, name="ledger:invoice-detail"):
    return reverse(name, kwargs={"invoice_id": invoice.public_id})


def _pay(client, invoice, **fields):
    data = {
        "pay-reference": "ACH-1",
        "pay-amount": "200.00",
        "pay-received_on": str(org_today(invoice.organization)),
        "pay-method": "ach",
        "pay-memo": "",
    }
    data.update({f"pay-{key}": value for key, value in fields.items()})
    return client.post(_url(invoice, "ledger:invoice-record-payment"), data)


def test_detail_shows_summary_and_timeline(personas, invoice):
    response = personas.client_for(Role.CONTROLLER).get(_url(invoice))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Invoice INV-1001" in body
    assert "Acme Logistics" in body
    assert "$1,200.00" in body
    assert "PO-77" in body
    assert "Quarterly maintenance" in body
    assert '<span class="badge badge-open">Open</span>' in body
    assert "15 days ago" in body
    assert "Invoice created" in body
    assert "Amount $1,200.00" in body
    assert f"by {personas.members[Role.BILLING_ADMIN].user}" in body


def test_timeline_tells_the_story_newest_first(personas, invoice):
    operator = personas.operator.user
    services.invoice_update(invoice=invoice, actor=operator, po_number="PO-78")
    services.payment_record(
        organization=personas.org,
        reference="WIRE-9",
        amount="500.00",
        currency="USD",
        method="wire",
        allocations=[services.AllocationRequest(invoice=invoice, amount=Decimal("500.00"))],
        actor=operator,
    )
    TimelineEventFactory(
        invoice=invoice, kind="promise_made", data={"amount": "700.00", "due_on": "2030-01-31"}
    )

    body = personas.client_for(Role.CONTROLLER).get(_url(invoice)).content.decode()

    assert "Details updated" in body
    assert "PO number" in body and "PO-77 → PO-78" in body
    assert "$500.00 applied from payment WIRE-9 (wire, entered by hand)." in body
    assert "Open → Partially paid" in body
    assert "Balance now" in body and "$700.00" in body
    # An event kind this page does not know is still shown, from its label and data.
    assert "Promise made" in body and "Jan 31, 2030" in body
    positions = [
        body.index(text) for text in ("Promise made", "Payment recorded", "Invoice created")
    ]
    assert positions == sorted(positions)
    assert "WIRE-9" in body.split("Payments applied", 1)[1]


def test_actions_are_shown_by_capability(personas, invoice):
    def actions(role):
        body = personas.client_for(role).get(_url(invoice)).content.decode()
        return {
            name
            for name, marker in [
                ("payment", "/payments/"),
                ("void", "/void/"),
                ("writeoff", "/write-off/"),
            ]
            if f'action="{_url(invoice)}{marker[1:]}' in body
        }

    assert actions(Role.CONTROLLER) == {"payment", "void", "writeoff"}
    assert actions(Role.AR_OPERATOR) == {"payment"}
    assert actions(Role.BILLING_ADMIN) == {"void"}
    assert actions(Role.LEGAL) == {"writeoff"}
    invoice.customer.owner = personas.members[Role.CSM].user
    invoice.customer.save()
    assert actions(Role.CSM) == set()


def test_sales_and_csm_only_open_invoices_of_their_accounts(personas, invoice):
    assert personas.client_for(Role.SALES).get(_url(invoice)).status_code == 404
    invoice.customer.owner = personas.members[Role.SALES].user
    invoice.customer.save()

    response = personas.client_for(Role.SALES).get(_url(invoice))

    assert response.status_code == 200
    assert "can view this invoice but not change it" in response.content.decode()


def test_another_organizations_invoice_is_a_404(personas, invoice):
    client = personas.client_for(Role.CONTROLLER)
    client.force_login(personas.outsider.user)

    assert client.get(_url(invoice)).status_code == 404
    assert _pay(client, invoice).status_code == 404


def test_record_payment_applies_it_and_redirects_with_a_message(personas, invoice):
    client = personas.client_for(Role.AR_OPERATOR)

    response = _pay(client, invoice, amount="200.00", memo="Remittance #4411")

    assert response.status_code == 302
    assert response.url == _url(invoice)
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1000.00")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    payment = Payment.objects.get(reference="ACH-1")
    assert payment.created_by == personas.operator.user
    assert payment.customer == invoice.customer
    assert payment.memo == "Remittance #4411"
    page = client.get(response.url).content.decode()
    assert "Payment ACH-1 recorded: $200.00 applied to INV-1001." in page


def test_record_payment_form_defaults_to_the_balance(personas, invoice):
    body = personas.client_for(Role.AR_OPERATOR).get(_url(invoice)).content.decode()

    assert 'name="pay-amount" value="1200.00"' in body


def test_payment_on_an_earlier_day_is_dated_that_day(personas, invoice):
    day = org_today(personas.org) - dt.timedelta(days=3)

    _pay(personas.client_for(Role.AR_OPERATOR), invoice, received_on=str(day))

    payment = Payment.objects.get(reference="ACH-1")
    local = payment.received_at.astimezone(ZoneInfo(personas.org.time_zone))
    assert (local.date(), local.hour) == (day, 12)


def test_overpayment_is_recorded_with_the_rest_unapplied(personas, invoice):
    client = personas.client_for(Role.AR_OPERATOR)

    response = _pay(client, invoice, amount="1500.00")

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.balance == 0 and invoice.status == InvoiceStatus.PAID
    payment = Payment.objects.get(reference="ACH-1")
    assert payment.allocated_amount == Decimal("1200.00")
    assert payment.unapplied_amount == Decimal("300.00")
    assert "$300.00 is unapplied" in client.get(response.url).content.decode()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"amount": "10.005"}, "more decimal places than USD allows"),
        ({"amount": "0"}, "greater than zero"),
        ({"amount": "-5"}, "greater than zero"),
        ({"amount": "ten"}, "Enter a number."),
        ({"reference": ""}, "This field is required."),
        ({"received_on": "2100-01-01"}, "cannot be received in the future"),
        ({"received_on": "yesterday"}, "Enter a valid date."),
        ({"method": "bitcoin"}, "Select a valid choice."),
    ],
)
def test_bad_payment_input_is_a_form_error_and_writes_nothing(personas, invoice, fields, error):
    response = _pay(personas.client_for(Role.AR_OPERATOR), invoice, **fields)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1200.00")
    assert TimelineEvent.objects.filter(invoice=invoice).count() == 1


def test_service_refusal_shows_as_a_form_error(personas, invoice):
    PaymentFactory(organization=personas.org, reference="ACH-1")

    response = _pay(personas.client_for(Role.AR_OPERATOR), invoice)

    assert response.status_code == 200
    assert "A payment with reference &#x27;ACH-1&#x27; already exists." in response.content.decode()
    assert not Allocation.objects.exists()
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1200.00")


def test_roles_without_the_capability_get_403_on_actions(personas, invoice):
    sales = personas.client_for(Role.SALES)
    billing = personas.client_for(Role.BILLING_ADMIN)

    assert _pay(sales, invoice).status_code == 403
    assert _pay(billing, invoice).status_code == 403
    assert (
        personas.client_for(Role.AR_OPERATOR)
        .post(_url(invoice, "ledger:invoice-void"), {"void-reason": "x"})
        .status_code
        == 403
    )
    assert (
        billing.post(
            _url(invoice, "ledger:invoice-write-off"), {"writeoff-reason": "x"}
        ).status_code
        == 403
    )
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN


def test_actions_refuse_get(personas, invoice):
    client = personas.client_for(Role.CONTROLLER)
    for name in (
        "ledger:invoice-record-payment",
        "ledger:invoice-void",
        "ledger:invoice-write-off",
    ):
        assert client.get(_url(invoice, name)).status_code == 405


def test_void_with_a_reason(personas, invoice):
    client = personas.client_for(Role.BILLING_ADMIN)

    response = client.post(_url(invoice, "ledger:invoice-void"), {"void-reason": "Duplicate"})

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID and invoice.balance == 0
    page = client.get(_url(invoice)).content.decode()
    assert "Invoice INV-1001 is void." in page
    assert "Reason: Duplicate" in page
    assert "nothing left to do" in page


def test_void_needs_a_reason(personas, invoice):
    response = personas.client_for(Role.BILLING_ADMIN).post(
        _url(invoice, "ledger:invoice-void"), {"void-reason": "  "}
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN


def test_void_is_refused_once_payments_are_applied(personas, invoice):
    client = personas.client_for(Role.CONTROLLER)
    _pay(client, invoice, amount="100.00")
    assert "/void/" not in client.get(_url(invoice)).content.decode()

    response = client.post(_url(invoice, "ledger:invoice-void"), {"void-reason": "Oops"})

    assert response.status_code == 200
    assert "partially paid cannot become void" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID


def test_partial_write_off(personas, invoice):
    client = personas.client_for(Role.LEGAL)

    response = client.post(
        _url(invoice, "ledger:invoice-write-off"),
        {"writeoff-reason": "Goodwill credit", "writeoff-amount": "200.00"},
    )

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1000.00")
    assert invoice.status == InvoiceStatus.OPEN  # a write-off is not a payment
    adjustment = InvoiceAdjustment.objects.get(invoice=invoice)
    assert adjustment.created_by == personas.members[Role.LEGAL].user
    page = client.get(_url(invoice)).content.decode()
    assert "$200.00 of INV-1001 written off." in page
    assert "Goodwill credit" in page


def test_full_write_off_closes_the_invoice(personas, invoice):
    client = personas.client_for(Role.CONTROLLER)

    client.post(_url(invoice, "ledger:invoice-write-off"), {"writeoff-reason": "Insolvent"})

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF and invoice.balance == 0


@pytest.mark.parametrize(
    ("amount", "error"),
    [("5000", "at most the balance"), ("0", "greater than zero"), ("1.234", "decimal places")],
)
def test_bad_write_off_amount_is_refused(personas, invoice, amount, error):
    response = personas.client_for(Role.CONTROLLER).post(
        _url(invoice, "ledger:invoice-write-off"),
        {"writeoff-reason": "Insolvent", "writeoff-amount": amount},
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not InvoiceAdjustment.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).balance == Decimal("1200.00")


def test_summary_and_timeline_come_before_the_action_forms(personas, invoice):
    """On a phone the page is one column in document order: the invoice first, then the
    forms, reached from a jump link in the header."""
    body = personas.client_for(Role.CONTROLLER).get(_url(invoice)).content.decode()

    summary = body.index('id="summary-title"')
    timeline = body.index('id="timeline-title"')
    actions = body.index('id="actions"')
    assert summary < timeline < actions
    assert body.index(f'action="{_url(invoice, "ledger:invoice-record-payment")}"') > actions
    assert '<a class="btn show-narrow" href="#actions">Record payment' in body


def test_no_jump_link_when_the_role_has_no_action(personas, invoice):
    invoice.customer.owner = personas.members[Role.SALES].user
    invoice.customer.save()

    body = personas.client_for(Role.SALES).get(_url(invoice)).content.decode()

    assert 'href="#actions"' not in body


def test_a_csm_may_log_a_promise_on_their_account(personas, invoice):
    invoice.customer.owner = personas.members[Role.CSM].user
    invoice.customer.save()

    body = personas.client_for(Role.CSM).get(_url(invoice)).content.decode()

    assert 'href="#actions"' in body
    assert "Add promise" in body
    assert "Create payment plan" not in body and "Record payment" not in body


def test_closed_invoice_offers_no_actions(personas, invoice):
    services.invoice_void(invoice=invoice, actor=None, reason="Duplicate")

    body = personas.client_for(Role.CONTROLLER).get(_url(invoice)).content.decode()

    assert "Record payment" not in body
    assert "/write-off/" not in body


def test_payment_in_a_zero_decimal_currency(personas):
    customer = CustomerFactory(organization=personas.org, currency="JPY")
    today = org_today(personas.org)
    invoice = services.invoice_create(
        organization=personas.org,
        customer=customer,
        number="JP-1",
        issue_date=today,
        due_date=today,
        currency="JPY",
        amount="50000",
    )
    client = personas.client_for(Role.CONTROLLER)
    assert 'name="pay-amount" value="50000"' in client.get(_url(invoice)).content.decode()

    refused = _pay(client, invoice, amount="100.50")
    accepted = _pay(client, invoice, amount="20000")

    assert "more decimal places than JPY allows" in refused.content.decode()
    assert accepted.status_code == 302
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("30000")
    assert "¥30,000" in client.get(_url(invoice)).content.decode()


def test_record_payment_asks_for_the_method_instead_of_assuming_one(personas, invoice):
    client = personas.client_for(Role.CONTROLLER)
    page = client.get(_url(invoice)).content.decode()
    assert '<option value="" selected>Choose…</option>' in page

    response = _pay(client, invoice, method="")

    assert "This field is required." in response.content.decode()
    assert not invoice.allocations.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("received_on", "0001-01-01", "between 1970-01-01 and 2199-12-31"),
        ("received_on", "9999-12-31", "between 1970-01-01 and 2199-12-31"),
        ("reference", "ACH-1\r\nBcc: x@evil.example", "single line"),
    ],
)
def test_record_payment_refuses_dates_out_of_range_and_broken_references(
    personas, invoice, field, value, message
):
    response = _pay(personas.client_for(Role.CONTROLLER), invoice, **{field: value})

    assert response.status_code in (200, 400)
    assert message in response.content.decode()
    assert not Payment.objects.exists()
    # The invoice page still shows: nothing out of range was stored.
    assert personas.client_for(Role.CONTROLLER).get(_url(invoice)).status_code == 200


def test_a_nul_in_a_form_or_search_is_refused_and_nothing_saved(personas, invoice):
    client = personas.client_for(Role.CONTROLLER)

    posted = _pay(client, invoice, memo="paid\x00")
    searched = client.get(reverse("ledger:invoice-list"), {"q": "INV\x00"})
    encoded = client.post(
        reverse("ledger:invoice-list"), "q=INV%00", content_type="application/x-www-form-urlencoded"
    )

    # A multipart form reaches its form, whose text fields refuse NUL themselves.
    assert (
        posted.status_code == 200 and "Null characters are not allowed" in posted.content.decode()
    )
    assert searched.status_code == 400 and encoded.status_code == 400
    assert "does not accept" in searched.content.decode()
    assert searched["X-Request-ID"] in searched.content.decode()
    assert not Payment.objects.exists()


def test_signed_in_pages_are_never_stored(personas, invoice):
    response = personas.client_for(Role.CONTROLLER).get(_url(invoice))

    assert response["Cache-Control"] == "private, no-store"
