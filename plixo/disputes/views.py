"""Staff pages of disputes: log one from the invoice, the disputes queue, a dispute's page with
its actions (assign, route, review, resolve), the SLA and routing settings, and the one way to
read evidence back (a download). Thin: forms check the input, services decide and write."""

import csv
import io

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from plixo.core.access import requires
from plixo.core.paging import BadCursor, keyset_page
from plixo.core.permissions import Cap, role_can
from plixo.core.templatetags.plixo import money_text
from plixo.disputes import configuration, selectors
from plixo.disputes.attachments import CSV
from plixo.disputes.forms import (
    AssignForm,
    DisputeLogForm,
    DisputeSettingsForm,
    HolidayForm,
    QueueFilterForm,
    ResolveForm,
    RouteForm,
    RoutingRuleForm,
)
from plixo.disputes.models import Dispute, DisputeSource
from plixo.disputes.selectors import QUEUE_SORTS, QueueFilters, attachment_for
from plixo.disputes.services import (
    OUTCOMES,
    DisputeForbidden,
    dispute_assign,
    dispute_file,
    dispute_mark_under_review,
    dispute_resolve,
    dispute_route,
)
from plixo.disputes.sla import SlaClock, settings_for, zone_of
from plixo.disputes.workflow import OUTCOME_CAPABILITY, rule_text, team_label
from plixo.imports.pipeline.reject_log import neutralise
from plixo.ledger.models import LedgerError
from plixo.ledger.selectors import invoice_for

PAGE_SIZE = 50


# --- evidence ---------------------------------------------------------------------------------


def _neutralised_csv(handle) -> bytes:
    """A CSV's cells with spreadsheet formulas defused, as the imports' reject log writes them:
    evidence came from a payer, and staff open it in a spreadsheet."""
    raw = handle.read()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Http404("This CSV file cannot be read.")
    out = io.StringIO()
    writer = csv.writer(out)
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue().encode("utf-8")


@requires(Cap.LEDGER_VIEW)
def attachment_download(request, attachment_id):
    attachment = attachment_for(membership=request.membership, public_id=attachment_id)
    try:
        handle = default_storage.open(attachment.file.name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("The file of this attachment is missing from storage.") from exc
    if attachment.content_type == CSV.content_type:
        with handle:
            body = _neutralised_csv(handle)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = _disposition(attachment.original_name)
    else:
        # Always a download with the type we sniffed, never rendered inline: a file crafted to
        # look like a PDF but parsed as HTML by a browser would otherwise run on our origin.
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def _disposition(name: str) -> str:
    from django.utils.http import content_disposition_header

    return content_disposition_header(True, name)


# --- log a dispute from the invoice -------------------------------------------------------------


@requires(Cap.DISPUTES_LOG)
def dispute_log(request, invoice_id):
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    invoice.organization = request.organization
    locale = request.organization.locale
    if request.method == "POST":
        form = DisputeLogForm(request.POST, request.FILES, invoice=invoice, locale=locale)
        if form.is_valid():
            data = form.cleaned_data
            try:
                dispute = dispute_file(
                    invoice=invoice,
                    reason_code=data["reason_code"],
                    amount=data["amount"],
                    description=data["description"],
                    attachments=data["attachments"],
                    source=DisputeSource.STAFF,
                    actor=request.user,
                )
            except LedgerError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    f"Dispute logged: {money_text(dispute.amount, dispute.currency)} on "
                    f"{invoice.number}. The invoice is disputed and reminders pause.",
                )
                return redirect("disputes:detail", dispute_id=dispute.public_id)
        status = 400
    else:
        form = DisputeLogForm(invoice=invoice, locale=locale)
        status = 200
    context = {"invoice": invoice, "form": form}
    return render(request, "disputes/log.html", context, status=status)


# --- the queue -----------------------------------------------------------------------------------


def _sla_rows(clock: SlaClock, disputes) -> list[dict]:
    return [
        {
            "dispute": dispute,
            "sla": clock.state(dispute.sla_due_at, until=dispute.resolved_at),
        }
        for dispute in disputes
    ]


@requires(Cap.LEDGER_VIEW)
def queue(request):
    membership = request.membership
    form = QueueFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    filters = QueueFilters(
        status=data.get("status") or "open",
        reason=data.get("reason") or "",
        assignee=data.get("assignee") or "",
        team=data.get("team") or "",
        due=data.get("due") or "",
        sort=data.get("sort") or "sla",
    )
    now = timezone.now()
    clock = SlaClock(request.organization, now=now)
    soon = clock.due_soon_before()
    queryset = selectors.dispute_queue(
        membership=membership, filters=filters, now=now, due_soon_before=soon
    )
    ordering = QUEUE_SORTS[filters.sort][1]
    try:
        page = keyset_page(
            queryset, ordering=ordering, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    except BadCursor as exc:
        messages.error(request, str(exc))
        page = keyset_page(queryset, ordering=ordering, cursor=None, limit=PAGE_SIZE)
    counts = selectors.queue_counts(membership=membership, now=now, due_soon_before=soon)
    members = list(selectors.assignable_members(organization=request.organization))
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": _sla_rows(clock, page.rows),
        "counts": counts,
        "members": members,
        "due_soon_hours": clock.settings.due_soon_hours,
        "sla_zone": zone_of(clock.settings),
        "sorts": [(key, label) for key, (label, _) in QUEUE_SORTS.items()],
        "filtered": any(
            (
                filters.status != "open",
                filters.reason,
                filters.assignee,
                filters.team,
                filters.due,
            )
        ),
        "can_settings": role_can(membership.role, Cap.DISPUTES_SETTINGS),
    }
    return render(request, "disputes/queue.html", context)


