"""Reporting is reads only: every figure is a selector over the ledger, commitments, disputes,
portal and comms rows, scoped to the member (Sales and CSMs: their own accounts)."""

from plixo.reports.selectors.activity import (
    adherence_report,
    deliverability_report,
    disputes_report,
    funnel_report,
)
from plixo.reports.selectors.aging import AGING_GROUPS, aging_report
from plixo.reports.selectors.balances import ar_by_currency, open_balances
from plixo.reports.selectors.dashboard import dashboard_figures
from plixo.reports.selectors.performance import (
    INTERVALS,
    collected_report,
    dso_cei_report,
)
from plixo.reports.selectors.rates import Converter, rates_latest
from plixo.reports.selectors.snapshots import (
    PastReceivables,
    credit_sales_by_day,
    daily_receivables,
)

__all__ = [
    "AGING_GROUPS",
    "INTERVALS",
    "Converter",
    "PastReceivables",
    "adherence_report",
    "aging_report",
    "ar_by_currency",
    "collected_report",
    "credit_sales_by_day",
    "daily_receivables",
    "dashboard_figures",
    "deliverability_report",
    "disputes_report",
    "dso_cei_report",
    "funnel_report",
    "open_balances",
    "rates_latest",
]
