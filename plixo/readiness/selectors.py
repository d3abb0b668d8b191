"""Data-Ready reads: the figures the checks judge, and what the page shows."""

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from plixo.core.models import Membership, Organization, Role
from plixo.ledger.models import OPEN_STATUSES, Contact, Customer, Invoice
from plixo.readiness.models import AgingExport, ReadinessOverride, ReadinessRun
from plixo.reports.selectors.aging import aging_report
from plixo.reports.selectors.rates import Converter

BUCKET_KEYS = ("current", "1_30", "31_60", "61_90", "90_plus")
BUCKET_LABELS = {
    "current": "Current",
    "1_30": "1–30 days",
    "31_60": "31–60 days",
    "61_90": "61–90 days",
    "90_plus": "90+ days",
    "total": "Total",
}
MISSING_SHOWN = 10


def organization_reader(organization: Organization) -> Membership:
    """The whole organization's view, for reads the checks make on no one's behalf (the
    command line has no member): a Controller's scope, never saved."""
    return Membership(organization=organization, role=Role.CONTROLLER)


def deliverable_contacts_q(now: dt.datetime) -> Q:
    """A contact email may be written to: it has an address and no suppression in force (a
    suppression runs until `suppressed_until`, or for good when it has a reason and no end)."""
    unsuppressed = Q(suppressed_until__isnull=True, suppression_reason="") | Q(
        suppressed_until__lte=now
    )
    return ~Q(email="") & unsuppressed


def contact_coverage(*, organization: Organization, now: dt.datetime | None = None) -> dict:
    """Open invoices, and how many of them have a customer with a deliverable contact: one
    aggregate over the open invoices, testing each customer against the set of customers with
    a deliverable contact (`IN (subquery)`: the set is built once, not probed per invoice)."""
    now = now or timezone.now()
    deliverable = (
        Contact.objects.filter(organization=organization)
        .filter(deliverable_contacts_q(now))
        .values("customer_id")
    )
    sums = (
        Invoice.objects.filter(organization=organization, status__in=OPEN_STATUSES)
        .order_by()
        .aggregate(open=Count("id"), covered=Count("id", filter=Q(customer_id__in=deliverable)))
    )
    return {"open": sums["open"] or 0, "covered": sums["covered"] or 0}


def customers_missing_contact(
    *, organization: Organization, limit: int = MISSING_SHOWN, now: dt.datetime | None = None
) -> list[dict]:
    """Customers with open invoices and no deliverable contact, most invoices first."""
    now = now or timezone.now()
    deliverable = Contact.objects.filter(customer_id=OuterRef("pk")).filter(
        deliverable_contacts_q(now)
    )
    open_invoices = Invoice.objects.filter(
        customer_id=OuterRef("pk"), status__in=OPEN_STATUSES
    ).values("pk")[:1]
    rows = (
        Customer.objects.filter(organization=organization)
        .filter(Exists(open_invoices))
        .exclude(Exists(deliverable))
        .annotate(
            open_count=Count("invoices", filter=Q(invoices__status__in=OPEN_STATUSES)),
            suppressed=Count("contacts", distinct=True),
        )
        .order_by("-open_count", "name", "pk")
        .values("public_id", "name", "open_count", "suppressed")[:limit]
    )
    return [
        {
            "id": str(row["public_id"]),
            "name": row["name"],
            "open_invoices": row["open_count"],
            "has_suppressed_contact": bool(row["suppressed"]),
        }
        for row in rows
    ]


def aging_comparison(*, organization: Organization, export: AgingExport) -> dict:
    """Plixo's aging as of the export's date next to the export, both in the base currency.
    The export is converted with the organization's rate on its as-of date when it is in
    another currency. Missing rates are listed, never taken as 1."""
    base = organization.base_currency
    report = aging_report(membership=organization_reader(organization), as_of=export.as_of)
    plixo = {key: Decimal(report["total"]["base"]["buckets"][key]) for key in BUCKET_KEYS}
    plixo["total"] = Decimal(report["total"]["base"]["total"])
    missing = [
        {"currency": gap["currency"], "amount": str(gap["amount"])}
        for gap in report["conversion"]["missing"]
    ]
    rates = [
        {"currency": r["currency"], "date": str(r["date"]), "rate": str(r["rate"])}
        for r in report["conversion"]["rates_used"]
    ]
    erp = {**export.buckets, "total": export.total}
    if export.currency != base:
        converter = Converter(organization, export.as_of, export.as_of)
        converted = {k: converter.convert(v, export.currency, export.as_of) for k, v in erp.items()}
        if any(v is None for v in converted.values()):
            missing.append({"currency": export.currency, "amount": str(export.total)})
            erp_base = None
        else:
            erp_base = converted
            for r in converter.summary()["rates_used"]:
                rates.append(
                    {"currency": r["currency"], "date": str(r["date"]), "rate": str(r["rate"])}
                )
    else:
        erp_base = erp
    return {
        "as_of": export.as_of,
        "base_currency": base,
        "plixo": plixo,
        "erp": erp_base,
        "erp_original": erp,
        "erp_currency": export.currency,
        "missing_rates": missing,
        "rates_used": rates,
    }


def latest_export(*, organization: Organization) -> AgingExport | None:
    return (
        AgingExport.objects.filter(organization=organization)
        .select_related("uploaded_by")
        .order_by("-uploaded_at", "-id")
        .first()
    )


def latest_run(*, organization: Organization) -> ReadinessRun | None:
    return (
        ReadinessRun.objects.filter(organization=organization)
        .select_related("ran_by")
        .order_by("-ran_at", "-id")
        .first()
    )


def readiness_page(*, organization: Organization) -> dict:
    """What the Data-Ready page shows: the last run with its checks, its override if any, and
    the last aging export with Plixo's figures beside it (from the run when it compared the
    same export)."""
    run = latest_run(organization=organization)
    export = latest_export(organization=organization)
    override = (
        ReadinessOverride.objects.filter(run=run).select_related("by").first() if run else None
    )
    rows = []
    if export is not None:
        compared = None
        if run is not None and run.aging_export_id == export.pk:
            compared = next(
                (r["details"] for r in run.results if r["name"] == "aging_parity"), None
            )
        for key in (*BUCKET_KEYS, "total"):
            erp = export.total if key == "total" else export.buckets[key]
            row = {"key": key, "label": BUCKET_LABELS[key], "erp": erp, "plixo": None, "diff": None}
            if compared and compared.get("rows"):
                match = next((r for r in compared["rows"] if r["key"] == key), None)
                if match:
                    row.update(plixo=match["plixo"], diff=match["difference"])
            rows.append(row)
    return {"run": run, "override": override, "export": export, "export_rows": rows}
