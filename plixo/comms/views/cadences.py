"""Cadences, segment rules and sending settings: the A/R Manager's and the Controller's pages.

Reads go through `plixo.comms.selectors` (scoped to the organization: a foreign id is a 404),
writes through the comms services; a refused write is shown on its form and writes nothing.
"""

import datetime as dt

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from plixo.comms.forms import (
    CadenceForm,
    LiveModeForm,
    OperatorWindowForm,
    SegmentRuleForm,
    SendingSettingsForm,
    StepFormSet,
)
from plixo.comms.merge import MERGE_FIELDS, MergeFieldError
from plixo.comms.merge import render as merge_render
from plixo.comms.models import Cadence, SendingSettings
from plixo.comms.selectors import (
    cadence_for,
    cadence_steps,
    cadences_overview,
    domain_for,
    go_live_checks,
    open_invoice_by_number,
    open_invoices_recent,
    operator_windows,
    outbox_waiting,
    preview_contact,
    preview_context,
    preview_invoice,
    rule_conditions,
    rule_for,
    segment_rules_of,
    sending_domains_overview,
    sending_settings_values,
    sending_today,
)
from plixo.comms.services import (
    StepSpec,
    cadence_create,
    cadence_update,
    default_cadences_ensure,
    operator_window_clear,
    operator_window_set,
    segment_rule_create,
    segment_rule_delete,
    segment_rule_update,
    sending_settings_for,
)
from plixo.comms.services.settings import (
    organization_live_set,
    sending_domain_ensure,
    sending_settings_update,
)
from plixo.core.access import requires
from plixo.core.models import Membership
from plixo.core.permissions import Cap, role_can
from plixo.ledger.models import LedgerError
from plixo.ledger.selectors import org_today

# --- cadences ----------------------------------------------------------------------------------


@requires(Cap.CADENCES_MANAGE)
def cadence_list(request):
    organization = request.organization
    default_cadences_ensure(organization)  # a new organization starts with the defaults
    locale = organization.locale or "en_US"
    rules = list(segment_rules_of(organization=organization))
    for rule in rules:
        rule.conditions = rule_conditions(rule, locale)
    context = {
        "cadences": cadences_overview(organization=organization),
        "rules": rules,
        "sending": sending_settings_for(organization),
    }
    return render(request, "comms/cadence_list.html", context)


def _step_initial(cadence: Cadence | None) -> list[dict]:
    if cadence is None:
        return []
    return [
        {"offset_days": s.offset_days, "tone": s.tone, "subject": s.subject, "body": s.body}
        for s in cadence_steps(cadence=cadence)
    ]


def _cadence_editor(request, cadence: Cadence | None):
    title = cadence.name if cadence is not None else "New cadence"
    initial_steps = _step_initial(cadence)
    # An added step starts in the tone of the cadence's last step.
    new_step_tone = initial_steps[-1]["tone"] if initial_steps else None
    was_default = cadence is not None and cadence.is_default
    if request.method == "POST":
        form = CadenceForm(request.POST, cadence=cadence)
        steps = StepFormSet(
            request.POST, initial=initial_steps, prefix="steps", new_step_tone=new_step_tone
        )
        if form.is_valid() and steps.is_valid():
            data = form.cleaned_data
            specs = [
                StepSpec(
                    offset_days=f.cleaned_data["offset_days"],
                    subject=f.cleaned_data["subject"],
                    body=f.cleaned_data["body"],
                    tone=f.cleaned_data["tone"],
                )
                for f in steps.step_forms()
            ]
            try:
                if cadence is None:
                    saved = cadence_create(
                        organization=request.organization,
                        name=data["name"],
                        description=data["description"],
                        requires_approval=data["requires_approval"],
                        is_default=data["is_default"],
                        steps=specs,
                    )
                else:
                    saved = cadence_update(
                        cadence=cadence,
                        name=data["name"],
                        description=data["description"],
                        requires_approval=data["requires_approval"],
                        # Unticked means "leave as is": the default moves only by making
                        # another cadence the default (the box is locked on the default).
                        is_default=True if data["is_default"] else None,
                        is_active=data["is_active"],
                        steps=specs,
                    )
            except LedgerError as exc:  # CommsError, or a text check of the services
                form.add_error(None, str(exc))
            else:
                count = f"{len(specs)} step{'s' if len(specs) != 1 else ''}"
                messages.success(request, f"Cadence {saved.name} saved with {count}.")
                if saved.is_default and not was_default:
                    # Enrolments keep their cadence (see enrollment.cadence_for_invoice): the
                    # new default takes only invoices picked up from now on.
                    messages.info(
                        request,
                        f"{saved.name} is now the default cadence: open invoices that no segment "
                        "rule assigns are chased with it from when they are first picked up. "
                        "Invoices already in a cadence keep theirs.",
                    )
                return redirect("comms:cadence-list")
    else:
        initial = (
            {
                "name": cadence.name,
                "description": cadence.description,
                "requires_approval": cadence.requires_approval,
                "is_default": cadence.is_default,
                "is_active": cadence.is_active,
            }
            if cadence is not None
            else {"requires_approval": True, "is_active": True}
        )
        form = CadenceForm(initial=initial, cadence=cadence)
        steps = StepFormSet(initial=initial_steps, prefix="steps", new_step_tone=new_step_tone)
    context = {
        "cadence": cadence,
        "title": title,
        "form": form,
        "steps": steps,
        "merge_fields": MERGE_FIELDS.items(),
    }
    return render(request, "comms/cadence_form.html", context)