# --- one dispute ---------------------------------------------------------------------------------


def _detail(request, dispute: Dispute, *, resolve_form=None, status=200):
    membership = request.membership
    role = membership.role
    clock = SlaClock(request.organization)
    members = list(selectors.assignable_members(organization=request.organization))
    outcomes = [
        key
        for key in OUTCOMES
        if key not in OUTCOME_CAPABILITY or role_can(role, OUTCOME_CAPABILITY[key])
    ]
    can_resolve = role_can(role, Cap.DISPUTES_RESOLVE) and dispute.is_open
    context = {
        "dispute": dispute,
        "invoice": dispute.invoice,
        "sla": clock.state(dispute.sla_due_at, until=dispute.resolved_at),
        "sla_zone": zone_of(clock.settings),
        "target_hours": clock.settings.target_hours(dispute.reason_code),
        "attachments": list(dispute.attachments.all()),
        "history": selectors.dispute_history(dispute=dispute),
        "can_resolve": can_resolve,
        "assign_form": AssignForm(
            members=members,
            initial={"assignee": str(dispute.assignee.public_id) if dispute.assignee else ""},
        ),
        "route_form": RouteForm(initial={"team": dispute.routed_to or "legal"}),
        "resolve_form": resolve_form
        or ResolveForm(
            dispute=dispute,
            outcomes=outcomes,
            initial={"outcome": "reject" if "credit" not in outcomes else "credit"},
        ),
        "team": team_label(dispute.routed_to) if dispute.routed_to else "",
        "other_open": Dispute.objects.filter(invoice_id=dispute.invoice_id, resolved_at=None)
        .exclude(pk=dispute.pk)
        .count(),
    }
    return render(request, "disputes/detail.html", context, status=status)


@requires(Cap.LEDGER_VIEW)
def detail(request, dispute_id):
    dispute = selectors.dispute_for(membership=request.membership, public_id=dispute_id)
    return _detail(request, dispute)


def _back(dispute: Dispute):
    return redirect(reverse("disputes:detail", kwargs={"dispute_id": dispute.public_id}))


def _act(request, dispute: Dispute, action, done: str):
    try:
        action()
    except DisputeForbidden as exc:
        messages.error(request, str(exc))
    except LedgerError as exc:
        messages.error(request, f"Nothing changed: {exc}")
    else:
        messages.success(request, done)
    return _back(dispute)


@requires(Cap.DISPUTES_RESOLVE)
@require_POST
def assign(request, dispute_id):
    dispute = selectors.dispute_for(membership=request.membership, public_id=dispute_id)
    members = list(selectors.assignable_members(organization=request.organization))
    if request.POST.get("assignee") == "me":
        assignee = request.user
    else:
        form = AssignForm(request.POST, members=members)
        if not form.is_valid():
            messages.error(request, "Choose a member from the list.")
            return _back(dispute)
        assignee = form.cleaned_data["assignee"]
    done = f"Assigned to {assignee}." if assignee else "The dispute is unassigned."
    return _act(
        request,
        dispute,
        lambda: dispute_assign(dispute=dispute, assignee=assignee, actor=request.user),
        done,
    )


@requires(Cap.DISPUTES_RESOLVE)
@require_POST
def route(request, dispute_id):
    dispute = selectors.dispute_for(membership=request.membership, public_id=dispute_id)
    form = RouteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a team from the list.")
        return _back(dispute)
    team = form.cleaned_data["team"]
    return _act(
        request,
        dispute,
        lambda: dispute_route(dispute=dispute, team=team, actor=request.user),
        f"Routed to {team_label(team)}.",
    )


@requires(Cap.DISPUTES_RESOLVE)
@require_POST
def review(request, dispute_id):
    dispute = selectors.dispute_for(membership=request.membership, public_id=dispute_id)
    return _act(
        request,
        dispute,
        lambda: dispute_mark_under_review(dispute=dispute, actor=request.user),
        "Marked under review.",
    )


