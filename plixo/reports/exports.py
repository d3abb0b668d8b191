"""Every report table as CSV rows. Text cells are neutralised against spreadsheet formula
injection (a customer named "=HYPERLINK(…)" stays text), as the import reject log does."""

import csv
from decimal import Decimal

from django.http import HttpResponse

from plixo.imports.pipeline.reject_log import neutralise
from plixo.reports.selectors.common import BUCKET_KEYS, BUCKET_LABELS

BUCKET_HEADERS = [BUCKET_LABELS[key] for key in BUCKET_KEYS]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def _aging_rows(report: dict, base: str):
    yield ["Line", "Currency", *BUCKET_HEADERS, "Total", "Invoices"]
    lines = [*report["lines"], *([report["other"]] if report["other"] else []), report["total"]]
    for line in lines:
        amounts = line["base"]
        note = "" if line["complete"] else " (excluding currencies without a rate)"
        yield [
            line["label"],
            base + note,
            *amounts["buckets"].values(),
            amounts["total"],
            "",
        ]
        for code, per in line["by_currency"].items():
            yield [line["label"], code, *per["buckets"].values(), per["total"], per.get("count")]


def _dso_rows(report: dict, base: str):
    yield ["From", "To", "Currency", "A/R at start", "A/R at end", "Current A/R at end"] + [
        "Credit sales",
        "DSO (days)",
        "CEI (%)",
    ]
    for period in [report["period"], *report["trend"]]:
        figures = [
            ("base", base, period["base"]),
            *((c, c, f) for c, f in period["by_currency"].items()),
        ]
        for _, label, terms in figures:
            yield [
                period["start"],
                period["end"],
                label,
                terms["start_ar"],
                terms["end_ar"],
                terms["end_current_ar"],
                terms["credit_sales"],
                terms["dso"],
                terms["cei"],
            ]


def _collected_rows(report: dict, base: str):
    yield ["Period", "Currency", "Collected", "Refunded", "Net"]
    for period in report["periods"]:
        yield [period["period"], base, *period["base"].values()]
        for code, figures in period["by_currency"].items():
            yield [period["period"], code, *figures.values()]


def _adherence_rows(report: dict, base: str):
    yield ["Kind", "Status", "Count", f"Amount ({base})"]
    for kind in ("promises", "installments"):
        section = report[kind]
        for status, count in section["counts"].items():
            amount = section["amounts"].get(status)
            yield [kind, status, count, amount["base"] if amount else Decimal(0)]
        yield [kind, "adherence %", section["adherence"], ""]


def _disputes_rows(report: dict, base: str):
    yield ["Reason", "Disputes", "Share %", f"Amount ({base})"]
    for row in report["by_reason"]:
        yield [row["label"], row["count"], row["share"], row["amount"]["base"]]


def _funnel_rows(report: dict, base: str):
    yield ["Step", "Invoices", "Rate %"]
    for row in [*report["steps"], *report["outcomes"]]:
        yield [row["label"], row["invoices"], row["rate"]]


def _deliverability_rows(report: dict, base: str):
    yield ["Sending domain", "Sent", "Hard bounces", "Complaints", "Bounce %", "Complaint %"]
    for row in report["domains"]:
        yield [
            row["domain"],
            row["sent"],
            row["bounced"],
            row["complained"],
            row["bounce_rate"],
            row["complaint_rate"],
        ]


ROWS = {
    "aging": _aging_rows,
    "dso": _dso_rows,
    "cei": _dso_rows,
    "collected": _collected_rows,
    "adherence": _adherence_rows,
    "disputes": _disputes_rows,
    "funnel": _funnel_rows,
    "deliverability": _deliverability_rows,
}


def _conversion_rows(conversion: dict):
    """What the report converted with: each rate used and each currency that had none."""
    yield []
    yield ["Base currency", conversion["base_currency"]]
    yield ["Rate used", "Currency", "Rate date", f"Rate (1 unit in {conversion['base_currency']})"]
    for rate in conversion["rates_used"]:
        yield ["", rate["currency"], rate["date"], rate["rate"]]
    if conversion["missing"]:
        yield ["Missing rate", "Currency", "First date", "Last date", "Amount not converted"]
        for gap in conversion["missing"]:
            yield ["", gap["currency"], gap["first_date"], gap["last_date"], gap["amount"]]


def report_csv_rows(name: str, report: dict, *, base_currency: str) -> list[list[str]]:
    rows = list(ROWS[name](report, base_currency))
    if "conversion" in report:
        rows += list(_conversion_rows(report["conversion"]))
    if snapshot := report.get("snapshot"):
        rows += [
            [],
            [
                "Past days' A/R from the daily snapshot computed at",
                snapshot["computed_at"].isoformat(),
                "covering days up to",
                snapshot["through"],
            ],
        ]
    return [[_cell(v) for v in row] for row in rows]


def report_csv_response(name: str, report: dict, *, base_currency: str, filename: str):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerows(report_csv_rows(name, report, base_currency=base_currency))
    return response
