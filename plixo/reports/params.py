"""The parameters every report takes, validated and bounded in one place for the pages, the
CSV exports and the API."""

import datetime as dt

from django import forms

from plixo.core.forms import DateField
from plixo.core.models import Membership
from plixo.core.money import is_currency
from plixo.ledger.selectors import org_today
from plixo.reports.selectors import (
    AGING_GROUPS,
    INTERVALS,
    adherence_report,
    aging_report,
    collected_report,
    deliverability_report,
    disputes_report,
    dso_cei_report,
    funnel_report,
)

REPORT_NAMES = (
    "aging",
    "dso",
    "cei",
    "collected",
    "adherence",
    "disputes",
    "funnel",
    "deliverability",
)
REPORT_TITLES = {
    "aging": "Aging",
    "dso": "DSO",
    "cei": "CEI",
    "collected": "Cash collected",
    "adherence": "Promises and plans",
    "disputes": "Disputes",
    "funnel": "Portal funnel",
    "deliverability": "Deliverability",
}
# The longest window a report reads, in days (two years and a day).
MAX_SPAN_DAYS = 731
MAX_LIMIT = 500


class ReportParams(forms.Form):
    as_of = DateField(label="As of", required=False)
    start = DateField(label="From", required=False)
    end = DateField(label="To", required=False)
    group = forms.ChoiceField(
        label="Group by",
        required=False,
        choices=[("", "No grouping"), *[(g, g.capitalize()) for g in AGING_GROUPS]],
    )
    currency = forms.CharField(label="Invoice currency", required=False, max_length=3)
    interval = forms.ChoiceField(
        label="Per", required=False, choices=[(i, i.capitalize()) for i in INTERVALS]
    )
    period_days = forms.IntegerField(
        label="Period (days)", required=False, min_value=7, max_value=365
    )
    months = forms.IntegerField(label="Months of trend", required=False, min_value=1, max_value=24)
    limit = forms.IntegerField(label="Customers", required=False, min_value=1, max_value=MAX_LIMIT)

    def __init__(self, data=None, *, membership: Membership, name: str):
        super().__init__(data)
        self.membership = membership
        self.name = name
        self.today = org_today(membership.organization)

    def clean_currency(self) -> str:
        value = (self.cleaned_data.get("currency") or "").strip().upper()
        if value and not is_currency(value):
            raise forms.ValidationError(f"{value[:10]} is not an ISO 4217 currency code.")
        return value

    def clean(self):
        data = super().clean()
        today = self.today
        for field in ("as_of", "end"):
            if data.get(field) and data[field] > today:
                self.add_error(field, f"Reports read what has happened: {today:%Y-%m-%d} at most.")
        as_of = data.get("as_of") or today
        end = data.get("end") or data.get("as_of") or today
        if self.name == "collected":
            first = end.replace(day=1)
            default_start = (first - dt.timedelta(days=335)).replace(day=1)
        else:
            default_start = end - dt.timedelta(days=29)
        start = data.get("start") or default_start
        if start > end:
            self.add_error("start", "The period starts after it ends.")
        elif (end - start).days + 1 > MAX_SPAN_DAYS:
            self.add_error("start", f"A period is at most {MAX_SPAN_DAYS} days long.")
        data.update(
            as_of=min(as_of, today),
            start=start,
            end=min(end, today),
            group=data.get("group") or None,
            currency=data.get("currency") or None,
            interval=data.get("interval") or "month",
            period_days=data.get("period_days") or 90,
            months=data.get("months") or 12,
            limit=data.get("limit") or 50,
        )
        return data


def report_run(name: str, *, membership: Membership, params: dict) -> dict:
    """The report `name` for the member with validated `params` (`ReportParams`)."""
    period = {"start": params["start"], "end": params["end"]}
    if name == "aging":
        return aging_report(
            membership=membership,
            as_of=params["as_of"],
            group=params["group"],
            currency=params["currency"],
            limit=params["limit"],
        )
    if name in ("dso", "cei"):
        return dso_cei_report(
            membership=membership,
            as_of=params["as_of"],
            period_days=params["period_days"],
            months=params["months"],
        )
    if name == "collected":
        return collected_report(membership=membership, interval=params["interval"], **period)
    runners = {
        "adherence": adherence_report,
        "disputes": disputes_report,
        "funnel": funnel_report,
        "deliverability": deliverability_report,
    }
    return runners[name](membership=membership, **period)