@requires(Cap.DISPUTES_RESOLVE)
@require_POST
def resolve(request, dispute_id):
    dispute = selectors.dispute_for(membership=request.membership, public_id=dispute_id)
    form = ResolveForm(request.POST, dispute=dispute, locale=request.organization.locale)
    if not form.is_valid():
        return _detail(request, dispute, resolve_form=form, status=400)
    data = form.cleaned_data
    try:
        result = dispute_resolve(
            dispute=dispute,
            outcome=data["outcome"],
            amount=data["amount"],
            note=data["note"],
            actor=request.user,
        )
    except DisputeForbidden as exc:
        form.add_error(None, str(exc))
        return _detail(request, dispute, resolve_form=form, status=403)
    except LedgerError as exc:
        form.add_error(None, str(exc))
        return _detail(request, dispute, resolve_form=form, status=400)
    if result.approval is not None:
        messages.warning(
            request,
            f"{result.approval.guardrail}. The request is in the Approvals inbox; the dispute "
            "is resolved when it is approved.",
        )
    else:
        title = OUTCOMES[data["outcome"]][0]
        back = (
            " The invoice is back in its cadence."
            if result.dispute.invoice.is_open and result.dispute.invoice.status != "disputed"
            else ""
        )
        messages.success(request, f"Dispute resolved: {title.lower()}.{back}")
    return _back(dispute)


# --- settings ------------------------------------------------------------------------------------


def _settings_page(request, *, form=None, holiday_form=None, rule_form=None, status=200):
    organization = request.organization
    settings = settings_for(organization)
    members = list(selectors.assignable_members(organization=organization))
    rules = list(selectors.routing_rules_of(organization=organization))
    context = {
        "form": form or DisputeSettingsForm(settings=settings),
        "holiday_form": holiday_form or HolidayForm(),
        "rule_form": rule_form or RoutingRuleForm(members=members),
        "holidays": selectors.holidays_of(organization=organization),
        "rules": [{"rule": rule, "text": rule_text(rule)} for rule in rules],
        "org_zone": organization.time_zone,
        "team_label": team_label,
    }
    return render(request, "disputes/settings.html", context, status=status)


@requires(Cap.DISPUTES_SETTINGS)
def settings_page(request):
    if request.method != "POST":
        return _settings_page(request)
    organization = request.organization
    form = DisputeSettingsForm(request.POST, settings=settings_for(organization))
    if form.is_valid():
        data = form.cleaned_data
        try:
            configuration.dispute_settings_save(
                organization=organization,
                actor=request.user,
                default_target_hours=data["default_target_hours"],
                reason_targets=data["reason_targets"],
                business_hours=data["business_hours"],
                time_zone=data["time_zone"],
                due_soon_hours=data["due_soon_hours"],
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, "SLA settings saved. They apply to disputes opened from now on."
            )
            return redirect("disputes:settings")
    return _settings_page(request, form=form, status=400)


@requires(Cap.DISPUTES_SETTINGS)
@require_POST
def holiday_add(request):
    form = HolidayForm(request.POST)
    if form.is_valid():
        try:
            holiday = configuration.holiday_add(
                organization=request.organization, actor=request.user, **form.cleaned_data
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Holiday added: {holiday.name}, {holiday.day:%b %-d, %Y}.")
            return redirect("disputes:settings")
    return _settings_page(request, holiday_form=form, status=400)


@requires(Cap.DISPUTES_SETTINGS)
@require_POST
def holiday_delete(request, holiday_id):
    holiday = selectors.holiday_for(membership=request.membership, public_id=holiday_id)
    configuration.holiday_delete(holiday=holiday, actor=request.user)
    messages.success(request, f"Holiday removed: {holiday.name}.")
    return redirect("disputes:settings")


@requires(Cap.DISPUTES_SETTINGS)
@require_POST
def rule_add(request):
    organization = request.organization
    members = list(selectors.assignable_members(organization=organization))
    form = RoutingRuleForm(request.POST, members=members, locale=organization.locale)
    if form.is_valid():
        data = form.cleaned_data
        try:
            configuration.routing_rule_add(
                organization=organization,
                actor=request.user,
                reason_code=data["reason_code"],
                amount_at_least=data["amount_at_least"],
                currency=data["currency"],
                route_to=data["route_to"],
                assignee=data["assignee"],
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Routing rule added at the end of the list.")
            return redirect("disputes:settings")
    return _settings_page(request, rule_form=form, status=400)


@requires(Cap.DISPUTES_SETTINGS)
@require_POST
def rule_delete(request, routing_rule_id):
    rule = selectors.routing_rule_for(membership=request.membership, public_id=routing_rule_id)
    configuration.routing_rule_delete(rule=rule, actor=request.user)
    messages.success(request, "Routing rule removed.")
    return redirect("disputes:settings")


@requires(Cap.DISPUTES_SETTINGS)
@require_POST
def rule_move(request, routing_rule_id):
    rule = selectors.routing_rule_for(membership=request.membership, public_id=routing_rule_id)
    configuration.routing_rule_move(
        rule=rule, up=request.POST.get("direction") != "down", actor=request.user
    )
    return redirect("disputes:settings")
