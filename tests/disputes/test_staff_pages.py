"""The staff pages of disputes: log one from the invoice, the queue with its SLA timers,
filters and warnings, the dispute page and its actions, the settings page, and CSV evidence
with its formulas defused. Access by role, and other organizations' ids answer 404."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from plixo.core.models import Role
from plixo.disputes.models import Dispute, DisputeHoliday, DisputeRoutingRule, DisputeSettings
from plixo.disputes.services import dispute_file
from plixo.ledger.models import InvoiceStatus
from tests.disputes import files
from tests.disputes.files import upload
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def file(invoice, **extra):
    args = {
        "invoice": invoice,
        "reason_code": "pricing",
        "amount": "100.00",
        "description": "Unit price differs from the contract.",
        "source": "portal",
        "actor_label": "Peter (payer, portal)",
    }
    return dispute_file(**{**args, **extra})


@pytest.fixture
def dispute(open_invoice):
    return file(open_invoice)


def detail_url(dispute):
    return reverse("disputes:detail", kwargs={"dispute_id": dispute.public_id})


def test_the_queue_shows_each_open_dispute_with_its_sla(dispute, personas):
    response = personas.client_for(Role.AR_OPERATOR).get(reverse("disputes:queue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "INV-7001" in html and "Initech" in html
    assert "24 h left" in html
    assert "$100.00" in html
    assert "Pricing is wrong" in html
    assert "Unassigned" in html


def test_queue_warnings_and_filters(open_invoice, personas, clock):
    late = file(open_invoice, amount="10.00")
    clock.move_to(dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.UTC))  # Friday 07:00 New York
    soon = file(open_invoice, amount="20.00", reason_code="quantity")
    Dispute.objects.filter(pk=late.pk).update(
        sla_due_at=dt.datetime(2026, 3, 5, 15, 0, tzinfo=dt.UTC)
    )
    Dispute.objects.filter(pk=soon.pk).update(
        sla_due_at=dt.datetime(2026, 3, 6, 15, 0, tzinfo=dt.UTC), assignee=personas.operator.user
    )
    client = personas.client_for(Role.AR_OPERATOR)
    html = client.get(reverse("disputes:queue")).content.decode()
    assert "1 past due." in html and "1 due soon:" in html
    assert "Overdue by" in html

    def numbers(**params):
        page = client.get(reverse("disputes:queue"), params).content.decode()
        return {d.amount for d in Dispute.objects.all() if f"{d.public_id}" in page}

    assert numbers(due="breached") == {Decimal("10.00")}
    assert numbers(due="due_soon") == {Decimal("20.00")}
    assert numbers(assignee="mine") == {Decimal("20.00")}
    assert numbers(assignee="unassigned") == {Decimal("10.00")}
    assert numbers(reason="quantity") == {Decimal("20.00")}
    assert numbers(assignee=str(personas.operator.user.public_id)) == {Decimal("20.00")}
    assert numbers(status="resolved") == set()
    # A bad filter value is shown as an error, not a 500.
    assert client.get(reverse("disputes:queue"), {"assignee": "nobody"}).status_code == 200


def test_queue_pages_by_keyset(open_invoice, personas):
    for index in range(55):
        file(open_invoice, amount=f"{index + 1}.00")
    client = personas.client_for(Role.CONTROLLER)
    first = client.get(reverse("disputes:queue"), {"sort": "newest"})
    assert first.context["page"].next_cursor
    assert len(first.context["rows"]) == 50
    second = client.get(
        reverse("disputes:queue"), {"sort": "newest", "cursor": first.context["page"].next_cursor}
    )
    assert len(second.context["rows"]) == 5
    shown = {row["dispute"].pk for row in first.context["rows"] + second.context["rows"]}
    assert len(shown) == 55


def test_sales_and_csm_see_only_disputes_on_their_accounts(dispute, personas):
    sales = personas.client_for(Role.SALES)
    assert "INV-7001" not in sales.get(reverse("disputes:queue")).content.decode()
    assert sales.get(detail_url(dispute)).status_code == 404
    csm = personas.client_for(Role.CSM)  # owns Initech
    assert "INV-7001" in csm.get(reverse("disputes:queue")).content.decode()
    assert csm.get(detail_url(dispute)).status_code == 200


def test_another_organizations_ids_answer_404(dispute, personas):
    outsider = personas.client_for(Role.CONTROLLER)
    outsider.force_login(personas.outsider.user)
    assert outsider.get(detail_url(dispute)).status_code == 404
    url = reverse("disputes:log", kwargs={"invoice_id": dispute.invoice.public_id})
    assert outsider.get(url).status_code == 404
    assert (
        outsider.post(
            reverse("disputes:resolve", kwargs={"dispute_id": dispute.public_id}), {}
        ).status_code
        == 404
    )


def test_the_dispute_page_shows_evidence_invoice_and_history(open_invoice, personas):
    dispute = file(open_invoice, attachments=[upload("lines.csv", files.CSV)])
    html = personas.client_for(Role.LEGAL).get(detail_url(dispute)).content.decode()
    assert "lines.csv" in html and "formulas defused" in html
    assert "Balance" in html and "$1,250.00" in html
    assert "History" in html and "Dispute filed" in html or "dispute_filed" in html.lower()
    assert "Resolve dispute" in html


def test_roles_without_resolve_cannot_post_actions(dispute, personas):
    for role in (Role.SALES, Role.CSM, Role.BILLING_ADMIN):
        client = personas.client_for(role)
        for name in ("assign", "route", "review", "resolve"):
            url = reverse(f"disputes:{name}", kwargs={"dispute_id": dispute.public_id})
            assert client.post(url, {}).status_code == 403, (role, name)


def test_assign_route_review_and_reject_from_the_page(dispute, personas):
    client = personas.client_for(Role.AR_OPERATOR)
    kwargs = {"dispute_id": dispute.public_id}
    response = client.post(reverse("disputes:assign", kwargs=kwargs), {"assignee": "me"})
    assert response.status_code == 302
    legal = personas.members[Role.LEGAL].user
    client.post(reverse("disputes:assign", kwargs=kwargs), {"assignee": str(legal.public_id)})
    client.post(reverse("disputes:route", kwargs=kwargs), {"team": "legal"})
    client.post(reverse("disputes:review", kwargs=kwargs))
    dispute.refresh_from_db()
    assert (dispute.assignee, dispute.routed_to, dispute.status) == (legal, "legal", "under_review")
    response = client.post(
        reverse("disputes:resolve", kwargs=kwargs),
        {"outcome": "reject", "note": "Price matches the signed order."},
        follow=True,
    )
    assert "Dispute resolved: rejected. The invoice is back in its cadence." in (
        response.content.decode()
    )
    dispute.refresh_from_db()
    assert dispute.status == "rejected"
    dispute.invoice.refresh_from_db()
    assert dispute.invoice.status == InvoiceStatus.OPEN


def test_a_refused_resolution_keeps_the_form_and_says_why(dispute, personas):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("disputes:resolve", kwargs={"dispute_id": dispute.public_id})
    response = client.post(url, {"outcome": "credit", "amount": "99999.00", "note": "x"})
    assert response.status_code == 400
    assert "more than the invoice" in response.content.decode()
    response = client.post(url, {"outcome": "write_off", "note": "x"})
    assert response.status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).is_open


def test_credit_above_the_limit_from_the_page_goes_to_approval(dispute, personas):
    operator = personas.operator
    operator.approval_limit = Decimal("0")
    operator.save(update_fields=["approval_limit"])
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("disputes:resolve", kwargs={"dispute_id": dispute.public_id})
    response = client.post(url, {"outcome": "credit", "note": "Contract price"}, follow=True)
    html = response.content.decode()
    assert "Approvals inbox" in html and "Waiting for approval" in html
    dispute.refresh_from_db()
    assert dispute.awaiting_approval


def test_log_a_dispute_from_the_invoice(open_invoice, personas):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("disputes:log", kwargs={"invoice_id": open_invoice.public_id})
    page = client.get(url)
    assert page.status_code == 200 and 'value="1250.00"' in page.content.decode()
    response = client.post(
        url,
        {
            "reason_code": "quantity",
            "amount": "1,000.00",
            "description": "Two pallets short.",
            "attachments": [upload("pod.pdf", files.PDF)],
        },
    )
    dispute = Dispute.objects.get(invoice=open_invoice)
    assert response.status_code == 302 and response["Location"] == detail_url(dispute)
    assert (dispute.amount, dispute.source, dispute.created_by) == (
        Decimal("1000.00"),
        "staff",
        personas.operator.user,
    )
    assert dispute.attachments.count() == 1 and dispute.sla_due_at is not None


def test_log_refuses_bad_input_and_writes_nothing(open_invoice, personas):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("disputes:log", kwargs={"invoice_id": open_invoice.public_id})
    for data in (
        {"reason_code": "quantity", "amount": "5000", "description": "x"},
        {"reason_code": "quantity", "amount": "10", "description": "bad\x00"},
        {"reason_code": "nope", "amount": "10", "description": "x"},
        {
            "reason_code": "quantity",
            "amount": "10",
            "description": "x",
            "attachments": [upload("x.pdf", files.HTML)],
        },
    ):
        assert client.post(url, data).status_code == 400
    assert not Dispute.objects.exists()


def test_who_may_log(open_invoice, personas):
    url = reverse("disputes:log", kwargs={"invoice_id": open_invoice.public_id})
    assert personas.client_for(Role.CSM).get(url).status_code == 200  # own account
    assert personas.client_for(Role.SALES).get(url).status_code == 403
    assert personas.client_for(Role.LEGAL).get(url).status_code == 403
    other = InvoiceFactory(customer=CustomerFactory(organization=personas.org))
    other_url = reverse("disputes:log", kwargs={"invoice_id": other.public_id})
    assert personas.client_for(Role.CSM).get(other_url).status_code == 404


def test_csv_evidence_is_downloaded_with_formulas_defused(open_invoice, personas):
    evil = (
        b'invoice,note\nINV-1,"=HYPERLINK(""http://x.example"",""click"")"\n'
        b"INV-2,+1\nINV-3,@SUM(A1)\nINV-4,-2\nINV-5,plain\n"
    )
    dispute = file(open_invoice, attachments=[upload("lines.csv", evil)])
    attachment = dispute.attachments.get()
    url = reverse("disputes:attachment-download", kwargs={"attachment_id": attachment.public_id})
    response = personas.client_for(Role.AR_OPERATOR).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    body = response.content.decode()
    assert "'=HYPERLINK" in body and "'+1" in body and "'@SUM(A1)" in body and "'-2" in body
    assert "\nINV-5,plain" in body.replace("\r\n", "\n")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_settings_page_saves_targets_hours_holidays_and_rules(personas, ny_org):
    client = personas.client_for(Role.CONTROLLER)
    url = reverse("disputes:settings")
    assert client.get(url).status_code == 200
    data = {
        "default_target_hours": "16",
        "due_soon_hours": "2",
        "time_zone": "",
        "target_already_paid": "4",
    }
    for day in range(7):
        if day < 5:
            data[f"day_{day}_open"] = "on"
        data[f"day_{day}_start"] = "08:30"
        data[f"day_{day}_end"] = "17:30"
    assert client.post(url, data).status_code == 302
    saved = DisputeSettings.objects.get(organization=ny_org)
    assert saved.default_target_hours == 16 and saved.reason_targets == {"already_paid": 4}
    assert saved.business_hours["0"] == ["08:30", "17:30"] and saved.business_hours["6"] is None
    bad = {**data, "time_zone": "Mars/Olympus"}
    assert client.post(url, bad).status_code == 400

    assert (
        client.post(
            reverse("disputes:holiday-add"), {"day": "2026-12-25", "name": "Christmas"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("disputes:holiday-add"), {"day": "2026-12-25", "name": "Again"}
        ).status_code
        == 400
    )
    holiday = DisputeHoliday.objects.get()
    response = client.post(
        reverse("disputes:rule-add"),
        {"amount_at_least": "10,000.00", "currency": "usd", "route_to": "legal"},
    )
    assert response.status_code == 302
    rule = DisputeRoutingRule.objects.get()
    assert (rule.amount_at_least, rule.currency) == (Decimal("10000.00"), "USD")
    page = client.get(url).content.decode()
    assert "Christmas" in page and "amount at least $10,000.00" in page
    client.post(reverse("disputes:rule-delete", kwargs={"routing_rule_id": rule.public_id}))
    client.post(reverse("disputes:holiday-delete", kwargs={"holiday_id": holiday.public_id}))
    assert not DisputeRoutingRule.objects.exists() and not DisputeHoliday.objects.exists()


@pytest.mark.parametrize("role", [r for r in Role.values if r not in ("controller", "ar_manager")])
def test_settings_are_for_controllers_and_managers(personas, role):
    assert personas.client_for(role).get(reverse("disputes:settings")).status_code == 403


def test_invoice_card_context_and_partial(dispute, personas):
    from django.template.loader import render_to_string

    from plixo.disputes.selectors import invoice_dispute_card

    context = invoice_dispute_card(membership=personas.operator, invoice=dispute.invoice)
    assert [row["dispute"] for row in context["dispute_card_rows"]] == [dispute]
    html = render_to_string("disputes/_invoice_card.html", context)
    assert "Log dispute" in html and "Pricing is wrong" in html and "24 h left" in html
    sales = invoice_dispute_card(membership=personas.members["sales"], invoice=dispute.invoice)
    assert not sales["dispute_card_can_log"]


def test_dispute_history_is_told_in_words(open_invoice, personas):
    from plixo.disputes.configuration import routing_rule_add
    from plixo.disputes.services import dispute_resolve

    routing_rule_add(organization=personas.org, route_to="legal", reason_code="pricing", actor=None)
    dispute = file(open_invoice)
    dispute_resolve(
        dispute=dispute, outcome="credit", note="Contract price", actor=personas.controller.user
    )
    html = personas.client_for(Role.CONTROLLER).get(detail_url(dispute)).content.decode()
    for words in (
        "Pricing is wrong: $100.00 disputed (payer portal).",
        "To Legal.",
        "When reason is pricing is wrong",
        "Credit note",
        "$100.00 credited.",
        "Credit of $100.00.",
    ):
        assert words in html, words
