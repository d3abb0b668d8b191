"""Escalations and the rule, the burn-down snapshot, the inspector's actions, the API."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from plixo.api.services import api_key_create
from plixo.comms.models import Message
from plixo.core.models import Role
from plixo.ledger.models import TimelineEvent
from plixo.workspace import selectors, services
from plixo.workspace.models import Escalation, QueueDay, WorkspaceError
from tests.factories import PromiseFactory
from tests.workspace.conftest import make_draft, make_invoice


def _sent_steps(invoice, count):
    for n in range(count):
        message = make_draft(invoice)
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.SENT, sent_at=timezone.now() - dt.timedelta(days=count - n)
        )


def test_escalation_goes_to_the_manager_and_the_timeline(org, operator, manager, account):
    invoice = make_invoice(account)
    escalation = services.escalation_raise(
        invoice=invoice, from_member=operator, reason="No answer in 6 weeks", actor=operator.user
    )
    assert escalation.to_member == manager and escalation.status == "open"
    assert TimelineEvent.objects.filter(invoice=invoice, kind="escalated").exists()
    page = selectors.queue_for_member(member=manager, viewer=manager)
    assert [(i.kind, i.reason) for i in page.items] == [
        ("escalation", f"Escalated by {operator.user.display_name}")
    ]
    with pytest.raises(WorkspaceError, match="already escalated"):
        services.escalation_raise(
            invoice=invoice, from_member=operator, reason="Again", actor=operator.user
        )


def test_escalation_needs_a_reason_and_writes_nothing_without(org, operator, account):
    invoice = make_invoice(account)
    with pytest.raises(WorkspaceError):
        services.escalation_raise(invoice=invoice, from_member=operator, reason="  ", actor=None)
    assert not Escalation.objects.exists()


def test_rule_proposes_after_n_unanswered_steps(org, operator, account):
    services.workspace_settings_update(organization=org, escalate_after_steps=3)
    quiet = make_invoice(account)
    _sent_steps(quiet, 3)
    answered = make_invoice(account)
    _sent_steps(answered, 3)
    PromiseFactory(invoice=answered)  # the payer answered after the emails
    short = make_invoice(account)
    _sent_steps(short, 2)

    assert services.escalations_propose(organization=org) == 1
    proposal = Escalation.objects.get()
    assert proposal.invoice == quiet and proposal.status == "proposed"
    assert proposal.from_member == operator and proposal.unanswered_steps == 3
    items = selectors.queue_for_member(member=operator, viewer=operator).items
    assert items[0].reason == "Escalation proposed: 3 emails unanswered"
    assert services.escalations_propose(organization=org) == 0  # never twice


def test_rule_setting_is_bounded(org):
    with pytest.raises(WorkspaceError):
        services.workspace_settings_update(organization=org, escalate_after_steps=0)
    with pytest.raises(WorkspaceError):
        services.workspace_settings_update(organization=org, escalate_after_steps=21)


def test_burn_down_counts_cleared_against_planned(org, operator, account, today):
    drafts = [make_draft(make_invoice(account, days_overdue=n)) for n in range(1, 5)]
    day = services.queue_day_refresh(membership=operator)
    assert (day.planned, day.cleared, day.remaining) == (4, 0, 4)
    Message.objects.filter(pk__in=[d.pk for d in drafts[:2]]).update(status="queued")
    make_draft(make_invoice(account, days_overdue=9))
    day = services.queue_day_refresh(membership=operator)
    assert (day.planned, day.cleared, day.added, day.remaining) == (4, 2, 1, 3)
    assert QueueDay.objects.count() == 1
    chart = selectors.burn_down_chart(
        selectors.burn_down(membership=operator, today=today), today=today
    )
    assert chart.startswith("data:image/svg+xml;base64,")


def test_inspector_actions_refuse_bad_input_and_write_nothing(org, personas, account):
    invoice = make_invoice(account)
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("workspace:promise", kwargs={"invoice_id": invoice.public_id})
    response = client.post(url, {"promise-amount": "-5", "promise-promised_on": "2001-01-01"})
    assert response.status_code == 400
    assert not invoice.promises.exists()


def test_a_plan_from_the_inspector_says_when_it_does_not_cover_the_balance(
    org, personas, account, today
):
    """The inspector's plan form is the invoice page's: review, then create; a plan short of
    the balance says so and needs the box ticked."""
    from plixo.commitments.models import PaymentPlan

    invoice = make_invoice(account, amount="1000.00")
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("workspace:plan", kwargs={"invoice_id": invoice.public_id})
    terms = {
        "plan-total": "600.00",
        "plan-count": "2",
        "plan-first_on": str(today + dt.timedelta(days=2)),
        "plan-every_days": "30",
        "plan-reason": "Cash flow",
    }
    review = client.post(url, {**terms, "step": "review"}, HTTP_HX_REQUEST="true")
    assert review.status_code == 200
    assert "stays outside it and in the cadence" in review.content.decode()
    rows = {
        "plan-due_1": str(today + dt.timedelta(days=2)),
        "plan-amount_1": "300.00",
        "plan-due_2": str(today + dt.timedelta(days=32)),
        "plan-amount_2": "300.00",
    }
    refused = client.post(url, {**terms, **rows, "step": "create"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "Tick the box to create it anyway" in refused.content.decode()
    assert not PaymentPlan.objects.filter(invoice=invoice).exists()
    created = client.post(
        url,
        {**terms, **rows, "plan-accept_partial": "on", "step": "create"},
        HTTP_HX_REQUEST="true",
    )
    assert created.status_code == 200
    assert PaymentPlan.objects.get(invoice=invoice).installments.count() == 2


def test_send_draft_from_the_inspector_clears_the_item(org, personas, operator, account):
    invoice = make_invoice(account)
    draft = make_draft(invoice)
    services.queue_day_refresh(membership=operator)
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("workspace:send", kwargs={"invoice_id": invoice.public_id})
    response = client.post(url, {"message": str(draft.public_id)}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "queue-changed"
    draft.refresh_from_db()
    assert draft.status != Message.Status.DRAFT
    assert QueueDay.objects.get(membership=operator).cleared == 1


def test_write_to_the_payer_queues_an_email_on_the_timeline(org, personas, account):
    invoice = make_invoice(account)
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("workspace:write", kwargs={"invoice_id": invoice.public_id})
    response = client.post(
        url,
        {
            "write-subject": "Invoice {invoice_number}",
            "write-body": "Hello {contact_name}, {amount_due} is open. {pay_link}",
            "write-attach_pdf": "on",
        },
    )
    assert response.status_code == 302
    message = Message.objects.get(invoice=invoice)
    assert message.status == "queued" and message.purpose.startswith("notice:oneoff-pdf:")
    assert TimelineEvent.objects.filter(invoice=invoice, kind="email_queued").exists()
    # The invoice's timeline says a person wrote it, with the subject as the payer reads it.
    page = client.get(reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id}))
    text = page.content.decode()
    assert "Email to the payer queued" in text
    assert f"Written by hand: Invoice {invoice.number}." in text
    assert "{invoice_number}" not in text
    # An unknown merge field is refused, nothing queued.
    response = client.post(url, {"write-subject": "Hi", "write-body": "{amout_due} {pay_link}"})
    assert response.status_code == 400
    assert Message.objects.filter(invoice=invoice).count() == 1


def test_roles_without_the_capability_cannot_act(org, personas, account):
    invoice = make_invoice(account)
    draft = make_draft(invoice)
    client = personas.client_for(Role.SALES)
    url = reverse("workspace:send", kwargs={"invoice_id": invoice.public_id})
    assert client.post(url, {"message": str(draft.public_id)}).status_code == 403


def test_api_queue_and_escalation(org, personas, operator, manager, account):
    invoice = make_invoice(account, days_overdue=70, amount="48000.00")
    make_draft(make_invoice(account))
    services.queue_entries_refresh(organization=org)
    _, key = api_key_create(membership=operator, name="t")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    client = personas.client_for(Role.AR_OPERATOR)
    body = client.get("/api/v1/queue?limit=1", **headers).json()
    assert body["results"][0]["kind"] == "draft"
    assert body["results"][0]["reason"] == "Draft awaiting approval"
    second = client.get(f"/api/v1/queue?limit=1&cursor={body['next_cursor']}", **headers).json()
    assert second["results"][0]["invoice"] == str(invoice.public_id)
    assert second["results"][0]["amount"] == "48000.00"
    assert second["results"][0]["currency"] == "USD"
    assert client.get("/api/v1/queue?cursor=xyz", **headers).status_code == 422
    response = client.post(
        "/api/v1/queue/escalations",
        {"invoice": str(invoice.public_id), "reason": "No answer"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content
    assert response.json()["to"] == str(manager.public_id)
    again = client.post(
        "/api/v1/queue/escalations",
        {"invoice": str(invoice.public_id), "reason": "Again"},
        content_type="application/json",
        **headers,
    )
    assert again.status_code == 400
