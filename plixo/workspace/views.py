"""My Queue, its inspector and the inspector's actions. Each action answers with the inspector
again (an HTMX partial, or the full inspector page on a phone or without script) and tells the
list to refresh; a refused action says why and writes nothing."""

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from plixo.commitments.flows import plan_form_step
from plixo.commitments.forms import PlanForm, PromiseForm
from plixo.commitments.selectors import invoice_commitments
from plixo.commitments.services import promise_create
from plixo.comms.models import Message
from plixo.comms.services import contact_suppress, message_send_now
from plixo.core.access import requires
from plixo.core.money import quantize
from plixo.core.permissions import Cap, role_can
from plixo.core.templatetags.plixo import money_text
from plixo.ledger.models import LedgerError
from plixo.ledger.selectors import invoice_for, org_today
from plixo.workspace import selectors, services
from plixo.workspace.forms import (
    DecisionForm,
    EscalateForm,
    PayerMessageForm,
    RuleForm,
    SuppressForm,
)
from plixo.workspace.models import Escalation

FOLLOW_UP_DAYS = 3


def dispute_log_url(invoice) -> str | None:
    """The Log dispute page of the invoice, once the disputes app has it."""
    try:
        return reverse("disputes:log", kwargs={"invoice_id": invoice.public_id})
    except NoReverseMatch:
        return None


def notes_available() -> bool:
    try:
        import plixo.notes.templatetags.notes  # noqa: F401
    except ImportError:
        return False
    return True


def _page_member(request):
    """Whose queue: the caller's, or with Cap.QUEUE_TEAM a team member's (`?member=`)."""
    wanted = request.GET.get("member", "")
    if wanted and role_can(request.membership.role, Cap.QUEUE_TEAM):
        return selectors.member_for_queue(viewer=request.membership, public_id=wanted)
    return request.membership


_ANY_ID = "00000000-0000-0000-0000-000000000000"


