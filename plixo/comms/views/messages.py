"""Drafts, the outbox, one message's page, and a contact's suppression.

Reads go through `comms.selectors` (scoped to the organization and, for Sales and
CSMs, to their own accounts), writes through `comms.services`. A refused action comes back as
an error message on the page it was asked from, never as a server error.
"""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from plixo.comms import services
from plixo.comms.forms_messages import (
    DRAFT_STATUSES,
    OUTBOX_TABS,
    ContactSuppressForm,
    MessageCancelForm,
    MessageEditForm,
)
from plixo.comms.models import Message
from plixo.comms.selectors import (
    DRAFT_FILTERS,
    PREVIEW_PAY_LINK,
    count_label,
    draft_counts,
    hold_line,
    message_for,
    message_preview,
    message_provider_events,
    message_timeline,
    outbox_counts,
    preview_subject,
    send_notes,
)
from plixo.comms.selectors import OUTBOX_TABS as OUTBOX_TAB_DEFS
from plixo.comms.selectors import draft_list as draft_page
from plixo.comms.selectors import outbox_list as outbox_page
from plixo.comms.services.outbox import payer_zone
from plixo.core.access import requires
from plixo.core.permissions import Cap, role_can
from plixo.ledger.models import LedgerError
from plixo.ledger.selectors import contact_for

# --- helpers -----------------------------------------------------------------------------------


