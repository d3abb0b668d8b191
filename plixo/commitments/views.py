"""Staff pages for promises and payment plans: the actions on the invoice page, the plan
inspector and the Commitment Radar. Thin: forms check the input, services decide and write."""

import datetime as dt
import uuid
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from plixo.commitments.flows import plan_form_step, plan_review_initial
from plixo.commitments.forms import InstallmentPaymentForm, PlanForm, PromiseForm, ReasonForm
from plixo.commitments.models import PaymentPlan, PlanInstallment
from plixo.commitments.selectors import (
    ACCEPTED,
    AWAITING_DECISION,
    commitment_radar,
    plan_for,
    plan_inspection,
    promise_for,
    promises_visible,
)
from plixo.commitments.services import (
    plan_accept,
    plan_cancel,
    plan_complete,
    plan_counter,
    plan_coverage_warning,
    plan_decline,
    plan_installment_pay,
    plan_resend,
    promise_create,
    promise_mark_kept,
    promise_mark_missed,
    promise_remind,
)
from plixo.core.access import requires
from plixo.core.money import quantize
from plixo.core.permissions import Cap, role_can
from plixo.core.templatetags.plixo import money_text
from plixo.ledger.models import Invoice, LedgerError
from plixo.ledger.selectors import invoice_for, org_today


def _invoice_page(request, invoice: Invoice, bound: dict, status: int = 400):
    """The invoice page with a refused (or reviewed) commitment form open on it."""
    from plixo.ledger.views import invoice_page

    return invoice_page(request, invoice, bound=bound, status=status)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def invoice_commitment_actions(*, request, invoice: Invoice, today: dt.date) -> dict:
    """The Add Promise and Create payment plan cards of the invoice page, for the roles that
    may use them. `?plan_from=<promise id>` opens the plan card prefilled from that promise."""
    actions = {}
    role = request.membership.role
    if not invoice.is_open:
        return actions
    if role_can(role, Cap.PROMISES_LOG):
        actions["promise"] = PromiseForm(invoice=invoice, today=today)
    if role_can(role, Cap.PLANS_MANAGE):
        promise = None
        source = request.GET.get("plan_from", "")
        if source:
            promise = (
                promises_visible(membership=request.membership)
                .filter(public_id=_uuid(source), invoice=invoice)
                .select_related("contact")
                .first()
            )
        form = PlanForm(invoice=invoice, today=today, promise=promise)
        form.opened = promise is not None
        actions["plan"] = form
    return actions


# --- promises --------------------------------------------------------------------------------


@requires(Cap.PROMISES_LOG)
@require_POST
def promise_add(request, invoice_id):
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    invoice.organization = request.organization
    form = PromiseForm(request.POST, invoice=invoice, today=org_today(request.organization))
    if form.is_valid():
        data = form.cleaned_data
        try:
            promise = promise_create(
                invoice=invoice,
                amount=data["amount"],
                promised_on=data["promised_on"],
                contact=data["contact"],
                note=data["note"],
                actor=request.user,
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Promise recorded: {money_text(promise.amount, promise.currency)} by "
                f"{promise.promised_on:%b %-d, %Y}. Reminders go before the date and on it; "
                "the cadence pauses until then.",
            )
            return redirect("ledger:invoice-detail", invoice_id=invoice.public_id)
    return _invoice_page(request, invoice, {"promise": form})


def _promise_action(request, promise_id, action, done: str, *, note_required=False):
    promise = promise_for(membership=request.membership, public_id=promise_id)
    form = ReasonForm(request.POST, required=note_required)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            action(promise=promise, actor=request.user, **form.cleaned_data)
        except LedgerError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, done)
    return redirect(_back(request, promise.invoice))


def _back(request, invoice: Invoice) -> str:
    """Where an action returns: the radar when it was used from there, else the invoice."""
    from django.urls import reverse

    if request.POST.get("back") == "radar":
        return reverse("commitments:radar")
    return reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id})


@requires(Cap.PROMISES_LOG)
@require_POST
def promise_kept(request, promise_id):
    return _promise_action(
        request, promise_id, promise_mark_kept, "Promise marked kept; the cadence resumes."
    )


@requires(Cap.PROMISES_LOG)
@require_POST
def promise_missed(request, promise_id):
    return _promise_action(
        request,
        promise_id,
        promise_mark_missed,
        "Promise marked missed; the invoice is back in its cadence with a follow-up.",
    )


