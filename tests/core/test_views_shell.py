"""The app shell: navigation by role, the organization switcher, the maintenance banner, CSP."""

import re

import pytest
from django.urls import reverse

from plixo.core.middleware import SESSION_ORG_KEY
from plixo.core.models import Role
from plixo.ops.models import MaintenanceState
from tests.factories import CustomerFactory, InvoiceFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _nav(body: str) -> str:
    return re.search(r'<nav class="mainnav".*?</nav>', body, re.S).group(0)


def test_navigation_shows_only_what_the_role_may_open(personas):
    controller_nav = _nav(personas.client_for(Role.CONTROLLER).get("/invoices/").content.decode())
    sales_nav = _nav(personas.client_for(Role.SALES).get("/invoices/").content.decode())

    for label in ("Invoices", "Customers", "Payments"):
        assert f">{label}</a>" in controller_nav
    assert ">Users &amp; Roles<" in controller_nav and reverse("team") in controller_nav
    assert ">Data-Ready<" in controller_nav and reverse("readiness:index") in controller_nav
    assert ">Invoices</a>" in sales_nav
    assert reverse("team") not in sales_nav and ">Users &amp; Roles<" not in sales_nav
    assert reverse("ops:index") not in sales_nav
    assert reverse("readiness:index") not in sales_nav


def test_current_section_is_marked_in_the_navigation(controller_client):
    body = controller_client.get(reverse("ledger:customer-list")).content.decode()

    assert re.search(r'href="/customers/" aria-current="page">Customers<', body)
    assert not re.search(r'aria-current="page">Invoices<', body)


def test_user_menu_shows_role_and_a_post_logout(personas):
    body = personas.client_for(Role.AR_MANAGER).get("/invoices/").content.decode()

    assert "A/R Manager" in body
    assert re.search(r'<form method="post" action="/logout/">', body)


def test_switcher_only_appears_for_members_of_several_organizations(personas):
    single = personas.client_for(Role.CONTROLLER).get("/invoices/").content.decode()
    assert "Switch organization" not in single

    MembershipFactory(
        user=personas.controller.user, organization=personas.other_org, role=Role.SALES
    )
    multi = personas.client_for(Role.CONTROLLER).get("/invoices/").content.decode()
    assert "Switch organization" in multi
    assert str(personas.other_org.public_id) in multi
    assert "Globex" in multi


def test_switching_organization_changes_what_the_pages_show(personas):
    controller = personas.controller
    MembershipFactory(user=controller.user, organization=personas.other_org, role=Role.SALES)
    InvoiceFactory(customer=CustomerFactory(organization=personas.org), number="ACME-1")
    InvoiceFactory(
        customer=CustomerFactory(organization=personas.other_org, owner=controller.user),
        number="GLOBEX-1",
    )
    client = personas.client_for(Role.CONTROLLER)
    acme = client.get("/invoices/").content.decode()
    assert "ACME-1" in acme and "GLOBEX-1" not in acme

    response = client.post(
        reverse("switch-org"),
        {"organization": str(personas.other_org.public_id), "next": "/invoices/?status=open"},
    )

    assert response.status_code == 302
    assert response.url == "/invoices/?status=open"
    assert client.session[SESSION_ORG_KEY] == str(personas.other_org.public_id)
    globex = client.get("/invoices/").content.decode()
    assert "GLOBEX-1" in globex and "ACME-1" not in globex
    assert "Sales" in globex  # the role in the other organization
    assert reverse("team") not in _nav(globex)


def test_switching_to_an_organization_you_are_not_in_is_a_404(personas):
    client = personas.client_for(Role.CONTROLLER)

    response = client.post(
        reverse("switch-org"), {"organization": str(personas.other_org.public_id)}
    )

    assert response.status_code == 404
    assert SESSION_ORG_KEY not in client.session


def test_switching_from_an_object_page_returns_home(personas):
    MembershipFactory(
        user=personas.controller.user, organization=personas.other_org, role=Role.CONTROLLER
    )
    invoice = InvoiceFactory(customer=CustomerFactory(organization=personas.org))
    client = personas.client_for(Role.CONTROLLER)
    detail = reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id})

    response = client.post(
        reverse("switch-org"),
        {"organization": str(personas.other_org.public_id), "next": detail},
    )

    assert response.url == reverse("home")


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_switching_never_redirects_off_site(personas, unsafe):
    client = personas.client_for(Role.CONTROLLER)

    response = client.post(
        reverse("switch-org"), {"organization": str(personas.org.public_id), "next": unsafe}
    )

    assert response.url == reverse("home")


def test_switching_without_naming_an_organization_is_a_400(controller_client):
    response = controller_client.post(reverse("switch-org"), {})

    assert response.status_code == 400
    assert "Choose an organization" in response.content.decode()


def test_switch_org_refuses_get(controller_client):
    assert controller_client.get(reverse("switch-org")).status_code == 405


def test_maintenance_banner_appears_only_in_maintenance(controller_client):
    text = "Maintenance mode is on"
    assert text not in controller_client.get("/invoices/").content.decode()

    MaintenanceState.objects.update_or_create(pk=1, defaults={"enabled": True})

    body = controller_client.get("/invoices/").content.decode()
    assert text in body
    assert "no email is sent" in body


def test_pages_have_no_inline_styles_or_unsourced_scripts(personas):
    invoice = InvoiceFactory(customer=CustomerFactory(organization=personas.org))
    client = personas.client_for(Role.CONTROLLER)
    urls = [
        "/invoices/",
        reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id}),
        "/customers/",
        reverse("ledger:customer-detail", kwargs={"customer_id": invoice.customer.public_id}),
        "/payments/",
        "/team/",
    ]
    for url in urls:
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code == 200, url
        assert "style=" not in body, url
        assert "<style" not in body, url
        for script in re.findall(r"<script[^>]*>", body):
            assert "src=" in script, (url, script)
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "style=" not in client.get("/login/").content.decode()


def test_static_assets_are_served(client):
    for path in ("/static/plixo/plixo.css", "/static/plixo/plixo.js"):
        response = client.get(path)
        assert response.status_code == 200, path
