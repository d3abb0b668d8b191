"""Report figures on the fixed ledger of `conftest.py`, each worked out by hand."""

from decimal import Decimal

from plixo.core.models import Role
from plixo.portal.models import PortalEvent, PortalEventKind
from plixo.reports.selectors import (
    adherence_report,
    aging_report,
    collected_report,
    dso_cei_report,
    funnel_report,
)
from tests.factories import (
    InvoiceFactory,
    PaymentPlanFactory,
    PlanInstallmentFactory,
    PromiseFactory,
)
from tests.reports.conftest import at_noon, days

D = Decimal


def _buckets(shown: dict) -> list[Decimal]:
    return [shown["buckets"][key] for key in ("current", "1_30", "31_60", "61_90", "90_plus")]


def test_aging_today_in_the_base_currency_with_subtotals_and_the_missing_rate(ledger, personas):
    report = aging_report(membership=personas.controller, as_of=ledger.today)

    total = report["total"]
    # USD as is; EUR 200 at 1.20 (rate of T−3) = 240; GBP has no rate and stays out.
    assert _buckets(total["base"]) == [D("500"), D("240"), D("300"), D("600"), D("0")]
    assert total["base"]["total"] == D("1640")
    assert total["complete"] is False
    assert total["by_currency"]["USD"]["total"] == D("1400")
    assert total["by_currency"]["USD"]["count"] == 3
    assert total["by_currency"]["EUR"]["buckets"]["1_30"] == D("200")
    assert total["by_currency"]["GBP"]["buckets"]["1_30"] == D("100")
    conversion = report["conversion"]
    assert conversion["rates_used"] == [
        {"currency": "EUR", "date": ledger.today - days(3), "rate": D("1.2000000000")}
    ]
    assert conversion["missing"] == [
        {
            "currency": "GBP",
            "first_date": ledger.today,
            "last_date": ledger.today,
            "amount": D("100.00"),
        }
    ]


def test_aging_on_an_earlier_day_adds_back_what_was_paid_since(ledger, personas):
    report = aging_report(membership=personas.controller, as_of=ledger.today - days(10))

    # A-1 owed all 1000 then (paid on T−5), 60 days overdue; B-1 converts at 1.10 (T−30).
    # C-1 was issued that day, not yet due, and has no rate.
    assert _buckets(report["total"]["base"]) == [D("500"), D("520"), D("1000"), D("0"), D("0")]
    assert report["total"]["base"]["total"] == D("2020")
    assert report["counts_known"] is False


def test_aging_by_customer_segment_and_currency(ledger, personas):
    by_customer = aging_report(
        membership=personas.controller, as_of=ledger.today, group="customer", limit=2
    )
    labels = [(line["label"], line["base"]["total"]) for line in by_customer["lines"]]
    assert labels == [("Alder Ltd", D("1100")), ("Birch plc", D("540"))]
    assert by_customer["other"]["by_currency"]["GBP"]["total"] == D("100")
    assert by_customer["lines"][0]["customer_id"] == str(ledger.customers["alder"].public_id)

    by_segment = aging_report(membership=personas.controller, as_of=ledger.today, group="segment")
    assert {line["label"]: line["base"]["total"] for line in by_segment["lines"]} == {
        "ent": D("1100"),
        "smb": D("540"),
    }
    by_currency = aging_report(membership=personas.controller, as_of=ledger.today, group="currency")
    lines = {line["key"]: line for line in by_currency["lines"]}
    assert lines["EUR"]["base"]["total"] == D("240")
    assert lines["GBP"]["complete"] is False


def test_aging_of_one_currency(ledger, personas):
    report = aging_report(membership=personas.controller, as_of=ledger.today, currency="EUR")

    assert report["total"]["base"]["total"] == D("240")
    assert list(report["total"]["by_currency"]) == ["EUR"]


def test_dso_and_cei_over_thirty_days(ledger, personas):
    report = dso_cei_report(membership=personas.controller, as_of=ledger.today, period_days=30)
    period = report["period"]

    # USD: A/R 1300 at the end of T−30, 1400 now, sales 500, 500 not yet due.
    usd = period["by_currency"]["USD"]
    assert (usd["start_ar"], usd["end_ar"], usd["credit_sales"]) == (D("1300"), D("1400"), D("500"))
    assert usd["dso"] == D("81.0")  # ((1300 + 1400) / 2) / 500 × 30
    assert usd["cei"] == D("30.8")  # (1300 + 500 − 1400) / (1300 + 500 − 500) × 100
    assert period["by_currency"]["GBP"]["dso"] == D("15.0")  # (50 / 100) × 30
    assert period["by_currency"]["EUR"]["dso"] is None  # no EUR sales in the period
    # Base: EUR 200 at 1.10 on T−30 (220) and at 1.20 now (240); GBP left out (no rate).
    assert period["left_out"] == ["GBP"]
    assert period["base"]["start_ar"] == D("1520")
    assert period["base"]["end_ar"] == D("1640")
    assert period["base"]["dso"] == D("94.8")  # (1580 / 500) × 30
    assert period["base"]["cei"] == D("25.0")  # 380 / 1520 × 100


