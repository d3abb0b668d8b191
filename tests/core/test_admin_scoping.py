"""The support admin is scoped by organization: a staff member of Acme never sees Globex."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from plixo.api.models import ApiKey
from plixo.core.models import AuditEvent, Membership, Role, User
from plixo.ledger.models import Customer, Invoice, Payment, TimelineEvent
from plixo.ledger.services import AllocationRequest, invoice_create, payment_record
from tests.factories import (
    ApiKeyFactory,
    AuditEventFactory,
    ContactFactory,
    CustomerFactory,
    UserFactory,
)

ADMIN_MODELS = {
    "core": ("organization", "membership", "auditevent", "user"),
    "ledger": ("customer", "contact", "invoice", "payment", "timelineevent"),
    "api": ("apikey",),
}


def _ledger_for(org, tag: str):
    """A customer with a contact, an invoice paid in part, and an API key, all named `tag`."""
    customer = CustomerFactory(organization=org, name=f"{tag} Customer", external_id=f"{tag}-C1")
    ContactFactory(customer=customer, email=f"ap@{tag.lower()}.example", name=f"{tag} Contact")
    invoice = invoice_create(
        organization=org,
        customer=customer,
        number=f"{tag}-INV-1",
        issue_date=dt.date(2025, 1, 1),
        due_date=dt.date(2025, 1, 31),
        currency="USD",
        amount="500.00",
    )
    payment_record(
        organization=org,
        reference=f"{tag}-PAY-1",
        amount="100.00",
        currency="USD",
        allocations=[AllocationRequest(invoice=invoice, amount=Decimal("100.00"))],
    )
    ApiKeyFactory(organization=org, user=UserFactory(email=f"bot@{tag.lower()}.example"),
                  name=f"{tag} key")  # fmt: skip
    AuditEventFactory(organization=org, reason=f"{tag} audit reason")
    return customer, invoice


@pytest.fixture
def ledgers(personas):
    return {
        "acme": _ledger_for(personas.org, "Acme"),
        "globex": _ledger_for(personas.other_org, "Globex"),
    }


def _staff(user: User, *codenames: str) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    perms = Permission.objects.filter(content_type__app_label__in=ADMIN_MODELS)
    if codenames:
        perms = perms.filter(codename__in=codenames)
    user.user_permissions.set(perms)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def acme_staff(personas, ledgers) -> Client:
    """The Acme controller, made support staff with every permission on the Plixo models."""
    return _staff(personas.controller.user)


def _changelist(app: str, model: str) -> str:
    return reverse(f"admin:{app}_{model}_changelist")


@pytest.mark.parametrize(
    "app, model", [(app, model) for app, models in ADMIN_MODELS.items() for model in models]
)
def test_changelists_show_only_the_staff_members_organizations(acme_staff, app, model):
    response = acme_staff.get(_changelist(app, model))
    assert response.status_code == 200
    body = response.content.decode().lower()
    assert "globex" not in body
    assert "acme" in body


def test_superuser_sees_every_organization(personas, ledgers):
    root = User.objects.create_superuser(email="root@plixo.test", password="x" * 12)
    client = Client()
    client.force_login(root)
    body = client.get(_changelist("ledger", "customer")).content.decode()
    assert "Acme Customer" in body and "Globex Customer" in body


def _change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def test_another_organizations_change_pages_answer_like_missing_rows(acme_staff, personas, ledgers):
    globex_customer, globex_invoice = ledgers["globex"]
    others = [
        personas.other_org,
        personas.outsider,
        personas.outsider.user,
        globex_customer,
        globex_customer.contacts.get(),
        globex_invoice,
        Payment.objects.get(reference="Globex-PAY-1"),
        TimelineEvent.objects.filter(invoice=globex_invoice).first(),
        ApiKey.objects.get(name="Globex key"),
        AuditEvent.objects.get(reason="Globex audit reason"),
    ]
    for obj in others:
        response = acme_staff.get(_change_url(obj))
        # Django's admin redirects to the index with "doesn't exist" for rows it cannot find.
        assert response.status_code in (302, 404), obj
        if response.status_code == 302:
            assert response.url == reverse("admin:index")
    own_customer, own_invoice = ledgers["acme"]
    for obj in (personas.org, own_customer, own_invoice):
        assert acme_staff.get(_change_url(obj)).status_code == 200


def test_organization_filter_and_choices_offer_only_own_organizations(acme_staff, personas):
    body = acme_staff.get(_changelist("ledger", "invoice")).content.decode()
    assert "Acme Widgets" in body and "Globex" not in body
    add = acme_staff.get(reverse("admin:ledger_customer_add")).content.decode()
    assert f'value="{personas.org.pk}"' in add
    assert f'value="{personas.other_org.pk}"' not in add


def test_customer_added_in_admin_goes_through_the_service_and_stays_in_scope(acme_staff, personas):
    url = reverse("admin:ledger_customer_add")
    form = {
        "external_id": "ADM-1",
        "name": "Admin Made Ltd",
        "segment": "smb",
        "time_zone": "Europe/London",
        "country": "gb",
        "currency": "GBP",
        "risk_score": "10",
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
    }
    refused = acme_staff.post(url, {**form, "organization": personas.other_org.pk})
    assert refused.status_code == 200  # the form comes back with an error
    assert not Customer.objects.filter(external_id="ADM-1").exists()
    response = acme_staff.post(url, {**form, "organization": personas.org.pk})
    assert response.status_code == 302
    customer = Customer.objects.get(external_id="ADM-1")
    assert customer.organization == personas.org
    assert customer.country == "GB"  # normalised by customer_create


def test_invoice_money_is_read_only_and_edits_leave_a_timeline_event(acme_staff, ledgers):
    _, invoice = ledgers["acme"]
    url = _change_url(invoice)
    page = acme_staff.get(url).content.decode()
    assert 'name="balance"' not in page and 'name="amount"' not in page
    response = acme_staff.post(
        url,
        {
            "issue_date": "2025-01-01",
            "due_date": "2025-02-15",
            "po_number": "PO-NEW",
            "description": "",
            "balance": "0",
            "amount": "1",
            **{f"{p}-TOTAL_FORMS": "0" for p in ("allocations", "adjustments", "timeline")},
            **{f"{p}-INITIAL_FORMS": "0" for p in ("allocations", "adjustments", "timeline")},
        },
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.amount, invoice.balance) == (Decimal("500"), Decimal("400"))
    assert invoice.po_number == "PO-NEW"
    event = invoice.timeline.get(kind=TimelineEvent.Kind.UPDATED)
    assert set(event.data["changes"]) == {"due_date", "po_number"}
    assert event.actor_id is not None


def test_invoices_cannot_be_added_or_deleted_in_admin(acme_staff, ledgers):
    _, invoice = ledgers["acme"]
    assert acme_staff.get(reverse("admin:ledger_invoice_add")).status_code == 403
    delete = reverse("admin:ledger_invoice_delete", args=[invoice.pk])
    assert acme_staff.post(delete, {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_membership_change_needs_a_reason_and_is_audited(acme_staff, personas):
    operator = personas.operator
    url = _change_url(operator)
    data = {"role": Role.AR_MANAGER, "approval_limit": "20000"}
    assert acme_staff.post(url, data).status_code == 200  # no reason: form error
    operator.refresh_from_db()
    assert operator.role == Role.AR_OPERATOR
    response = acme_staff.post(url, {**data, "reason": "Covering the manager's leave"})
    assert response.status_code == 302
    operator.refresh_from_db()
    assert (operator.role, operator.approval_limit) == (Role.AR_MANAGER, Decimal("20000"))
    events = AuditEvent.objects.filter(subject=operator.user).order_by("action")
    assert [e.action for e in events] == [
        AuditEvent.Action.LIMIT_CHANGED,
        AuditEvent.Action.ROLE_CHANGED,
    ]
    assert {e.reason for e in events} == {"Covering the manager's leave"}
    assert {e.actor for e in events} == {personas.controller.user}


def test_last_controller_cannot_be_demoted_in_admin(acme_staff, personas):
    controller = personas.controller
    response = acme_staff.post(
        _change_url(controller),
        {"role": Role.LEGAL, "approval_limit": "0", "reason": "Testing"},
    )
    assert response.status_code == 200
    assert "last Controller" in response.content.decode()
    controller.refresh_from_db()
    assert controller.role == Role.CONTROLLER


def test_staff_cannot_grant_staff_or_superuser_rights(acme_staff, personas):
    sales = personas.members[Role.SALES].user
    page = acme_staff.get(_change_url(sales)).content.decode()
    assert 'name="email"' in page
    assert 'name="is_superuser"' not in page and 'name="is_staff"' not in page
    acme_staff.post(
        _change_url(sales),
        {"email": sales.email, "full_name": "Sam Sales", "is_active": "on", "is_superuser": "on"},
    )
    sales.refresh_from_db()
    assert sales.full_name == "Sam Sales"
    assert not sales.is_superuser and not sales.is_staff


def test_staff_without_a_membership_sees_nothing(personas, ledgers):
    loner = UserFactory(email="support@plixo.test")
    client = _staff(loner)
    body = client.get(_changelist("ledger", "customer")).content.decode()
    assert "Acme Customer" not in body and "Globex Customer" not in body


def test_inactive_membership_no_longer_opens_the_organization(acme_staff, personas, ledgers):
    Membership.objects.filter(pk=personas.controller.pk).update(is_active=False)
    body = acme_staff.get(_changelist("ledger", "customer")).content.decode()
    assert "Acme Customer" not in body


def test_api_keys_are_read_only_and_revoked_through_the_service(acme_staff, personas, ledgers):
    own = ApiKey.objects.get(name="Acme key")
    other = ApiKey.objects.get(name="Globex key")
    page = acme_staff.get(_change_url(own)).content.decode()
    assert 'name="key_hash"' not in page
    acme_staff.post(
        _changelist("api", "apikey"),
        {"action": "revoke_keys", "_selected_action": [own.pk, other.pk]},
    )
    own.refresh_from_db()
    other.refresh_from_db()
    assert own.revoked_at is not None
    assert other.revoked_at is None  # outside the staff member's scope: untouched
    assert AuditEvent.objects.filter(action=AuditEvent.Action.API_KEY_REVOKED).count() == 1


def test_view_only_staff_cannot_change_customers(personas, ledgers):
    client = _staff(personas.members[Role.AR_MANAGER].user, "view_customer")
    customer, _ = ledgers["acme"]
    assert client.get(_change_url(customer)).status_code == 200
    client.post(_change_url(customer), {"name": "Renamed"})
    customer.refresh_from_db()
    assert customer.name == "Acme Customer"