@requires(Cap.CADENCES_MANAGE)
def cadence_new(request):
    return _cadence_editor(request, None)


@requires(Cap.CADENCES_MANAGE)
def cadence_edit(request, cadence_id):
    cadence = cadence_for(membership=request.membership, public_id=cadence_id)
    return _cadence_editor(request, cadence)


@requires(Cap.CADENCES_MANAGE)
def cadence_preview(request, cadence_id):
    """Each step (or the one asked for) filled in for a real open invoice, each as it would
    read on its own day (the due date plus the step's offset) with today's balance, and a pay
    link that leads nowhere: a preview never issues a payer link."""
    membership = request.membership
    organization = request.organization
    cadence = cadence_for(membership=membership, public_id=cadence_id)
    all_steps = list(cadence_steps(cadence=cadence))
    steps = all_steps
    step_id = request.GET.get("step", "").strip()
    if step_id:
        steps = [s for s in all_steps if str(s.public_id) == step_id.lower()]
        if not steps:
            raise Http404("No such step in this cadence.")
    choices = open_invoices_recent(membership=membership)
    public_id = request.GET.get("invoice", "").strip() or None
    number = request.GET.get("number", "").strip()[:100]
    invoice, number_missing = None, ""
    if number and not public_id:
        invoice = open_invoice_by_number(membership=membership, number=number, known=choices)
        number_missing = number if invoice is None else ""
    if invoice is None:
        invoice = preview_invoice(membership=membership, public_id=public_id)
    previews = []
    contact = None
    if invoice is not None:
        invoice.organization = organization
        contact = preview_contact(invoice=invoice)
        sending = sending_settings_for(organization)
        for step in steps:
            reads_on = invoice.due_date + dt.timedelta(days=step.offset_days)
            merge = preview_context(
                invoice=invoice, contact=contact, sending=sending, as_of=reads_on
            )
            try:
                subject, body, error = (
                    merge_render(step.subject, merge),
                    merge_render(step.body, merge),
                    "",
                )
            except MergeFieldError as exc:
                subject, body, error = "", "", str(exc)
            previews.append(
                {
                    "step": step,
                    "subject": subject,
                    "body": body,
                    "error": error,
                    "sends_on": reads_on,
                }
            )
    if invoice is not None and all(i.pk != invoice.pk for i in choices):
        choices.insert(0, invoice)
    context = {
        "cadence": cadence,
        "all_steps": all_steps,
        "step_id": step_id if len(steps) == 1 and step_id else "",
        "invoice": invoice,
        "contact": contact,
        "choices": choices,
        "previews": previews,
        "number": number,
        "number_missing": number_missing,
        "today": org_today(organization),
    }
    template = "comms/cadence_preview_panel.html" if request.htmx else "comms/cadence_preview.html"
    return render(request, template, context)


# --- segment rules ---------------------------------------------------------------------------


def _rule_editor(request, rule=None):
    organization = request.organization
    if request.method == "POST":
        form = SegmentRuleForm(request.POST, organization=organization)
        if form.is_valid():
            fields = form.rule_fields()
            cadence = form.cleaned_data["cadence"]
            try:
                if rule is None:
                    if fields["priority"] is None:
                        del fields["priority"]  # after the last rule
                    saved = segment_rule_create(
                        organization=organization, cadence=cadence, **fields
                    )
                else:
                    if fields["priority"] is None:
                        fields["priority"] = rule.priority
                    saved = segment_rule_update(rule=rule, cadence=cadence, **fields)
            except LedgerError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Segment rule {saved.name} saved.")
                return redirect(reverse("comms:cadence-list") + "#rules")
    else:
        if rule is None:
            form = SegmentRuleForm(organization=organization)
        else:
            form = SegmentRuleForm(
                organization=organization,
                initial={
                    "name": rule.name,
                    "cadence": rule.cadence.public_id,
                    "priority": rule.priority,
                    "segment": rule.segment,
                    "currency": rule.currency,
                    "min_amount": _amount_text(rule.min_amount),
                    "max_amount": _amount_text(rule.max_amount),
                    "min_days_overdue": rule.min_days_overdue,
                    "max_days_overdue": rule.max_days_overdue,
                    "min_risk": rule.min_risk,
                    "max_risk": rule.max_risk,
                },
            )
    conditions = None
    if rule is not None:
        conditions = rule_conditions(rule, organization.locale or "en_US")
    context = {"form": form, "rule": rule, "conditions": conditions}
    return render(request, "comms/rule_form.html", context)


def _amount_text(value) -> str:
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@requires(Cap.CADENCES_MANAGE)
def rule_new(request):
    return _rule_editor(request)


