"""COMMIT-5: the Commitment Radar's rows, badges, order and totals, on a small fixed set."""

import datetime as dt
from decimal import Decimal

import pytest

from plixo.commitments.models import CommitmentSource, PaymentPlan, PlanInstallment, Promise
from plixo.commitments.selectors import commitment_radar
from plixo.commitments.services import plan_create, plan_propose, promise_create
from plixo.reports.models import ExchangeRate
from tests.commitments.conftest import TODAY, invoice_due
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _promise(invoice, personas, amount, days):
    promise = promise_create(
        invoice=invoice,
        amount=amount,
        promised_on=TODAY + dt.timedelta(days=max(days, 0)),
        actor=personas.operator.user,
    )
    if days < 0:  # made earlier for a day that has now passed
        Promise.objects.filter(pk=promise.pk).update(promised_on=TODAY + dt.timedelta(days=days))
    return promise


def test_the_radar_ranks_what_is_urgent_and_says_why(overdue, personas, customer, clock):
    due_today = invoice_due(customer, TODAY - dt.timedelta(days=10), number="INV-T")
    later = invoice_due(customer, TODAY - dt.timedelta(days=10), number="INV-L")
    in_plan = invoice_due(customer, TODAY - dt.timedelta(days=10), number="INV-P")
    missed = _promise(overdue, personas, "1250.00", -2)
    today = _promise(due_today, personas, "300.00", 0)
    _promise(later, personas, "400.00", 9)  # not urgent: not on the list
    plan = plan_create(
        invoice=in_plan,
        installments=[
            (TODAY + dt.timedelta(days=2), D("600.00")),
            (TODAY + dt.timedelta(days=32), D("650.00")),
        ],
        reason="Agreed",
        actor=personas.operator.user,
    )
    radar = commitment_radar(membership=personas.controller)
    rows = [(item.kind, item.invoice.number, [b for b, _ in item.badges]) for item in radar.items]
    assert rows == [
        ("promise", overdue.number, ["Missed", "No invoice link"]),
        ("promise", "INV-T", ["Due today", "No invoice link"]),
        ("plan", "INV-P", ["Installment due soon"]),
    ]
    assert radar.items[0].record == missed and radar.items[1].record == today
    assert radar.items[2].record == plan and radar.items[2].amount == D("1250.00")
    assert radar.items[2].day == TODAY + dt.timedelta(days=2)  # the next unpaid installment
    # Exposure: the open promises (the missed one is no longer open once the job marks it, but
    # until then it is still owed on the payer's word), by currency.
    assert radar.promise_exposure == {"USD": D("1950.00")}
    assert radar.plan_exposure == {"USD": D("1250.00")}
    assert (radar.promise_exposure_base, radar.plan_exposure_base) == (D("1950.00"), D("1250.00"))
    assert radar.adherence is None  # nothing kept or missed yet


def test_exposure_is_per_currency_and_adherence_counts_kept_and_missed(personas, clock):
    eur = CustomerFactory(organization=personas.org, currency="EUR", name="Kestrel GmbH")
    usd = CustomerFactory(organization=personas.org, currency="USD", name="Bluewater")
    a = invoice_due(eur, TODAY - dt.timedelta(days=5), number="E-1", currency="EUR")
    b = invoice_due(usd, TODAY - dt.timedelta(days=5), number="U-1")
    c = invoice_due(usd, TODAY - dt.timedelta(days=5), number="U-2")
    promise_create(invoice=a, amount="1250.00", promised_on=TODAY + dt.timedelta(days=3))
    kept = promise_create(invoice=b, amount="100.00", promised_on=TODAY)
    missed = promise_create(invoice=c, amount="100.00", promised_on=TODAY)
    Promise.objects.filter(pk=kept.pk).update(status=Promise.Status.KEPT)
    Promise.objects.filter(pk=missed.pk).update(status=Promise.Status.MISSED)
    radar = commitment_radar(membership=personas.controller)
    assert radar.promise_exposure == {"EUR": D("1250.00")}
    # No EUR rate: left out of the base-currency total and named, never converted at 1.
    assert radar.promise_exposure_base == D("0.00") and radar.unconverted == ["EUR"]
    assert (radar.kept, radar.missed, radar.adherence) == (1, 1, 50)
    ExchangeRate.objects.create(
        organization=personas.org,
        on=TODAY,
        currency="EUR",
        base_currency="USD",
        rate=D("1.10"),
    )
    radar = commitment_radar(membership=personas.controller)
    assert radar.promise_exposure_base == D("1375.00") and radar.unconverted == []


def test_high_exposure_converts_at_the_latest_rate_and_never_guesses(personas, clock):
    eur = CustomerFactory(organization=personas.org, currency="EUR", name="Kestrel GmbH")
    invoice = invoice_due(
        eur, TODAY - dt.timedelta(days=5), number="E-2", currency="EUR", amount="20000.00"
    )
    promise_create(invoice=invoice, amount="9500.00", promised_on=TODAY)
    badges = [b for b, _ in commitment_radar(membership=personas.controller).items[0].badges]
    assert "High exposure" not in badges  # no EUR rate: not guessed
    ExchangeRate.objects.create(
        organization=personas.org,
        on=TODAY - dt.timedelta(days=1),
        currency="EUR",
        base_currency="USD",
        rate=D("1.08"),
    )
    badges = [b for b, _ in commitment_radar(membership=personas.controller).items[0].badges]
    assert "High exposure" in badges  # €9,500 × 1.08 = $10,260


def test_defaulted_plans_are_in_the_first_tier_and_proposals_are_listed(
    overdue, personas, customer, clock
):
    other = invoice_due(customer, TODAY - dt.timedelta(days=10), number="INV-Q")
    plan = plan_create(
        invoice=overdue,
        installments=[
            (TODAY + dt.timedelta(days=20), D("600.00")),
            (TODAY + dt.timedelta(days=50), D("650.00")),
        ],
        reason="Agreed",
        actor=personas.operator.user,
    )
    PaymentPlan.objects.filter(pk=plan.pk).update(status=PaymentPlan.Status.DEFAULTED)
    PlanInstallment.objects.filter(plan=plan, sequence=1).update(status="missed")
    plan_propose(
        invoice=other,
        installments=[
            (TODAY + dt.timedelta(days=3), D("600.00")),
            (TODAY + dt.timedelta(days=33), D("650.00")),
        ],
        reason="Tight quarter",
        source=CommitmentSource.PORTAL,
        actor_label="Payer",
    )
    _promise(other, personas, "100.00", -1)
    radar = commitment_radar(membership=personas.controller)
    # Both are in the first tier; the missed promise's date (yesterday) comes before the
    # defaulted plan's next installment.
    assert [item.kind for item in radar.items] == ["promise", "plan"]
    assert radar.items[1].badges[0] == ("Defaulted", "error")
    # What a defaulted plan still owes: both installments (the first missed, nothing paid).
    assert radar.items[1].amount == D("1250.00")
    assert radar.items[1].day == TODAY + dt.timedelta(days=20)
    assert [p.invoice.number for p in radar.proposals] == ["INV-Q"]
    proposal = radar.proposals[0]
    assert (proposal.installment_count, proposal.first_due, proposal.last_due) == (
        2,
        TODAY + dt.timedelta(days=3),
        TODAY + dt.timedelta(days=33),
    )
