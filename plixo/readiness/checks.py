"""The three Data-Ready checks. Each answers a `CheckResult`: its figure against its
threshold, whether it passed, what to do when it did not, and the details behind the figure.

- Contact coverage: open invoices whose customer has a deliverable (unsuppressed) contact,
  at least 95%.
- Aging parity: Plixo's aging as of the export's date against the last uploaded ERP aging
  summary, both in the base currency; each bucket and the total within 1% of the export's
  total.
- Dispute smoke test: a throwaway invoice gets a portal link, the payer's session files a
  dispute through the portal's own service, and the dispute must reach the queue with an SLA
  deadline and a routing result. All of it runs in a transaction that is rolled back.
"""

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from plixo.core.models import Organization, User
from plixo.readiness.models import AgingExport
from plixo.readiness.selectors import (
    BUCKET_KEYS,
    BUCKET_LABELS,
    aging_comparison,
    contact_coverage,
    customers_missing_contact,
    organization_reader,
)

log = logging.getLogger(__name__)

COVERAGE_THRESHOLD = Decimal("95")
PARITY_THRESHOLD = Decimal("1")
SMOKE_REASON = "other"
SMOKE_AMOUNT = Decimal("100.00")


@dataclass
class CheckResult:
    name: str
    title: str
    figure: str  # as shown: "97.2%"
    threshold: str  # as shown: "≥ 95%"
    passed: bool
    remediation: str  # empty when it passed
    details: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return asdict(self)