@requires(Cap.CADENCES_MANAGE)
def rule_edit(request, rule_id):
    rule = rule_for(membership=request.membership, public_id=rule_id)
    return _rule_editor(request, rule)


@requires(Cap.CADENCES_MANAGE)
@require_POST
def rule_delete(request, rule_id):
    rule = rule_for(membership=request.membership, public_id=rule_id)
    name = rule.name
    segment_rule_delete(rule=rule)
    messages.success(
        request,
        f"Segment rule {name} deleted. Invoices it already assigned keep their cadence; new "
        "invoices follow the remaining rules or the default cadence.",
    )
    return redirect(reverse("comms:cadence-list") + "#rules")


# --- sending settings --------------------------------------------------------------------------


def _settings_initial(organization, sending: SendingSettings) -> dict:
    return sending_settings_values(organization=organization, sending=sending)


def _settings_page(request, *, form=None, live_form=None, status=200, window_error=None):
    organization = request.organization
    sending = sending_settings_for(organization)
    sending_domain_ensure(organization=organization)
    can_go_live = role_can(request.membership.role, Cap.ORG_GO_LIVE)
    readiness = None
    if can_go_live and not organization.is_live:
        readiness = go_live_checks(organization=organization, sending=sending)
    if live_form is None and can_go_live:
        live_form = LiveModeForm(
            initial={"live": "0" if organization.is_live else "1"},
            queued=readiness.waiting.queued if readiness else 0,
        )
    context = {
        "readiness": readiness,
        "sending": sending,
        "form": form or SendingSettingsForm(initial=_settings_initial(organization, sending)),
        "live_form": live_form,
        "can_go_live": can_go_live,
        "today": sending_today(organization=organization, sending=sending),
        "domains": sending_domains_overview(organization=organization, sending=sending),
        "operator_windows": operator_windows(organization=organization),
        "window_error": window_error,
    }
    return render(request, "comms/sending_settings.html", context, status=status)


@requires(Cap.CADENCES_MANAGE)
def sending_settings(request):
    if request.method == "POST":
        form = SendingSettingsForm(request.POST)
        if form.is_valid():
            try:
                sending_settings_update(
                    organization=request.organization, actor=request.user, **form.cleaned_data
                )
            except LedgerError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Sending settings saved.")
                return redirect("comms:sending-settings")
        return _settings_page(request, form=form)
    return _settings_page(request)


@requires(Cap.ORG_GO_LIVE)
@require_POST
def sending_go_live(request):
    organization = request.organization
    form = LiveModeForm(request.POST, queued=outbox_waiting(organization=organization).queued)
    if form.is_valid():
        live = form.cleaned_data["live"]
        try:
            organization_live_set(organization=organization, live=live, actor=request.user)
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            if live:
                messages.success(
                    request,
                    f"Sending is live: emails for {organization.name} now go to payers' own "
                    "addresses.",
                )
            else:
                address = sending_settings_for(organization).test_address
                messages.success(
                    request,
                    f"Test mode is on: every email now goes to {address}, marked as a test.",
                )
            return redirect("comms:sending-settings")
    return _settings_page(request, live_form=form)


@requires(Cap.CADENCES_MANAGE)
@require_POST
def sending_domain_check(request, domain_id):
    # Imported here: DNS lookups (dnspython) are loaded only when someone asks for a check.
    from plixo.comms.deliverability import sending_domain_check as dns_check

    domain = domain_for(membership=request.membership, public_id=domain_id)
    domain = dns_check(domain=domain)
    results = ", ".join(
        f"{label} {getattr(domain, f'get_{name}_display')().lower()}"
        for name, label in (("spf", "SPF"), ("dkim", "DKIM"), ("dmarc", "DMARC"))
    )
    messages.info(request, f"DNS checked for {domain.domain}: {results}.")
    return redirect(reverse("comms:sending-settings") + "#domains")


@requires(Cap.CADENCES_MANAGE)
@require_POST
def operator_window(request, membership_id):
    """Set or clear one operator's own send window (from the sending settings page)."""
    organization = request.organization
    membership = get_object_or_404(
        Membership.objects.select_related("user"),
        organization=organization,
        public_id=membership_id,
    )
    name = membership.user.display_name
    if request.POST.get("action") == "clear":
        operator_window_clear(organization=organization, membership=membership, actor=request.user)
        messages.success(request, f"{name} now sends within the organization's window.")
        return redirect(reverse("comms:sending-settings") + "#operators")
    form = OperatorWindowForm(request.POST)
    if form.is_valid():
        try:
            operator_window_set(
                organization=organization,
                membership=membership,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                actor=request.user,
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            data = form.cleaned_data
            messages.success(
                request,
                f"Emails {name} approves now go out {data['start']:%H:%M}–{data['end']:%H:%M} "
                "on the payer's clock.",
            )
            return redirect(reverse("comms:sending-settings") + "#operators")
    errors = "; ".join(e for errs in form.errors.values() for e in errs)
    return _settings_page(request, status=400, window_error=(membership.pk, errors))