def _rows_prepare(items, organization) -> None:
    """Each row's inspector address and amount, built once per page: one `reverse` rather
    than two per row, and the money format's locale parsed once (the `money` filter parses
    it again for every amount, which is most of a 50-row page's time)."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import format_currency

    from plixo.core.templatetags.plixo import DEFAULT_LOCALE

    pattern = reverse("workspace:inspect", kwargs={"invoice_id": _ANY_ID})
    try:
        # The organization's locale, as the `money` filter uses on every page.
        locale = Locale.parse((organization.locale or DEFAULT_LOCALE).replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        locale = None
    for item in items:
        item.url = pattern.replace(_ANY_ID, str(item.invoice.public_id))
        if item.amount is None:
            item.amount_text = ""
            continue
        try:
            item.amount_text = format_currency(
                quantize(item.amount, item.currency), item.currency, locale=locale
            )
        except Exception:  # as the filter: a page never fails over a bad value
            item.amount_text = money_text(item.amount, item.currency, DEFAULT_LOCALE)


@requires(Cap.LEDGER_VIEW)
def queue(request):
    viewer = request.membership
    member = _page_member(request)
    try:
        page = selectors.queue_for_member(
            member=member, viewer=viewer, cursor=request.GET.get("cursor") or None
        )
    except selectors.CursorError as exc:
        messages.error(request, str(exc))
        return redirect("workspace:queue")
    _rows_prepare(page.items, request.organization)
    if page.mentions_unread is not None:
        # The page read all of the member's unread mentions: the navigation's unread badge
        # (the notes tag, which keeps its count on the request) needs no query of its own.
        request._notes_unread = page.mentions_unread
    team = role_can(viewer.role, Cap.QUEUE_TEAM)
    days = selectors.burn_down(membership=member, today=page.today)
    context = {
        "page": page,
        "member": member,
        "own": member.pk == viewer.pk,
        "team": list(selectors.team_members(viewer=viewer)) if team else [],
        # On one's own queue the escalations received are items of it already (Today); over
        # a team member's queue the manager keeps them in sight.
        "received": (
            selectors.escalations_received(membership=viewer)
            if team and member.pk != viewer.pk
            else []
        ),
        "burn_down": days,
        "burn_down_today": next((d for d in days if d.day == page.today), None),
        "chart": selectors.burn_down_chart(days, today=page.today),
    }
    template = "workspace/_queue_list.html" if request.htmx else "workspace/queue.html"
    return render(request, template, context)


def _inspector_context(request, invoice, *, forms: dict | None = None) -> dict:
    role = request.membership.role
    today = org_today(request.organization)
    invoice.organization = request.organization
    forms = forms or {}
    open_ = invoice.is_open
    if open_ and role_can(role, Cap.PROMISES_LOG):
        forms.setdefault("promise", PromiseForm(invoice=invoice, today=today))
    if open_ and role_can(role, Cap.PLANS_MANAGE):
        forms.setdefault("plan", PlanForm(invoice=invoice, today=today))
    if open_ and role_can(role, Cap.MESSAGES_SEND):
        forms.setdefault("write", PayerMessageForm(invoice=invoice))
        forms.setdefault(
            "escalate",
            EscalateForm(managers=selectors.managers(organization=request.organization)),
        )
    if role_can(role, Cap.CONTACTS_SUPPRESS):
        forms.setdefault("suppress", SuppressForm(invoice=invoice, today=today))
    draft = selectors.invoice_current_draft(invoice=invoice)
    preview = None
    if draft is not None:
        from plixo.comms.selectors.messages import message_preview
        from plixo.comms.services import sending_settings_for

        draft.invoice = invoice
        preview = message_preview(draft, sending_settings_for(request.organization), request.user)
    settings = selectors.workspace_settings(organization=request.organization)
    unanswered = selectors.unanswered_steps(invoice=invoice) if open_ else 0
    return {
        "invoice": invoice,
        "today": today,
        "days_overdue": (today - invoice.due_date).days,
        "timeline": selectors.recent_timeline(invoice=invoice),
        "commitments": invoice_commitments(invoice=invoice),
        "draft": draft,
        "preview": preview,
        "forms": forms,
        "escalation": selectors.invoice_live_escalation(invoice=invoice),
        "unanswered": unanswered,
        "propose_escalation": unanswered >= settings.escalate_after_steps,
        "escalate_after": settings.escalate_after_steps,
        "dispute_url": dispute_log_url(invoice) if role_can(role, Cap.DISPUTES_LOG) else None,
        "notes": notes_available() and role_can(role, Cap.NOTES_WRITE),
        "can_send": role_can(role, Cap.MESSAGES_SEND),
        "can_team": role_can(role, Cap.QUEUE_TEAM),
    }


def _inspector(request, invoice, *, forms=None, status=200, changed=False):
    context = _inspector_context(request, invoice, forms=forms)
    template = "workspace/_inspector.html" if request.htmx else "workspace/inspector_page.html"
    response = render(request, template, context, status=status)
    if changed:
        response["HX-Trigger"] = "queue-changed"
    return response


def _done(request, invoice, text: str):
    """After a successful action: the member's snapshot moves, the invoice's rank is
    rewritten, and the inspector shows the outcome."""
    services.queue_entries_refresh(organization=request.organization, invoice_ids=[invoice.pk])
    services.queue_day_refresh(membership=request.membership)
    messages.success(request, text)
    if not request.htmx:
        return redirect("workspace:inspect", invoice_id=invoice.public_id)
    invoice.refresh_from_db()
    return _inspector(request, invoice, changed=True)


def _refused(request, invoice, text: str, forms=None):
    messages.error(request, text)
    return _inspector(request, invoice, forms=forms, status=400)


def _invoice(request, invoice_id):
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    invoice.organization = request.organization
    return invoice


@requires(Cap.LEDGER_VIEW)
def inspect(request, invoice_id):
    return _inspector(request, _invoice(request, invoice_id))


@requires(Cap.MESSAGES_SEND)
@require_POST
def send_draft(request, invoice_id):
    """Approve and send the invoice's current draft (quiet hours and caps may hold it)."""
    invoice = _invoice(request, invoice_id)
    draft = selectors.invoice_current_draft(invoice=invoice)
    wanted = request.POST.get("message", "")
    if draft is None or str(draft.public_id) != wanted:
        return _refused(request, invoice, "That draft is no longer waiting; the page was old.")
    try:
        message = message_send_now(message=draft, actor=request.user)
    except LedgerError as exc:
        return _refused(request, invoice, str(exc))
    if message.status == Message.Status.SENT:
        text = f"Sent to {message.to_email}."
    elif message.hold_reason:
        text = f"Approved; held until the payer's window: {message.hold_reason}."
    else:
        text = "Approved; it goes with the next outbox run."
    return _done(request, invoice, text)


@requires(Cap.PROMISES_LOG)
@require_POST
def promise_add(request, invoice_id):
    invoice = _invoice(request, invoice_id)
    form = PromiseForm(request.POST, invoice=invoice, today=org_today(request.organization))
    if not form.is_valid():
        return _inspector(request, invoice, forms={"promise": form}, status=400)
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
        return _inspector(request, invoice, forms={"promise": form}, status=400)
    return _done(
        request,
        invoice,
        f"Promise recorded: {money_text(promise.amount, promise.currency)} by "
        f"{promise.promised_on:%b %-d, %Y}. It comes back to your queue on that day.",
    )


@requires(Cap.PLANS_MANAGE)
@require_POST
def plan_add(request, invoice_id):
    """Terms first ("Review schedule" shows the even split, each row editable), then create:
    the same two steps as on the invoice page."""
    invoice = _invoice(request, invoice_id)
    step = plan_form_step(
        membership=request.membership,
        invoice=invoice,
        data=request.POST,
        today=org_today(request.organization),
        actor=request.user,
    )
    if step.plan is None:
        return _inspector(
            request, invoice, forms={"plan": step.form}, status=400 if step.refused else 200
        )
    plan = step.plan
    return _done(
        request,
        invoice,
        f"Payment plan created ({plan.get_status_display().lower()}): "
        f"{money_text(plan.total, plan.currency)} in {plan.installments.count()} installments.",
    )


