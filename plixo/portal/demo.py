"""PORTAL-8: the payer portal with made-up data, for sales demos and for payers who want to see
what a link leads to. Built from unsaved objects: no token, and nothing is read from or written
to the database. Forms "submit" to the demo itself and show the banner the real action would."""

import datetime as dt
from decimal import Decimal

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from plixo.commitments.services import plan_installments_even
from plixo.core.models import Organization
from plixo.disputes.models import ReasonCode
from plixo.ledger.models import Customer, Invoice, InvoiceStatus
from plixo.portal.forms import DisputeForm, PayForm, PlanForm, PromiseForm
from plixo.portal.selectors import PortalSummary

PAGES = {"home", "pay", "plan", "promise", "dispute"}
BANNERS = {"paid", "plan", "promise", "dispute"}


def _demo_invoice(today: dt.date, *, paid: bool) -> Invoice:
    organization = Organization(
        name="Northwind Supply Co.", slug="demo-portal", locale="en_US", time_zone="UTC"
    )
    customer = Customer(organization=organization, name="Bluewater Logistics", currency="USD")
    amount = Decimal("4280.00")
    return Invoice(
        organization=organization,
        customer=customer,
        number="INV-2024-1042",
        issue_date=today - dt.timedelta(days=40),
        due_date=today - dt.timedelta(days=10),
        currency="USD",
        amount=amount,
        balance=Decimal("0.00") if paid else amount,
        status=InvoiceStatus.PAID if paid else InvoiceStatus.OPEN,
        po_number="PO-88213",
        description="Pallet racking, 12 bays, delivered and installed at the Tacoma warehouse.",
    )


def demo_urls() -> dict[str, str]:
    base = reverse("portal:demo")
    return {
        "home": base,
        **{page: f"{base}?page={page}" for page in ("pay", "plan", "promise", "dispute")},
    }


def _banners(banner: str, invoice: Invoice) -> list[dict]:
    from plixo.portal.views import BANNER_TEXT

    if banner not in BANNERS:
        return []
    return [{"kind": banner, **BANNER_TEXT[banner]}]


def render_demo(request):
    today = timezone.now().date()
    page = request.GET.get("page", "home")
    page = page if page in PAGES else "home"
    banner = request.GET.get("banner", "")
    invoice = _demo_invoice(today, paid=banner == "paid")
    context = {
        "demo": True,
        "invoice": invoice,
        "organization": invoice.organization,
        "urls": demo_urls(),
        "today": today,
    }
    kwargs = {"invoice": invoice, "today": today}
    if page == "home":
        context["summary"] = PortalSummary(invoice=invoice)
        context["banners"] = _banners(banner, invoice)
        return render(request, "portal/home.html", context)
    if page == "pay":
        context["form"] = PayForm(**kwargs)
    elif page == "plan":
        first_on = today + dt.timedelta(days=7)
        initial = {"count": 3, "first_on": first_on}
        rows = plan_installments_even(
            total=invoice.balance, currency=invoice.currency, count=3, first_on=first_on
        )
        for i, (due_on, amount) in enumerate(rows):
            initial[f"due_{i}"], initial[f"amount_{i}"] = due_on, str(amount)
        context["form"] = PlanForm(initial=initial, rows=3, **kwargs)
    elif page == "promise":
        context["form"] = PromiseForm(
            initial={"promised_on": today + dt.timedelta(days=14)}, **kwargs
        )
    else:
        context["form"] = DisputeForm(reason_choices=ReasonCode.choices, **kwargs)
    return render(request, f"portal/{page}.html", context)
