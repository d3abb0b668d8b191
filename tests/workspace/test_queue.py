"""My Queue: each source, ranking, reasons, scoping, cursor and the query bound."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from plixo.core.models import Role
from plixo.workspace import selectors
from plixo.workspace.models import QueueEntry
from plixo.workspace.services import queue_entries_refresh
from tests.factories import (
    CustomerFactory,
    DisputeFactory,
    PaymentPlanFactory,
    PlanInstallmentFactory,
    PromiseFactory,
)
from tests.workspace.conftest import make_draft, make_invoice


def _queue(member, viewer=None, **kwargs):
    return selectors.queue_for_member(member=member, viewer=viewer or member, **kwargs)


def test_invoices_rank_by_days_overdue_risk_and_amount(org, operator, account):
    old = make_invoice(account, days_overdue=75, amount="48000.00")
    recent = make_invoice(account, days_overdue=5, amount="48000.00")
    risky_customer = CustomerFactory(organization=org, collector=operator.user, risk_score=95)
    risky = make_invoice(risky_customer, days_overdue=5, amount="48000.00")
    small = make_invoice(account, days_overdue=5, amount="48.00")
    queue_entries_refresh(organization=org)

    page = _queue(operator)

    assert [item.invoice for item in page.items] == [old, risky, recent, small]
    assert page.items[0].reason == "61–90 days, $48K"
    assert "high risk (95)" in page.items[1].reason
    assert all(item.kind == "invoice" for item in page.items)


def test_rank_does_not_depend_on_the_day(org, operator, account):
    """The persisted rank orders the same as the full score on any later day."""
    a = make_invoice(account, days_overdue=3, amount="90000.00")
    b = make_invoice(account, days_overdue=30, amount="100.00")
    queue_entries_refresh(organization=org)
    order_now = [i.invoice for i in _queue(operator).items]
    later = selectors.org_today(org) + dt.timedelta(days=40)
    order_later = [i.invoice for i in _queue(operator, today=later).items]
    # 27 days apart, but ninehundred times the amount: 3 days × 100 + log10(90000) × 1000 wins.
    assert order_now == order_later == [a, b]


def test_each_source_shows_with_its_reason(org, personas, operator, account, today):
    promised = make_invoice(account, days_overdue=20)
    PromiseFactory(invoice=promised, promised_on=today)
    drafted = make_invoice(account, days_overdue=2)
    make_draft(drafted)
    disputed = make_invoice(account, days_overdue=40)
    DisputeFactory(
        invoice=disputed,
        assignee=operator.user,
        sla_due_at=timezone.now() - dt.timedelta(hours=2),
    )
    planned = make_invoice(account, days_overdue=15)
    plan = PaymentPlanFactory(invoice=planned, status="active")
    PlanInstallmentFactory(plan=plan, sequence=1, due_on=today, amount=Decimal("600.00"))
    queue_entries_refresh(organization=org)

    page = _queue(operator)
    reasons = {item.kind: item.reason for item in page.items}

    assert reasons["promise"] == "Promise due today"
    assert reasons["draft"] == "Draft awaiting approval"
    assert reasons["dispute"] == "Dispute SLA breached"
    assert reasons["installment"] == "Installment 1 due today"
    # Today's work comes before the drafts, and drafts before the invoices by rank.
    tiers = [item.tier for item in page.items]
    assert tiers == sorted(tiers)
    # An invoice under an open promise or an accepted plan waits for its date.
    invoice_items = [item.invoice for item in page.items if item.kind == "invoice"]
    assert promised not in invoice_items and planned not in invoice_items
    assert page.focus_counts == {"dispute": 1, "promise": 1, "installment": 1, "draft": 1}


def test_amounts_keep_their_currency(org, operator, account):
    make_invoice(account, days_overdue=10, amount="5000.00", currency="EUR")
    queue_entries_refresh(organization=org)
    item = _queue(operator).items[0]
    assert item.currency == "EUR" and "€" in item.reason


def test_other_members_and_organizations_stay_out(org, personas, operator, account):
    mine = make_invoice(account)
    colleague = personas.members[Role.AR_MANAGER]
    theirs = make_invoice(CustomerFactory(organization=org, collector=colleague.user))
    foreign = make_invoice(
        CustomerFactory(organization=personas.other_org, collector=operator.user)
    )
    queue_entries_refresh(organization=org)
    queue_entries_refresh(organization=personas.other_org)
    assert [i.invoice for i in _queue(operator).items] == [mine]
    assert theirs not in [i.invoice for i in _queue(operator).items]
    assert foreign not in [i.invoice for i in _queue(operator).items]


def test_a_reassigned_customer_leaves_the_old_queue_at_once(org, personas, operator, account):
    make_invoice(account)
    queue_entries_refresh(organization=org)
    account.collector = personas.members[Role.AR_MANAGER].user
    account.save()
    assert _queue(operator).items == []  # the stale entry is re-checked on read


def test_sales_sees_only_owned_accounts_in_a_queue(org, personas, account):
    sales = personas.members[Role.SALES]
    owned = CustomerFactory(organization=org, collector=sales.user, owner=sales.user)
    not_owned = CustomerFactory(organization=org, collector=sales.user)
    mine = make_invoice(owned)
    make_invoice(not_owned)
    queue_entries_refresh(organization=org)
    assert [i.invoice for i in _queue(sales).items] == [mine]


def test_closed_invoices_leave_on_refresh(org, operator, account):
    invoice = make_invoice(account)
    queue_entries_refresh(organization=org)
    type(invoice).objects.filter(pk=invoice.pk).update(status="paid", balance=0)
    assert _queue(operator).items == []  # filtered on read
    queue_entries_refresh(organization=org)
    assert not QueueEntry.objects.filter(invoice=invoice).exists()


pytestmark_raw = pytest.mark.raw_invoice_writes
test_closed_invoices_leave_on_refresh = pytestmark_raw(test_closed_invoices_leave_on_refresh)


def test_cursor_pages_through_every_item_once(org, operator, account, today):
    invoices = [make_invoice(account, days_overdue=n) for n in range(1, 8)]
    for invoice in invoices[:3]:
        make_draft(invoice)
    queue_entries_refresh(organization=org)
    seen, cursor = [], None
    for _ in range(10):
        page = _queue(operator, limit=3, cursor=cursor)
        seen += [item.key for item in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 10  # 3 drafts + 7 invoices


def test_bad_cursor_is_refused(operator):
    with pytest.raises(selectors.CursorError):
        _queue(operator, cursor="not-a-cursor")


def test_the_page_lists_items_with_reasons(org, personas, operator, account):
    make_invoice(account, days_overdue=70, amount="48000.00")
    queue_entries_refresh(organization=org)
    response = personas.client_for(Role.AR_OPERATOR).get(reverse("workspace:queue"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "61–90 days, $48K" in body and "Today&#x27;s Focus" in body or "Today's Focus" in body


def test_query_count_is_bounded_whatever_the_size(
    org, personas, operator, account, today, django_assert_max_num_queries
):
    for n in range(60):
        invoice = make_invoice(account, days_overdue=n % 90)
        if n % 3 == 0:
            make_draft(invoice)
        if n % 7 == 0:
            PromiseFactory(invoice=invoice, promised_on=today)
    queue_entries_refresh(organization=org)
    client = personas.client_for(Role.AR_OPERATOR)
    client.get(reverse("workspace:queue"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("workspace:queue"))
    assert response.status_code == 200


def test_manager_opens_a_team_members_queue(org, personas, operator, account, manager):
    invoice = make_invoice(account)
    queue_entries_refresh(organization=org)
    client = personas.client_for(Role.AR_MANAGER)
    response = client.get(reverse("workspace:queue") + f"?member={operator.public_id}")
    assert invoice.number in response.content.decode()
    # An operator asking for someone else's queue gets their own.
    other = personas.client_for(Role.AR_OPERATOR).get(
        reverse("workspace:queue") + f"?member={manager.public_id}"
    )
    assert invoice.number in other.content.decode()


def test_todays_focus_counts_the_drafts_the_page_has_no_room_for(
    org, operator, account, today, django_assert_max_num_queries
):
    for n in range(2):
        PromiseFactory(invoice=make_invoice(account, days_overdue=20 + n), promised_on=today)
    for n in range(5):
        make_draft(make_invoice(account, days_overdue=n))
    queue_entries_refresh(organization=org)

    page = _queue(operator, limit=4)

    assert [item.kind for item in page.items] == ["promise", "promise", "draft", "draft"]
    # Five drafts wait, counted up to the page size: "4+".
    assert page.focus_counts == {"promise": 2, "draft": 4}
    # The API's pages count nothing and read no invoice when Today fills the page.
    with django_assert_max_num_queries(6):
        api_page = _queue(operator, limit=4, focus=False)
    assert api_page.focus_counts == {} and api_page.next_cursor


def test_a_managers_own_queue_shows_escalations_once_in_bounded_queries(
    org, personas, operator, manager, account, django_assert_max_num_queries
):
    """Escalations to the manager are items of her queue (Today); the separate card of them is
    for when she opens a team member's queue. Her page reads what an operator's does plus the
    team picker and the Stripe banner check."""
    from plixo.workspace.services import escalation_raise

    for n in range(30):
        invoice = make_invoice(account, days_overdue=n)
        if n % 3 == 0:
            make_draft(invoice)
    escalated = make_invoice(account, days_overdue=70)
    escalation_raise(
        invoice=escalated, from_member=operator, reason="No answer in 6 weeks", actor=None
    )
    queue_entries_refresh(organization=org)
    client = personas.client_for(Role.AR_MANAGER)
    client.get(reverse("workspace:queue"))
    with django_assert_max_num_queries(14):
        own = client.get(reverse("workspace:queue")).content.decode()
    assert "Escalations to you" not in own
    assert own.count(f"Escalated by {operator.user.display_name}") == 1
    theirs = client.get(reverse("workspace:queue") + f"?member={operator.public_id}")
    assert "Escalations to you" in theirs.content.decode()


def test_drafts_follow_their_accounts_collector(org, personas, operator, manager, account):
    """A draft carries its customer's collector (read off one index); when the account moves
    to another collector, its drafts move to that queue at once."""
    from plixo.ledger.services import customer_update

    invoice = make_invoice(account)
    draft = make_draft(invoice)
    assert draft.collector_id == operator.user_id
    assert [i.kind for i in _queue(operator).items if i.kind == "draft"] == ["draft"]
    customer_update(customer=account, collector=manager.user)
    draft.refresh_from_db()
    assert draft.collector_id == manager.user_id
    assert not [i for i in _queue(operator).items if i.kind == "draft"]
    assert [i.record for i in _queue(manager).items if i.kind == "draft"] == [draft]
    # A collector changed behind the service's back is caught by the daily full refresh.
    account.__class__.objects.filter(pk=account.pk).update(collector=operator.user)
    queue_entries_refresh(organization=org)
    draft.refresh_from_db()
    assert draft.collector_id == operator.user_id


def test_a_member_without_accounts_reads_no_drafts_of_others(org, personas, operator, account):
    """The drafts source reads the member's own drafts off the partial index, whatever the
    organization's other drafts (a member collecting nothing does not scan them)."""
    from django.db import connection

    from plixo.core.models import Membership

    make_draft(make_invoice(account))
    controller = Membership.objects.get(organization=org, role=Role.CONTROLLER)
    drafts = selectors._drafts(controller, controller).order_by("created_at", "id")[:50]
    if connection.vendor == "sqlite":
        assert "msg_draft_collector" in drafts.explain()
    assert selectors._drafts(controller, controller).count() == 0
