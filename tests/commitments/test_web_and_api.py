"""The staff pages and API routes of promises and plans: Add Promise, the plan card's review
and create steps (with its refusals), the plan inspector's actions, the radar, and
/api/v1/promises and /api/v1/plans with the same rules."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from plixo.commitments.models import PaymentPlan, Promise
from plixo.commitments.services import promise_create
from plixo.core.models import Role
from tests.api.conftest import client_for_membership
from tests.commitments.conftest import TODAY

pytestmark = pytest.mark.django_db


def _invoice_url(invoice) -> str:
    return reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id})


def test_add_promise_from_the_invoice_page(overdue, personas):
    client = personas.client_for(Role.AR_OPERATOR)
    page = client.get(_invoice_url(overdue)).content.decode()
    assert "Add promise" in page and "Create payment plan" in page
    response = client.post(
        reverse("commitments:promise-add", kwargs={"invoice_id": overdue.public_id}),
        {
            "promise-amount": "600.00",
            "promise-promised_on": str(TODAY + dt.timedelta(days=6)),
            "promise-note": "Dana on the phone",
        },
    )
    assert response.status_code == 302
    promise = Promise.objects.get(invoice=overdue)
    assert promise.amount == Decimal("600.00") and promise.note == "Dana on the phone"


@pytest.mark.parametrize(
    ("amount", "day", "message"),
    [
        ("1,000,000.00", 6, "more than the balance"),
        ("12.345", 6, "decimal"),
        ("-5", 6, "is not an amount"),
        ("0", 6, "more than zero"),
        ("600", -1, "cannot be in the past"),
        ("600", 120, "within 90 days"),
    ],
)
def test_a_refused_promise_says_why_and_writes_nothing(overdue, personas, amount, day, message):
    client = personas.client_for(Role.AR_OPERATOR)
    response = client.post(
        reverse("commitments:promise-add", kwargs={"invoice_id": overdue.public_id}),
        {"promise-amount": amount, "promise-promised_on": str(TODAY + dt.timedelta(days=day))},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Promise.objects.exists()


def test_the_plan_card_reviews_then_creates_and_refuses_a_schedule_off_the_total(overdue, personas):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("commitments:plan-add", kwargs={"invoice_id": overdue.public_id})
    terms = {
        "plan-total": "1250.00",
        "plan-count": "3",
        "plan-first_on": str(TODAY + dt.timedelta(days=2)),
        "plan-every_days": "30",
        "plan-reason": "Renewal pending",
    }
    review = client.post(url, {**terms, "step": "review"})
    assert review.status_code == 200
    body = review.content.decode()
    assert 'name="plan-amount_1" value="416.66"' in body
    assert 'name="plan-amount_3" value="416.68"' in body
    rows = {
        "plan-due_1": str(TODAY + dt.timedelta(days=2)),
        "plan-amount_1": "500.00",
        "plan-due_2": str(TODAY + dt.timedelta(days=32)),
        "plan-amount_2": "400.00",
        "plan-due_3": str(TODAY + dt.timedelta(days=62)),
        "plan-amount_3": "300.00",
    }
    wrong = client.post(url, {**terms, **rows, "step": "create"})
    assert wrong.status_code == 400
    assert "add up to 1200.00 USD, not the plan total of 1250.00 USD" in wrong.content.decode()
    assert not PaymentPlan.objects.exists()
    rows["plan-amount_3"] = "350.00"
    created = client.post(url, {**terms, **rows, "step": "create"})
    assert created.status_code == 302
    plan = PaymentPlan.objects.get()
    assert plan.status == PaymentPlan.Status.APPROVED
    assert [i.amount for i in plan.installments.order_by("sequence")] == [
        Decimal("500.00"),
        Decimal("400.00"),
        Decimal("350.00"),
    ]
    inspector = client.get(created["Location"]).content.decode()
    assert "Schedule" in inspector and "Resend link" in inspector and "Upcoming" in inspector


def test_a_plan_short_of_the_balance_says_so_before_it_is_created(overdue, personas):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("commitments:plan-add", kwargs={"invoice_id": overdue.public_id})
    data = {
        "plan-total": "1000.00",
        "plan-count": "2",
        "plan-first_on": str(TODAY + dt.timedelta(days=2)),
        "plan-every_days": "14",
        "plan-reason": "Part now, part later",
        "plan-due_1": str(TODAY + dt.timedelta(days=2)),
        "plan-amount_1": "500.00",
        "plan-due_2": str(TODAY + dt.timedelta(days=16)),
        "plan-amount_2": "500.00",
        "step": "create",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert "covers $1,000.00 of the $1,250.00 balance" in response.content.decode()
    assert not PaymentPlan.objects.exists()
    assert client.post(url, {**data, "plan-accept_partial": "on"}).status_code == 302
    assert PaymentPlan.objects.get().total == Decimal("1000.00")


def test_prefill_from_a_promise_opens_the_card_with_it_as_the_first_installment(overdue, personas):
    promise = promise_create(
        invoice=overdue,
        amount="300.00",
        promised_on=TODAY + dt.timedelta(days=4),
        actor=personas.operator.user,
    )
    client = personas.client_for(Role.AR_OPERATOR)
    page = client.get(_invoice_url(overdue) + f"?plan_from={promise.public_id}")
    body = page.content.decode()
    assert "Prefilled from the promise of $300.00" in body
    assert f'value="{promise.public_id}"' in body
    review = client.post(
        reverse("commitments:plan-add", kwargs={"invoice_id": overdue.public_id}),
        {
            "plan-total": "1250.00",
            "plan-count": "3",
            "plan-first_on": str(TODAY + dt.timedelta(days=4)),
            "plan-every_days": "30",
            "plan-reason": "Follows the promise",
            "plan-from_promise": str(promise.public_id),
            "step": "review",
        },
    ).content.decode()
    assert 'name="plan-amount_1" value="300.00"' in review
    assert 'name="plan-amount_2" value="475.00"' in review


def test_the_inspector_accepts_a_portal_proposal(overdue, personas):
    from plixo.commitments.models import CommitmentSource
    from plixo.commitments.services import plan_propose

    plan = plan_propose(
        invoice=overdue,
        installments=[
            (TODAY + dt.timedelta(days=2), "625.00"),
            (TODAY + dt.timedelta(days=30), "625.00"),
        ],
        reason="Tight quarter",
        source=CommitmentSource.PORTAL,
        actor_label="Payer",
    )
    client = personas.client_for(Role.AR_MANAGER)
    page = client.get(reverse("commitments:plan-detail", kwargs={"plan_id": plan.public_id}))
    assert "Accept plan" in page.content.decode() and "Counter-offer" in page.content.decode()
    response = client.post(
        reverse("commitments:plan-accept", kwargs={"plan_id": plan.public_id}), {"note": ""}
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.APPROVED
    # Declining an accepted plan is refused with the reason, on the page.
    refused = client.post(
        reverse("commitments:plan-decline", kwargs={"plan_id": plan.public_id}), {"note": "x"}
    )
    assert refused.status_code == 400
    assert "only a plan awaiting a decision" in refused.content.decode()


def test_the_radar_shows_what_is_due_with_its_badges(overdue, personas, clock):
    promise = promise_create(
        invoice=overdue,
        amount="200.00",
        promised_on=TODAY + dt.timedelta(days=1),
        actor=personas.operator.user,
    )
    client = personas.client_for(Role.CONTROLLER)
    calm = client.get(reverse("commitments:radar")).content.decode()
    assert "Nothing urgent" in calm
    assert "$200.00" in calm  # the promise exposure
    clock.move_to(dt.datetime(2026, 3, 5, 15, 0, tzinfo=dt.UTC))
    page = client.get(reverse("commitments:radar")).content.decode()
    assert overdue.number in page
    assert "Missed" in page and "No invoice link" in page
    assert f"promise-{promise.public_id}" in page


def test_sales_sees_the_radar_of_their_own_accounts_only(overdue, personas, clock):
    promise_create(
        invoice=overdue,
        amount="200.00",
        promised_on=TODAY,
        actor=personas.operator.user,
    )
    page = personas.client_for(Role.SALES).get(reverse("commitments:radar")).content.decode()
    assert overdue.number not in page  # owned by nobody: not a Sales account of theirs


# --- the API -----------------------------------------------------------------------------------


def test_the_api_adds_lists_and_marks_promises(overdue, personas):
    api = client_for_membership(personas.operator)
    created = api.post(
        "/api/v1/promises",
        {
            "invoice": str(overdue.public_id),
            "amount": "700.00",
            "promised_on": str(TODAY + dt.timedelta(days=3)),
            "note": "By wire",
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["amount"] == "700.00" and body["status"] == "open" and body["source"] == "api"
    listed = api.get("/api/v1/promises", {"status": "open"}).json()
    assert [p["id"] for p in listed["results"]] == [body["id"]]
    missed = api.post(f"/api/v1/promises/{body['id']}/missed", {"note": ""})
    assert missed.status_code == 200 and missed.json()["status"] == "missed"
    again = api.post(f"/api/v1/promises/{body['id']}/missed", {"note": ""})
    assert again.status_code == 400
    assert again.json()["detail"] == "This promise is already missed."


def test_the_api_refuses_a_promise_above_the_balance(overdue, personas):
    api = client_for_membership(personas.operator)
    response = api.post(
        "/api/v1/promises",
        {
            "invoice": str(overdue.public_id),
            "amount": "5000.00",
            "promised_on": str(TODAY + dt.timedelta(days=3)),
        },
    )
    assert response.status_code == 400
    assert "more than the balance" in response.json()["detail"]
    assert not Promise.objects.exists()


def test_the_api_creates_a_plan_and_marks_its_next_installment_paid(overdue, personas):
    api = client_for_membership(personas.operator)
    created = api.post(
        "/api/v1/plans",
        {
            "invoice": str(overdue.public_id),
            "installments": [
                {"due_on": str(TODAY + dt.timedelta(days=1)), "amount": "625.00"},
                {"due_on": str(TODAY + dt.timedelta(days=31)), "amount": "625.00"},
            ],
            "reason": "Agreed on the phone",
        },
    )
    assert created.status_code == 201, created.json()
    plan = created.json()
    assert plan["status"] == "approved" and plan["next_due_on"] == str(TODAY + dt.timedelta(days=1))
    assert [i["amount"] for i in plan["installments"]] == ["625.00", "625.00"]
    paid = api.post(f"/api/v1/plans/{plan['id']}/pay", {"reference": "CHK-7"})
    assert paid.status_code == 200, paid.json()
    assert paid.json()["status"] == "active"
    assert paid.json()["installments"][0]["status"] == "paid"
    last = api.post(f"/api/v1/plans/{plan['id']}/pay", {"reference": "CHK-8"}).json()
    assert last["status"] == "completed"
    done = api.post(f"/api/v1/plans/{plan['id']}/pay", {"reference": "CHK-9"})
    assert done.status_code == 400


def test_the_api_refuses_installments_off_the_rules(overdue, personas):
    api = client_for_membership(personas.operator)
    response = api.post(
        "/api/v1/plans",
        {
            "invoice": str(overdue.public_id),
            "installments": [
                {"due_on": str(TODAY + dt.timedelta(days=5)), "amount": "100.00"},
                {"due_on": str(TODAY + dt.timedelta(days=1)), "amount": "100.00"},
            ],
            "reason": "Out of order",
        },
    )
    assert response.status_code == 400
    assert "must fall after installment 1" in response.json()["detail"]
    assert not PaymentPlan.objects.exists()


def test_a_csm_may_log_promises_but_not_plans(overdue, personas):
    overdue.customer.owner = personas.members[Role.CSM].user
    overdue.customer.save(update_fields=["owner"])
    api = client_for_membership(personas.members[Role.CSM])
    promise = api.post(
        "/api/v1/promises",
        {
            "invoice": str(overdue.public_id),
            "amount": "100.00",
            "promised_on": str(TODAY + dt.timedelta(days=3)),
        },
    )
    assert promise.status_code == 201
    plan = api.post(
        "/api/v1/plans",
        {
            "invoice": str(overdue.public_id),
            "installments": [
                {"due_on": str(TODAY + dt.timedelta(days=1)), "amount": "100.00"},
                {"due_on": str(TODAY + dt.timedelta(days=9)), "amount": "100.00"},
            ],
            "reason": "No",
        },
    )
    assert plan.status_code == 403
