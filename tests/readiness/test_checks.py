import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from plixo.comms.models import Message
from plixo.disputes.models import Dispute
from plixo.ledger.models import Contact, Customer, Invoice, TimelineEvent
from plixo.ledger.selectors import org_today
from plixo.ledger.services.invoices import invoice_void
from plixo.portal.models import PortalEvent, PortalLink, PortalSession
from plixo.readiness.checks import (
    check_aging_parity,
    check_contact_coverage,
    check_dispute_smoke,
)
from plixo.readiness.models import ReadinessRun
from plixo.readiness.services import aging_export_upload, readiness_run
from plixo.reports.models import ExchangeRate
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def _plain(current="0", b1_30="0", b31_60="0", b61_90="0", b90="0") -> bytes:
    return (
        "customer,current,1_30,31_60,61_90,90_plus\n"
        f"All customers,{current},{b1_30},{b31_60},{b61_90},{b90}\n"
    ).encode()


def _upload(org, data, currency=None):
    return aging_export_upload(
        organization=org, data=data, file_name="aging.csv", as_of=org_today(org), currency=currency
    )


# --- contact coverage --------------------------------------------------------------------------


def test_coverage_passes_when_every_open_invoice_has_a_deliverable_contact(
    personas, covered_invoice
):
    result = check_contact_coverage(organization=personas.org)
    assert result.passed and result.figure == "100.00%" and result.remediation == ""


def test_coverage_fails_below_95_percent_and_names_the_customers(
    personas, covered_invoice, uncovered_invoice
):
    result = check_contact_coverage(organization=personas.org)
    assert not result.passed
    assert result.figure == "50.00%" and result.threshold == "≥ 95%"
    assert "1 of 2 open invoices" in result.remediation
    assert "Harbor Cafe" in result.remediation and "enrich" in result.remediation.lower()
    [missing] = result.details["customers"]
    assert missing["url"] == f"/customers/{uncovered_invoice.customer.public_id}/"


def test_suppressed_contacts_do_not_count_and_expired_suppressions_do(personas, covered_invoice):
    contact = Contact.objects.get(customer=covered_invoice.customer)
    contact.suppression_reason = "Bounced"
    contact.save()
    assert not check_contact_coverage(organization=personas.org).passed
    contact.suppressed_until = timezone.now() - dt.timedelta(days=1)
    contact.save()
    assert check_contact_coverage(organization=personas.org).passed


def test_closed_invoices_and_other_organizations_do_not_count(personas, covered_invoice):
    void = InvoiceFactory(customer=CustomerFactory(organization=personas.org))
    invoice_void(invoice=void, actor=None, reason="Issued twice")
    InvoiceFactory(customer=CustomerFactory(organization=personas.other_org))
    result = check_contact_coverage(organization=personas.org)
    assert result.details["open_invoices"] == 1 and result.passed


# --- aging parity ------------------------------------------------------------------------------


def test_parity_fails_without_an_export(personas, covered_invoice):
    result = check_aging_parity(organization=personas.org, export=None)
    assert not result.passed
    assert result.remediation.startswith("Upload your ERP's aging summary")


def test_parity_passes_within_one_percent(personas, covered_invoice, uncovered_invoice):
    # Both invoices fell due 10 days ago: 1,550.50 in 1–30; the ERP says 1,560 (0.61%).
    export = _upload(personas.org, _plain(b1_30="1560.00"))
    result = check_aging_parity(organization=personas.org, export=export)
    assert result.passed, result.remediation
    assert result.figure == "0.61%"
    total = next(r for r in result.details["rows"] if r["key"] == "total")
    assert total["plixo"] == "1550.50" and total["difference"] == "-9.50"


def test_parity_fails_beyond_one_percent_per_bucket(personas, covered_invoice, uncovered_invoice):
    # Same total, but the ERP puts 350.50 in 31–60: two buckets off by 22.6% of the total.
    export = _upload(personas.org, _plain(b1_30="1200.00", b31_60="350.50"))
    result = check_aging_parity(organization=personas.org, export=export)
    assert not result.passed
    assert "31–60 days: Plixo 0.00 vs ERP 350.50" in result.remediation
    assert "write-offs" in result.remediation and "currency conversions" in result.remediation


