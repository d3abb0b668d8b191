"""The Controller's first look: open A/R, how much is overdue, the DSO trend, cash collected
this month, what promises and plans hold, and how old the open disputes are."""

from decimal import Decimal, localcontext

from plixo.core.models import Membership
from plixo.ledger.selectors import org_today
from plixo.reports.selectors.activity import adherence_report, disputes_report
from plixo.reports.selectors.aging import aging_report
from plixo.reports.selectors.balances import open_balances
from plixo.reports.selectors.performance import collected_report, dso_cei_report
from plixo.reports.selectors.rates import EXACT
from plixo.reports.selectors.snapshots import ledger_terms


def dashboard_figures(*, membership: Membership) -> dict:
    today = org_today(membership.organization)
    month_start = today.replace(day=1)
    # Today's open balances by currency and bucket, read once: the aging, and DSO's and CEI's
    # A/R at the end (the total) and current A/R at the end (the "current" bucket).
    balances = open_balances(membership=membership, as_of=today, bucketed=True)
    aging = aging_report(membership=membership, as_of=today, balances=balances)
    base = aging["total"]["base"]
    overdue = base["total"] - base["buckets"]["current"]
    overdue_share = None
    if base["total"]:
        with localcontext() as context:
            context.prec = EXACT
            overdue_share = (overdue / base["total"] * 100).quantize(Decimal("0.1"))
    dso = dso_cei_report(
        membership=membership,
        as_of=today,
        period_days=90,
        months=6,
        as_of_balances=ledger_terms(balances[0]),
    )
    collected = collected_report(
        membership=membership, start=month_start, end=today, interval="month"
    )
    commitments = adherence_report(membership=membership, start=month_start, end=today)
    disputes = disputes_report(membership=membership, start=month_start, end=today)
    return {
        "today": today,
        "open_ar": aging["total"],
        "overdue": overdue,
        "overdue_share": overdue_share,
        "aging": aging,
        "dso": dso,
        "collected": collected["total"],
        "collected_complete": all(p["complete"] for p in collected["periods"]),
        "exposure": commitments["exposure"],
        "disputes": disputes["open_now"],
        "disputes_sla_note": disputes["sla_note"],
        "missing": sorted(
            {
                gap["currency"]
                for report in (aging, dso, collected, commitments)
                for gap in report["conversion"]["missing"]
            }
        ),
    }
