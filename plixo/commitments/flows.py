"""The two steps of creating a payment plan, shared by every page that offers it (the invoice
page and the workspace inspector): "Review schedule" turns the terms into editable
installments; "Create plan" checks the rows and creates the plan. Each page renders the
outcome its own way."""

import datetime as dt
from dataclasses import dataclass

from django import forms

from plixo.commitments.forms import PlanForm
from plixo.commitments.models import PaymentPlan
from plixo.commitments.selectors import promises_visible
from plixo.commitments.services import (
    plan_coverage_warning,
    plan_create,
    plan_installments_even,
)
from plixo.core.models import Membership
from plixo.core.money import quantize
from plixo.ledger.models import Invoice, LedgerError


@dataclass
class PlanStep:
    """What a plan form post came to: the form to show again (refused, or the schedule to
    review) or the plan created."""

    form: PlanForm
    plan: PaymentPlan | None = None
    refused: bool = False


def plan_review_initial(form: PlanForm, promise) -> dict:
    """The schedule to review, as initial values for the rows: an even split of the terms, or,
    prefilled from a promise, the promise as the first installment and the rest split evenly
    after it."""
    data = form.cleaned_data
    currency = form.invoice.currency
    total, count = data["total"], data["count"]
    if promise is not None and promise.amount < total:
        rest = total - promise.amount
        first = (data["first_on"], promise.amount)
        later_first = data["first_on"] + dt.timedelta(days=data["every_days"])
        if count - 1 >= 2:
            later = plan_installments_even(
                total=rest,
                currency=currency,
                count=count - 1,
                first_on=later_first,
                every_days=data["every_days"],
            )
        else:
            later = [(later_first, rest)]
        schedule = [first, *later]
    else:
        schedule = form.even_schedule()
    initial = {key: data[key] for key in ("total", "count", "first_on", "every_days", "reason")}
    initial["contact"] = data["contact"].pk if data["contact"] else None
    initial["from_promise"] = data["from_promise"]
    for number, (due_on, amount) in enumerate(schedule, start=1):
        initial[f"due_{number}"] = due_on
        initial[f"amount_{number}"] = quantize(amount, currency)
    return initial


def plan_form_step(
    *, membership: Membership, invoice: Invoice, data, today: dt.date, actor
) -> PlanStep:
    """Handle one post of the plan form (`data`, with `step` "review" or "create")."""
    creating = data.get("step") == "create"
    form = PlanForm(data, invoice=invoice, today=today, with_rows=creating)
    form.opened = True
    if not form.is_valid():
        return PlanStep(form, refused=True)
    cleaned = form.cleaned_data
    promise = None
    if cleaned["from_promise"]:
        promise = (
            promises_visible(membership=membership)
            .filter(public_id=cleaned["from_promise"], invoice=invoice)
            .first()
        )
    coverage = plan_coverage_warning(total=cleaned["total"], invoice=invoice)
    if not creating:
        try:
            initial = plan_review_initial(form, promise)
        except (forms.ValidationError, LedgerError) as exc:
            form.add_error(None, str(exc) if isinstance(exc, LedgerError) else exc)
            return PlanStep(form, refused=True)
        review = PlanForm(
            invoice=invoice, today=today, promise=promise, with_rows=True, initial=initial
        )
        review.opened = review.reviewing = True
        review.coverage = coverage
        return PlanStep(review)
    form.reviewing = True
    form.coverage = coverage
    try:
        schedule = form.schedule()
    except forms.ValidationError as exc:
        form.add_error(None, exc)
        return PlanStep(form, refused=True)
    if form.errors:
        return PlanStep(form, refused=True)
    if coverage and not cleaned["accept_partial"]:
        form.add_error("accept_partial", coverage + " Tick the box to create it anyway.")
        return PlanStep(form, refused=True)
    try:
        plan = plan_create(
            invoice=invoice,
            installments=schedule,
            reason=cleaned["reason"],
            contact=cleaned["contact"],
            from_promise=promise,
            actor=actor,
        )
    except LedgerError as exc:
        form.add_error(None, str(exc))
        return PlanStep(form, refused=True)
    return PlanStep(form, plan=plan)