def _percent(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


# --- contact coverage --------------------------------------------------------------------------


def check_contact_coverage(*, organization: Organization) -> CheckResult:
    counts = contact_coverage(organization=organization)
    total, covered = counts["open"], counts["covered"]
    share = Decimal(100) if total == 0 else Decimal(covered) * 100 / Decimal(total)
    passed = share >= COVERAGE_THRESHOLD
    lacking = total - covered
    details = {"open_invoices": total, "covered": covered, "lacking": lacking}
    remediation = ""
    if not passed:
        missing = customers_missing_contact(organization=organization)
        details["customers"] = [
            {**row, "url": reverse("ledger:customer-detail", args=[row["id"]])} for row in missing
        ]
        names = ", ".join(row["name"] for row in missing[:5])
        more = " and others" if len(missing) > 5 else ""
        remediation = (
            f"{lacking:,} of {total:,} open invoices have no customer contact Plixo may email "
            f"(no contact, or every contact suppressed); customers to fix: {names}{more}. "
            "Enrich the missing emails from your CRM or an append service, then re-import the "
            "contacts (Imports) or add them on each customer's page; lift suppressions that no "
            "longer apply. Then run the checks again."
        )
    return CheckResult(
        name="contact_coverage",
        title="Contact coverage",
        figure=_percent(share),
        threshold=f"≥ {COVERAGE_THRESHOLD}%",
        passed=passed,
        remediation=remediation,
        details=details,
    )


# --- aging parity ------------------------------------------------------------------------------


def check_aging_parity(*, organization: Organization, export: AgingExport | None) -> CheckResult:
    """Fails when any bucket or the total differs from the export by more than 1% of the
    export's total: |Plixo − ERP| ≤ 1% × |ERP total| for each bucket and for the total."""
    base = organization.base_currency
    result = CheckResult(
        name="aging_parity",
        title="Aging parity",
        figure="—",
        threshold=f"≤ {PARITY_THRESHOLD}% of the ERP total",
        passed=False,
        remediation="",
    )
    if export is None:
        result.remediation = (
            "Upload your ERP's aging summary (A/R Aging Summary from QuickBooks or NetSuite, Aged "
            "Receivables Summary from Xero) as CSV on the Data-Ready page, with the date it is "
            "as of, then run the checks again."
        )
        return result
    compared = aging_comparison(organization=organization, export=export)
    details = {
        "export": str(export.public_id),
        "file_name": export.file_name,
        "as_of": str(export.as_of),
        "base_currency": base,
        "export_currency": export.currency,
        "rates_used": compared["rates_used"],
        "missing_rates": compared["missing_rates"],
    }
    result.details = details
    if compared["missing_rates"]:
        named = ", ".join(
            f"{gap['currency']} ({gap['amount']} {gap['currency']})"
            for gap in compared["missing_rates"]
        )
        result.figure = "No rate"
        result.remediation = (
            f"No exchange rate to {base} on or before {export.as_of} for {named}: amounts are "
            "never converted at 1. Import or enter those rates (Reports → Exchange rates), "
            "then run the checks again."
        )
        return result
    erp, plixo = compared["erp"], compared["plixo"]
    limit = abs(erp["total"]) * PARITY_THRESHOLD / 100
    rows, worst = [], Decimal(0)
    for key in (*BUCKET_KEYS, "total"):
        difference = plixo[key] - erp[key]
        worst = max(worst, abs(difference))
        rows.append(
            {
                "key": key,
                "label": BUCKET_LABELS[key],
                "plixo": str(plixo[key]),
                "erp": str(erp[key].quantize(Decimal("0.01"))),
                "difference": str(difference.quantize(Decimal("0.01"))),
                "within": abs(difference) <= limit,
            }
        )
    details["rows"] = rows
    details["limit"] = str(limit.quantize(Decimal("0.01")))
    if erp["total"]:
        result.figure = _percent(worst * 100 / abs(erp["total"]))
    else:
        result.figure = f"{worst.quantize(Decimal('0.01'))} {base}"
    result.passed = all(row["within"] for row in rows)
    if not result.passed:
        off = "; ".join(
            f"{row['label']}: Plixo {row['plixo']} vs ERP {row['erp']} ({row['difference']})"
            for row in rows
            if not row["within"]
        )
        result.remediation = (
            f"As of {export.as_of}, in {base}, beyond {details['limit']} {base}: {off}. Confirm "
            "that write-offs, credit notes and payments recorded in the ERP are in Plixo too, "
            "and that currency conversions use the same rates as the ERP export; re-import what "
            "differs, or upload a fresh export, then run the checks again."
        )
    return result


# --- dispute smoke test ------------------------------------------------------------------------


class _RollBack(Exception):
    """Raised at the end of the smoke test so that everything it wrote is rolled back."""


def _smoke(organization: Organization, now: dt.datetime) -> dict:
    # Imported here: the smoke test drives the ledger, portal and disputes services.
    from plixo.disputes.selectors import QueueFilters, dispute_queue
    from plixo.disputes.services import dispute_file
    from plixo.ledger.selectors import org_today
    from plixo.ledger.services.accounts import contact_create, customer_create
    from plixo.ledger.services.invoices import invoice_create
    from plixo.portal.models import PortalEventKind
    from plixo.portal.services import (
        payer_label,
        portal_event_record,
        portal_link_consume,
        portal_link_issue,
    )

    steps: list[str] = []
    marker = now.strftime("%Y%m%d%H%M%S%f")
    customer = customer_create(
        organization=organization,
        external_id=f"data-ready-smoke-{marker}",
        name="Data-Ready smoke test customer",
    )
    contact = contact_create(customer=customer, email=f"smoke-{marker}@example.invalid")
    today = org_today(organization)
    invoice = invoice_create(
        organization=organization,
        customer=customer,
        number=f"SMOKE-{marker}",
        issue_date=today,
        due_date=today + dt.timedelta(days=30),
        currency=organization.base_currency,
        amount=SMOKE_AMOUNT,
        actor_label="Data-Ready smoke test",
    )
    steps.append(f"Test invoice {invoice.number} created.")
    link, _path = portal_link_issue(invoice=invoice, contact=contact, source="")
    session = portal_link_consume(link=link, now=timezone.now())
    if session is None:
        return {"ok": False, "steps": steps, "problem": "The portal link could not be opened."}
    steps.append("Portal link issued and opened.")
    dispute = dispute_file(
        invoice=invoice,
        reason_code=SMOKE_REASON,
        amount=SMOKE_AMOUNT,
        description="Data-Ready smoke test dispute (rolled back).",
        contact=session.contact,
        source="portal",
        actor_label=payer_label(session.contact),
    )
    portal_event_record(invoice=invoice, kind=PortalEventKind.DISPUTE_FILED, session=session)
    steps.append("Dispute filed through the portal.")
    queued = (
        dispute_queue(membership=organization_reader(organization), filters=QueueFilters(), now=now)
        .filter(pk=dispute.pk)
        .first()
    )
    found = {
        "in_queue": queued is not None,
        "sla_due_at": queued.sla_due_at.isoformat() if queued and queued.sla_due_at else None,
        "routed_to": queued.get_routed_to_display() if queued and queued.routed_to else "",
        "assignee": str(queued.assignee) if queued and queued.assignee_id else "",
    }
    if not found["in_queue"]:
        return {**found, "ok": False, "steps": steps, "problem": "not_in_queue"}
    steps.append("Dispute found in the disputes queue.")
    if not found["sla_due_at"]:
        return {**found, "ok": False, "steps": steps, "problem": "no_sla"}
    deadline = queued.sla_due_at.astimezone(ZoneInfo(organization.time_zone))
    steps.append(f"SLA deadline {deadline:%a %d %b %Y %H:%M} ({organization.time_zone}).")
    if not (found["routed_to"] or found["assignee"]):
        return {**found, "ok": False, "steps": steps, "problem": "not_routed"}
    routed = found["routed_to"] + (f" ({found['assignee']})" if found["assignee"] else "")
    steps.append(f"Routed to {routed}.")
    return {**found, "ok": True, "steps": steps, "problem": ""}


def dispute_smoke_test(*, organization: Organization) -> dict:
    """File a test dispute the way a payer does and see where it lands; nothing persists and
    nothing is sent (side effects wait for a commit that never comes)."""
    now = timezone.now()
    outcome: dict = {}
    try:
        with transaction.atomic():
            outcome = _smoke(organization, now)
            raise _RollBack
    except _RollBack:
        pass
    except Exception as exc:  # noqa: BLE001 - any failure is the check's finding, not a crash
        log.warning("readiness.smoke_failed", exc_info=True)
        outcome = {"ok": False, "steps": [], "problem": "error", "error": str(exc)[:300]}
    return outcome


_SMOKE_PROBLEMS = {
    "not_in_queue": "The test dispute was filed but is not in the disputes queue.",
    "no_sla": "The test dispute reached the queue without an SLA deadline: set SLA targets "
    "and business hours (Dispute SLA and routing page, /disputes/settings/).",
    "not_routed": "The test dispute reached the queue but no routing rule matched it, so no "
    "team or person owns it: add a routing rule (Dispute SLA and routing page, "
    "/disputes/settings/, Routing rules) — e.g. 'Other' disputes to the A/R Operators — so "
    "every payer dispute has an owner.",
}


_SMOKE_FIGURES = {"not_in_queue": "Not queued", "no_sla": "No SLA", "not_routed": "Not routed"}


def check_dispute_smoke(*, organization: Organization) -> CheckResult:
    outcome = dispute_smoke_test(organization=organization)
    passed = bool(outcome.get("ok"))
    remediation = ""
    if not passed:
        problem = outcome.get("problem", "error")
        what = _SMOKE_PROBLEMS.get(
            problem,
            "The test dispute could not be filed through the portal: "
            f"{outcome.get('error', problem)}",
        )
        remediation = (
            f"{what} Then resend the test dispute: run the checks again (it files a new "
            "throwaway dispute through the portal and removes it)."
        )
    return CheckResult(
        name="dispute_smoke",
        title="Dispute smoke test",
        figure=_SMOKE_FIGURES.get(outcome.get("problem", "error"), "Error")
        if not passed
        else "Routed",
        threshold="Queued, SLA, owner",
        passed=passed,
        remediation=remediation,
        details={**outcome, "url": reverse("disputes:settings")},
    )


def checks_compute(
    *, organization: Organization, export: AgingExport | None, actor: User | None = None
) -> list[CheckResult]:
    return [
        check_contact_coverage(organization=organization),
        check_aging_parity(organization=organization, export=export),
        check_dispute_smoke(organization=organization),
    ]