@requires(Cap.MESSAGES_SEND)
@require_POST
def promise_reminder(request, promise_id):
    promise = promise_for(membership=request.membership, public_id=promise_id)
    try:
        message = promise_remind(promise=promise, actor=request.user)
    except LedgerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Reminder queued to {message.intended_email}; it goes at the payer's next send "
            "window.",
        )
    return redirect(_back(request, promise.invoice))


# --- creating plans ----------------------------------------------------------------------------


@requires(Cap.PLANS_MANAGE)
@require_POST
def plan_add(request, invoice_id):
    """Create payment plan: "Review schedule" turns the terms into editable installments;
    "Create plan" checks and creates them."""
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    invoice.organization = request.organization
    step = plan_form_step(
        membership=request.membership,
        invoice=invoice,
        data=request.POST,
        today=org_today(request.organization),
        actor=request.user,
    )
    if step.plan is None:
        return _invoice_page(request, invoice, {"plan": step.form}, 400 if step.refused else 200)
    messages.success(request, _plan_created_text(step.plan))
    return redirect("commitments:plan-detail", plan_id=step.plan.public_id)


def _plan_created_text(plan: PaymentPlan) -> str:
    if plan.status == PaymentPlan.Status.PENDING_APPROVAL:
        why = getattr(plan, "guardrail", None)
        return (
            f"Plan of {money_text(plan.total, plan.currency)} sent for approval"
            + (f" ({why})" if why else "")
            + "; the payer hears of it once it is approved."
        )
    return (
        f"Plan of {money_text(plan.total, plan.currency)} in place; the schedule was emailed "
        "to the payer and the cadence pauses while it runs."
    )


# --- the plan inspector ------------------------------------------------------------------------


def _plan_page(request, plan: PaymentPlan, *, bound: dict | None = None, status: int = 200):
    organization = request.organization
    today = org_today(organization)
    plan.invoice.organization = organization
    role = request.membership.role
    inspection = plan_inspection(plan=plan, today=today)
    bound = bound or {}
    can_manage = role_can(role, Cap.PLANS_MANAGE)
    counter = bound.get("counter")
    if counter is None and can_manage and plan.status == PaymentPlan.Status.PROPOSED:
        counter = PlanForm(invoice=plan.invoice, today=today)
        counter.initial.update(
            {
                "total": quantize(min(plan.total, plan.invoice.balance), plan.currency),
                "count": max(inspection.rows and len(inspection.rows) or 3, 2),
                "reason": f"Counter-offer: {plan.reason}",
            }
        )
    pay_form = None
    if role_can(role, Cap.PAYMENTS_RECORD) and plan.status in ACCEPTED:
        pay_form = bound.get("pay") or InstallmentPaymentForm(today=today)
    context = {
        "plan": plan,
        "invoice": plan.invoice,
        "inspection": inspection,
        "today": today,
        "can_manage": can_manage,
        "awaiting": plan.status in AWAITING_DECISION,
        "accepted": plan.status in ACCEPTED,
        "counter": counter,
        "pay_form": pay_form,
        "pay_sequence": bound.get("pay_sequence"),
        "error": bound.get("error", ""),
        "history": plan.counters.order_by("-created_at")[:5],
    }
    return render(request, "commitments/plan_detail.html", context, status=status)


@requires(Cap.LEDGER_VIEW)
def plan_detail(request, plan_id):
    plan = plan_for(membership=request.membership, public_id=plan_id)
    return _plan_page(request, plan)


def _plan_action(request, plan_id, run, done, *, note_required=False):
    plan = plan_for(membership=request.membership, public_id=plan_id)
    form = ReasonForm(request.POST, required=note_required)
    if not form.is_valid():
        return _plan_page(
            request,
            plan,
            bound={"error": " ".join(e for errors in form.errors.values() for e in errors)},
            status=400,
        )
    try:
        result = run(plan=plan, note=form.cleaned_data["note"])
    except LedgerError as exc:
        return _plan_page(request, plan, bound={"error": str(exc)}, status=400)
    messages.success(request, done(result) if callable(done) else done)
    return redirect("commitments:plan-detail", plan_id=getattr(result, "public_id", plan.public_id))


@requires(Cap.PLANS_MANAGE)
@require_POST
def plan_accept_view(request, plan_id):
    return _plan_action(
        request,
        plan_id,
        lambda plan, note: plan_accept(plan=plan, actor=request.user, note=note),
        _plan_created_text,
    )


@requires(Cap.PLANS_MANAGE)
@require_POST
def plan_decline_view(request, plan_id):
    return _plan_action(
        request,
        plan_id,
        lambda plan, note: plan_decline(plan=plan, actor=request.user, note=note),
        "Proposal declined; the payer was told why and the invoice is back in its cadence.",
        note_required=True,
    )