@requires(Cap.MESSAGES_SEND)
@require_POST
def write(request, invoice_id):
    invoice = _invoice(request, invoice_id)
    form = PayerMessageForm(request.POST, request.FILES, invoice=invoice)
    if not form.is_valid():
        return _inspector(request, invoice, forms={"write": form}, status=400)
    data = form.cleaned_data
    try:
        message = services.payer_message_send(
            invoice=invoice,
            subject=data["subject"],
            body=data["body"],
            contact=data["contact"],
            attach_pdf=data["attach_pdf"],
            revised_pdf=data.get("revised_pdf"),
            actor=request.user,
        )
    except LedgerError as exc:
        form.add_error(None, str(exc))
        return _inspector(request, invoice, forms={"write": form}, status=400)
    services.queue_entry_snooze(
        invoice=invoice,
        until=org_today(request.organization) + dt.timedelta(days=FOLLOW_UP_DAYS),
        actor=request.user,
    )
    return _done(
        request,
        invoice,
        f"Email to {message.intended_email} queued in the outbox; it goes within the payer's "
        f"window. The invoice comes back in {FOLLOW_UP_DAYS} days.",
    )


@requires(Cap.CONTACTS_SUPPRESS)
@require_POST
def suppress(request, invoice_id):
    invoice = _invoice(request, invoice_id)
    form = SuppressForm(request.POST, invoice=invoice, today=org_today(request.organization))
    if not form.is_valid():
        return _inspector(request, invoice, forms={"suppress": form}, status=400)
    data = form.cleaned_data
    try:
        contact = contact_suppress(
            contact=data["contact"],
            kind=data["kind"],
            reason=data["reason"],
            until=data["until"],
            actor=request.user,
        )
    except LedgerError as exc:
        form.add_error(None, str(exc))
        return _inspector(request, invoice, forms={"suppress": form}, status=400)
    return _done(request, invoice, f"{contact.email} suppressed: {contact.suppression_reason}.")


@requires(Cap.MESSAGES_SEND)
@require_POST
def escalate(request, invoice_id):
    invoice = _invoice(request, invoice_id)
    form = EscalateForm(
        request.POST, managers=selectors.managers(organization=request.organization)
    )
    if not form.is_valid():
        return _inspector(request, invoice, forms={"escalate": form}, status=400)
    try:
        escalation = services.escalation_raise(
            invoice=invoice,
            from_member=request.membership,
            to_member=form.cleaned_data["to"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except LedgerError as exc:
        form.add_error(None, str(exc))
        return _inspector(request, invoice, forms={"escalate": form}, status=400)
    return _done(request, invoice, f"Escalated to {escalation.to_member.user.display_name}.")


def _decide(request, escalation_id, allowed: set[str]):
    escalation = selectors.escalation_for(membership=request.membership, public_id=escalation_id)
    form = DecisionForm(request.POST)
    invoice = escalation.invoice
    invoice.organization = request.organization
    if not form.is_valid() or form.cleaned_data["status"] not in allowed:
        return _refused(request, invoice, "Choose one of: " + ", ".join(sorted(allowed)) + ".")
    try:
        services.escalation_decide(
            escalation=escalation,
            status=form.cleaned_data["status"],
            note=form.cleaned_data["note"],
            actor=request.user,
        )
    except LedgerError as exc:
        return _refused(request, invoice, str(exc))
    label = Escalation.Status(form.cleaned_data["status"]).label.lower()
    return _done(request, invoice, f"Escalation {label}.")


@requires(Cap.QUEUE_TEAM)
@require_POST
def escalation_decide(request, escalation_id):
    """The manager acknowledges or resolves an escalation."""
    return _decide(request, escalation_id, {"acknowledged", "resolved"})


@requires(Cap.MESSAGES_SEND)
@require_POST
def escalation_dismiss(request, escalation_id):
    """The collector dismisses what the non-response rule proposed."""
    escalation = selectors.escalation_for(membership=request.membership, public_id=escalation_id)
    if escalation.status != Escalation.Status.PROPOSED:
        invoice = escalation.invoice
        invoice.organization = request.organization
        return _refused(request, invoice, "Only a proposed escalation can be dismissed.")
    return _decide(request, escalation_id, {"dismissed"})


@requires(Cap.QUEUE_TEAM)
def rule(request):
    """The organization's non-response rule (GET shows it; POST changes it)."""
    current = selectors.workspace_settings(organization=request.organization)
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            services.workspace_settings_update(
                organization=request.organization,
                escalate_after_steps=form.cleaned_data["escalate_after_steps"],
            )
            messages.success(
                request,
                "Escalations are now proposed after "
                f"{form.cleaned_data['escalate_after_steps']} unanswered emails.",
            )
            return redirect("workspace:rule")
        status = 400
    else:
        form = RuleForm(initial={"escalate_after_steps": current.escalate_after_steps})
        status = 200
    return render(request, "workspace/rule.html", {"form": form}, status=status)