def test_dso_trend_has_one_line_per_month(ledger, personas):
    report = dso_cei_report(membership=personas.controller, as_of=ledger.today, months=3)

    # Complete months only: the one before this month's, unless today is a month's last day.
    last = ledger.today
    if (ledger.today + days(1)).day != 1:
        last = ledger.today.replace(day=1) - days(1)
    assert len(report["trend"]) == 3
    assert report["trend"][-1]["end"] == last
    assert [p["start"].day for p in report["trend"]] == [1, 1, 1]
    assert report["trend"][1]["end"] == report["trend"][2]["start"] - days(1)


def test_collected_per_month(ledger, personas):
    report = collected_report(
        membership=personas.controller,
        start=ledger.today - days(60),
        end=ledger.today,
        interval="month",
    )

    assert report["total"]["collected"] == D("400")
    assert sum(p["base"]["collected"] for p in report["periods"]) == D("400")


def test_promise_and_plan_adherence(ledger, personas):
    org, today = ledger.org, ledger.today
    invoice = ledger.invoices["B-2"]
    for status in ("kept", "kept", "missed", "open", "cancelled"):
        PromiseFactory(invoice=invoice, status=status, promised_on=today - days(3))
    PromiseFactory(invoice=invoice, status="missed", promised_on=today - days(90))  # outside
    plan = PaymentPlanFactory(invoice=invoice, status="active", total=D("400"))
    for sequence, status in enumerate(("paid", "missed", "missed", "pending"), start=1):
        PlanInstallmentFactory(
            plan=plan,
            sequence=sequence,
            status=status,
            amount=D("100"),
            due_on=today - days(20 - sequence),
            paid_amount=D("100") if status == "paid" else D("0"),
        )

    report = adherence_report(membership=personas.controller, start=today - days(29), end=today)

    assert report["promises"]["counts"]["kept"] == 2
    assert report["promises"]["adherence"] == D("66.7")  # 2 / (2 + 1)
    assert report["installments"]["adherence"] == D("33.3")  # 1 / (1 + 2)
    assert report["exposure"]["open_promises"]["base"] == D("250")
    assert report["exposure"]["open_plans"]["base"] == D("300")
    assert org.pk == invoice.organization_id


def test_funnel_rates_per_step(ledger, personas):
    org, today = ledger.org, ledger.today
    invoices = [InvoiceFactory(customer=ledger.customers["birch"]) for _ in range(4)]
    reached = {
        PortalEventKind.LINK_OPENED: 4,
        PortalEventKind.INVOICE_VIEWED: 3,
        PortalEventKind.PAY_CLICKED: 2,
        PortalEventKind.PAID: 1,
        PortalEventKind.PLAN_PROPOSED: 1,
    }
    for kind, n in reached.items():
        for invoice in invoices[:n]:
            for _ in range(2):  # a step repeated counts its invoice once
                PortalEvent.objects.create(
                    organization=org, invoice=invoice, kind=kind, at=at_noon(org, today)
                )

    report = funnel_report(membership=personas.controller, start=today - days(6), end=today)

    assert [s["invoices"] for s in report["steps"]] == [4, 3, 2, 1]
    assert [s["rate"] for s in report["steps"]] == [None, D("75.0"), D("66.7"), D("50.0")]
    assert report["overall"] == D("25.0")
    assert report["outcomes"][0]["rate"] == D("33.3")  # 1 plan of 3 viewed


def test_sales_sees_only_own_accounts(ledger, personas):
    sales = personas.members[Role.SALES]

    report = aging_report(membership=sales, as_of=ledger.today)
    dso = dso_cei_report(membership=sales, as_of=ledger.today, period_days=30)

    assert report["total"]["base"]["total"] == D("1100")  # Alder's only
    assert list(report["total"]["by_currency"]) == ["USD"]
    assert report["conversion"]["missing"] == []
    assert dso["period"]["base"]["end_ar"] == D("1100")
    assert (
        aging_report(membership=personas.members[Role.CSM], as_of=ledger.today)["total"][
            "by_currency"
        ]
        == {}
    )