def test_parity_names_missing_rates_and_converts_with_them(personas, covered_invoice):
    customer = CustomerFactory(organization=personas.org)
    InvoiceFactory(customer=customer, currency="EUR", amount=Decimal("100.00"))
    export = _upload(personas.org, _plain(b1_30="1310.00"))
    result = check_aging_parity(organization=personas.org, export=export)
    assert not result.passed and result.figure == "No rate"
    assert "EUR" in result.remediation and "never converted at 1" in result.remediation
    ExchangeRate.objects.create(
        organization=personas.org,
        on=org_today(personas.org),
        currency="EUR",
        base_currency="USD",
        rate=Decimal("1.1"),
    )
    result = check_aging_parity(organization=personas.org, export=export)
    assert result.passed, result.remediation
    assert result.details["rates_used"][0]["currency"] == "EUR"


def test_an_export_in_another_currency_is_converted(personas, covered_invoice):
    ExchangeRate.objects.create(
        organization=personas.org,
        on=org_today(personas.org),
        currency="CAD",
        base_currency="USD",
        rate=Decimal("0.75"),
    )
    export = _upload(personas.org, _plain(b1_30="1600.00"), currency="CAD")
    result = check_aging_parity(organization=personas.org, export=export)
    assert result.passed, result.remediation


def test_upload_refuses_future_and_ancient_dates_and_bad_currency(personas):
    from plixo.readiness.services import ReadinessError

    org = personas.org
    for as_of, message in (
        (org_today(org) + dt.timedelta(days=1), "future"),
        (dt.date(1999, 12, 31), "2000"),
    ):
        with pytest.raises(ReadinessError, match=message):
            aging_export_upload(organization=org, data=_plain(), file_name="a.csv", as_of=as_of)
    with pytest.raises(ReadinessError, match="not a currency"):
        _upload(org, _plain(), currency="XXQ")


# --- dispute smoke test ------------------------------------------------------------------------

TOUCHED = (
    Customer,
    Contact,
    Invoice,
    Dispute,
    PortalLink,
    PortalSession,
    PortalEvent,
    TimelineEvent,
    Message,
)


def _counts():
    return {model.__name__: model.objects.count() for model in TOUCHED}


def test_smoke_test_passes_with_a_routing_rule_and_leaves_no_row(personas, routing_rule):
    before = _counts()
    result = check_dispute_smoke(organization=personas.org)
    assert result.passed, result.details
    assert result.details["in_queue"] and result.details["sla_due_at"]
    assert result.details["routed_to"] == "A/R Operator"
    assert _counts() == before


def test_smoke_test_fails_without_routing_and_says_how_to_fix(personas):
    before = _counts()
    result = check_dispute_smoke(organization=personas.org)
    assert not result.passed
    assert result.details["in_queue"] and result.details["problem"] == "not_routed"
    assert "routing rule" in result.remediation and "resend the test dispute" in result.remediation
    assert _counts() == before


def test_smoke_test_sends_nothing(
    personas, routing_rule, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        check_dispute_smoke(organization=personas.org)
    assert callbacks == [] and mailoutbox == []


# --- the run -----------------------------------------------------------------------------------


def test_run_is_saved_with_each_result(personas, covered_invoice, routing_rule):
    _upload(personas.org, _plain(b1_30="1200.00"))
    run = readiness_run(organization=personas.org, actor=personas.controller.user)
    assert run.passed and run.ran_by == personas.controller.user
    assert [r["name"] for r in run.results] == ["contact_coverage", "aging_parity", "dispute_smoke"]
    assert all({"figure", "threshold", "remediation", "details"} <= set(r) for r in run.results)
    assert ReadinessRun.objects.filter(organization=personas.org).count() == 1