@requires(Cap.PLANS_MANAGE)
@require_POST
def plan_cancel_view(request, plan_id):
    return _plan_action(
        request,
        plan_id,
        lambda plan, note: plan_cancel(plan=plan, actor=request.user, note=note),
        "Plan cancelled; the invoice is back in its cadence.",
        note_required=True,
    )


@requires(Cap.PLANS_MANAGE)
@require_POST
def plan_complete_view(request, plan_id):
    return _plan_action(
        request,
        plan_id,
        lambda plan, note: plan_complete(plan=plan, actor=request.user),
        "Plan completed.",
    )


@requires(Cap.PLANS_MANAGE)
@require_POST
def plan_resend_view(request, plan_id):
    return _plan_action(
        request,
        plan_id,
        lambda plan, note: plan_resend(plan=plan, actor=request.user) and plan,
        "The schedule and a fresh pay link are queued to the payer.",
    )


@requires(Cap.PLANS_MANAGE)
@require_POST
def plan_counter_view(request, plan_id):
    plan = plan_for(membership=request.membership, public_id=plan_id)
    today = org_today(request.organization)
    plan.invoice.organization = request.organization
    creating = request.POST.get("step") == "create"
    form = PlanForm(request.POST, invoice=plan.invoice, today=today, with_rows=creating)
    if not form.is_valid():
        return _plan_page(request, plan, bound={"counter": form}, status=400)
    if not creating:
        review = PlanForm(
            invoice=plan.invoice,
            today=today,
            with_rows=True,
            initial=plan_review_initial(form, None),
        )
        review.reviewing = True
        review.coverage = plan_coverage_warning(
            total=form.cleaned_data["total"], invoice=plan.invoice
        )
        return _plan_page(request, plan, bound={"counter": review})
    form.reviewing = True
    try:
        schedule = form.schedule()
    except forms.ValidationError as exc:
        form.add_error(None, exc)
    if form.errors:
        return _plan_page(request, plan, bound={"counter": form}, status=400)
    try:
        new = plan_counter(
            plan=plan, installments=schedule, actor=request.user, note=form.cleaned_data["reason"]
        )
    except LedgerError as exc:
        form.add_error(None, str(exc))
        return _plan_page(request, plan, bound={"counter": form}, status=400)
    messages.success(
        request,
        "Counter-offer sent: the payer's proposal is declined and your schedule was emailed "
        "to them.",
    )
    return redirect("commitments:plan-detail", plan_id=new.public_id)


@requires(Cap.PAYMENTS_RECORD)
@require_POST
def installment_pay(request, plan_id):
    """Mark paid: the installment the form names (the next unpaid one when it was shown)."""
    plan = plan_for(membership=request.membership, public_id=plan_id)
    today = org_today(request.organization)
    form = InstallmentPaymentForm(request.POST, today=today)
    sequence = request.POST.get("sequence", "")
    installment = (
        PlanInstallment.objects.filter(plan=plan, sequence=int(sequence)).first()
        if sequence.isdigit() and len(sequence) <= 3
        else None
    )
    if installment is None:
        return _plan_page(
            request, plan, bound={"error": "Say which installment was paid."}, status=400
        )
    if form.is_valid():
        data = form.cleaned_data
        received = data["received_on"]
        if received == today:
            from django.utils import timezone

            received_at = timezone.now()
        else:
            from zoneinfo import ZoneInfo

            zone = ZoneInfo(request.organization.time_zone)
            received_at = dt.datetime.combine(received, dt.time(12, 0), tzinfo=zone)
        try:
            payment = plan_installment_pay(
                installment=installment,
                actor=request.user,
                reference=data["reference"],
                received_at=received_at,
                method=data["method"],
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Installment {sequence} marked paid: payment {payment.reference} of "
                f"{money_text(payment.amount, payment.currency)} recorded.",
            )
            return redirect("commitments:plan-detail", plan_id=plan.public_id)
    return _plan_page(request, plan, bound={"pay": form, "pay_sequence": sequence}, status=400)


# --- the radar -------------------------------------------------------------------------------


@requires(Cap.LEDGER_VIEW)
def radar(request):
    data = commitment_radar(membership=request.membership)
    role = request.membership.role
    context = {
        "radar": data,
        "can_log": role_can(role, Cap.PROMISES_LOG),
        "can_remind": role_can(role, Cap.MESSAGES_SEND),
        "can_manage": role_can(role, Cap.PLANS_MANAGE),
        "zero": Decimal("0"),
    }
    return render(request, "commitments/radar.html", context)