def _back(request, message: Message):
    """Where an action returns: the page it was asked from (`next`, same site only), else the
    message's own page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("comms:message-detail", message_id=message.public_id)


def _local(value, zone: str) -> str:
    local = timezone.localtime(value, ZoneInfo(zone))
    return f"{local:%H:%M} {zone} on {local:%a %b} {local.day}"


def send_outcome(message: Message, org_zone: str) -> tuple[int, str]:
    """What a "Send now" did, in words: (message level, text)."""
    status = message.status
    if status == Message.Status.SENT:
        if message.is_test:
            return messages.SUCCESS, (
                f"Sent to the test address {message.to_email} (test mode; meant for "
                f"{message.intended_email})."
            )
        return messages.SUCCESS, f"Sent to {message.to_email}."
    if status == Message.Status.QUEUED:
        if message.hold_reason and message.send_after:
            zone = payer_zone(message, message.contact)
            held = hold_line(message)
            text = f"Not sent yet: {held[0].lower()}{held[1:]}"
            if zone != org_zone:
                text += f" That is {_local(message.send_after, org_zone)}."
            return messages.WARNING, text
        if message.last_error:
            return messages.WARNING, (
                f"The email provider refused it; it is queued to try again at "
                f"{_local(message.send_after, org_zone)}. Error: {message.last_error[:200]}"
            )
        return messages.INFO, "Queued: it goes out with the next run of the outbox."
    if status == Message.Status.CANCELLED:
        return messages.WARNING, f"Not sent: cancelled ({message.status_reason})."
    if status == Message.Status.FAILED:
        return messages.ERROR, f"Sending failed: {message.status_reason or message.last_error}"
    if status == Message.Status.UNKNOWN:
        return messages.ERROR, f"Delivery unknown: {message.status_reason}"
    return messages.INFO, f"The email is {message.get_status_display().lower()}."


def _message_actions(message: Message, role: str) -> dict[str, bool]:
    """Which actions the page offers for this message and role."""
    if not role_can(role, Cap.MESSAGES_SEND):
        return {}
    status = message.status
    return {
        "edit": status == Message.Status.DRAFT,
        "approve": status == Message.Status.DRAFT,
        "send": status in (Message.Status.DRAFT, Message.Status.QUEUED),
        "cancel": Message.Status.CANCELLED in Message.TRANSITIONS[status],
        "retry": status in (Message.Status.FAILED, Message.Status.UNKNOWN),
    }


def _preview_context(request, message: Message, sending) -> dict:
    notes = send_notes(message, sending, request.organization)
    return {
        "message": message,
        "preview": message_preview(message, sending, request.user),
        "flags": notes.flags,
        "send_label": notes.send_label,
        "actions": _message_actions(message, request.membership.role),
        "pay_link_placeholder": PREVIEW_PAY_LINK,
    }


# --- drafts ------------------------------------------------------------------------------------


@requires(Cap.MESSAGES_SEND)
def draft_list(request):
    organization = request.organization
    membership = request.membership
    sending = services.sending_settings_for(organization)
    status = request.GET.get("status", "draft")
    if status not in DRAFT_STATUSES:
        status = "draft"
    selected = None
    if request.GET.get("m"):
        try:
            selected = message_for(membership=membership, public_id=request.GET["m"])
        except Http404:
            selected = None
    if request.htmx and request.GET.get("panel"):
        # The inspector alone, swapped in when a row is opened.
        context = {"next": request.htmx.current_url_abs_path or request.path}
        if selected is not None:
            context.update(_preview_context(request, selected, sending))
        return render(request, "comms/_message_preview.html", context)
    page = draft_page(
        membership=membership,
        status=status,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    now = timezone.now()
    for message in page:
        notes = send_notes(message, sending, organization, now)
        # Test mode is said once above the list, not on every row.
        message.flags = [flag for flag in notes.flags if flag.kind != "test"]
        message.send_label = notes.send_label
        message.subject_text = preview_subject(message, sending, request.user)
    counts = draft_counts(membership=membership)
    chips = []
    for value, (label, _q) in DRAFT_FILTERS.items():
        chips.append(
            {
                "value": value,
                "label": label,
                "count": count_label(counts[value]),
                "active": value == status,
            }
        )
    context = {
        "page": page,
        "status": status,
        "status_label": DRAFT_FILTERS[status][0],
        "chips": chips,
        "sending": sending,
        "next": request.get_full_path(),
        "selected_id": selected.public_id if selected is not None else None,
    }
    if selected is not None:
        context.update(_preview_context(request, selected, sending))
    return render(request, "comms/draft_list.html", context)


# --- one message -------------------------------------------------------------------------------


@requires(Cap.MESSAGES_VIEW)
def message_detail(request, message_id):
    message = message_for(membership=request.membership, public_id=message_id)
    sending = services.sending_settings_for(request.organization)
    context = {
        "message": message,
        "invoice": message.invoice,
        "customer": message.invoice.customer,
        "actions": _message_actions(message, request.membership.role),
        "timeline": message_timeline(message=message),
        "provider_events": message_provider_events(message=message),
        "payer_zone": payer_zone(message, message.contact),
        "cancel_form": MessageCancelForm(),
        "next": request.get_full_path(),
        "pay_link_placeholder": PREVIEW_PAY_LINK,
    }
    if not message.rendered_body:
        context["preview"] = message_preview(message, sending, request.user)
    if message.is_unsent:
        notes = send_notes(message, sending, request.organization)
        # A held email's stored hold is said once, beside "Goes".
        context["flags"] = [flag for flag in notes.flags if flag.kind != "held"]
        context["send_label"] = notes.send_label
        context["hold_text"] = hold_line(message)
    return render(request, "comms/message_detail.html", context)


@requires(Cap.MESSAGES_SEND)
def message_edit_view(request, message_id):
    message = message_for(membership=request.membership, public_id=message_id)
    if message.status != Message.Status.DRAFT:
        messages.info(
            request,
            f"Only drafts can be edited; this email is {message.get_status_display().lower()}.",
        )
        return redirect("comms:message-detail", message_id=message.public_id)
    if request.method == "POST":
        form = MessageEditForm(request.POST)
        if form.is_valid():
            try:
                services.message_edit(
                    message=message,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    tone=form.cleaned_data["tone"],
                    actor=request.user,
                )
            except LedgerError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Draft for invoice {message.invoice.number} saved.")
                return _back(request, message)
    else:
        form = MessageEditForm(
            initial={"subject": message.subject, "body": message.body, "tone": message.tone}
        )
    sending = services.sending_settings_for(request.organization)
    target = request.POST.get("next") or request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    return render(
        request,
        "comms/message_edit.html",
        {
            "message": message,
            "form": form,
            "preview": message_preview(message, sending, request.user),
            "next": target,
            "pay_link_placeholder": PREVIEW_PAY_LINK,
        },
    )


@requires(Cap.MESSAGES_SEND)
@require_POST
def message_approve_view(request, message_id):
    message = message_for(membership=request.membership, public_id=message_id)
    try:
        message = services.message_approve(message=message, actor=request.user)
    except LedgerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Approved: the email for invoice {message.invoice.number} is in the outbox and goes "
            "at the payer's next send window.",
        )
    return _back(request, message)


@requires(Cap.MESSAGES_SEND)
@require_POST
def message_send_view(request, message_id):
    message = message_for(membership=request.membership, public_id=message_id)
    try:
        message = services.message_send_now(message=message, actor=request.user)
    except LedgerError as exc:
        messages.error(request, str(exc))
    else:
        message = message_for(membership=request.membership, public_id=message.public_id)
        level, text = send_outcome(message, request.organization.time_zone)
        messages.add_message(request, level, f"Invoice {message.invoice.number}: {text}")
    return _back(request, message)


@requires(Cap.MESSAGES_SEND)
@require_POST
def message_cancel_view(request, message_id):
    message = message_for(membership=request.membership, public_id=message_id)
    form = MessageCancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The reason is at most 300 characters.")
        return _back(request, message)
    try:
        services.message_cancel(
            message=message, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except LedgerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Cancelled: the email for invoice {message.invoice.number} will not go."
        )
    return _back(request, message)


@requires(Cap.MESSAGES_SEND)
@require_POST
def message_retry_view(request, message_id):
    message = message_for(membership=request.membership, public_id=message_id)
    try:
        services.message_requeue(message=message, actor=request.user)
    except LedgerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Queued again: the email for invoice {message.invoice.number} goes with the next "
            "run of the outbox.",
        )
    return _back(request, message)


# --- the outbox --------------------------------------------------------------------------------


@requires(Cap.MESSAGES_VIEW)
def outbox_list(request):
    tab = request.GET.get("tab", "queued")
    if tab not in OUTBOX_TABS:
        tab = "queued"
    page = outbox_page(
        membership=request.membership,
        tab=tab,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    sending = services.sending_settings_for(request.organization)
    for message in page:
        if not message.rendered_subject:
            message.subject_text = preview_subject(message, sending, request.user)
    counts = outbox_counts(membership=request.membership)
    tabs = [
        {
            "value": value,
            "label": label,
            "active": value == tab,
            "count": count_label(counts.get(value)),
        }
        for value, (label, _q) in OUTBOX_TAB_DEFS.items()
    ]
    return render(
        request,
        "comms/outbox.html",
        {
            "page": page,
            "tab": tab,
            "tabs": tabs,
            "can_send": role_can(request.membership.role, Cap.MESSAGES_SEND),
            "next": request.get_full_path(),
        },
    )


# --- suppression -------------------------------------------------------------------------------


@requires(Cap.CONTACTS_SUPPRESS)
@require_POST
def contact_suppress_view(request, contact_id):
    contact = contact_for(membership=request.membership, public_id=contact_id)
    form = ContactSuppressForm(request.POST, time_zone=request.organization.time_zone)
    if form.is_valid():
        try:
            services.contact_suppress(
                contact=contact,
                kind=form.cleaned_data["kind"],
                reason=form.cleaned_data["note"],
                until=form.cleaned_data["until"],
                actor=request.user,
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{contact.email} is suppressed: no automated email.")
            return redirect("ledger:customer-detail", customer_id=contact.customer.public_id)
    return render(
        request,
        "comms/suppress_form.html",
        {"form": form, "contact": contact, "customer": contact.customer},
    )


@requires(Cap.CONTACTS_SUPPRESS)
@require_POST
def contact_unsuppress_view(request, contact_id):
    contact = contact_for(membership=request.membership, public_id=contact_id)
    try:
        services.contact_unsuppress(contact=contact, actor=request.user)
    except LedgerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Suppression lifted: {contact.email} receives reminders again.")
    return redirect("ledger:customer-detail", customer_id=contact.customer.public_id)
