"""The payer's portal: link landing, the invoice page, pay / plan / promise / dispute, PDFs,
self-service renewal and the demo; plus the staff action that regenerates an invoice's link.

Payer views read only `request.portal_session.invoice`: nothing a payer sends can name another
invoice. Writes go through the portal, payments, commitments and disputes services.
"""

import datetime as dt
import functools

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import content_disposition_header
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from plixo.commitments.selectors import invoice_accepted_plan, invoice_next_installment
from plixo.commitments.services import plan_installments_even, plan_propose, promise_create
from plixo.core.access import public, requires
from plixo.core.permissions import Cap
from plixo.disputes.attachments import AttachmentRejected
from plixo.disputes.models import ReasonCode
from plixo.disputes.services import dispute_file
from plixo.ledger.models import Invoice, LedgerError
from plixo.ledger.selectors import invoice_for, org_today
from plixo.payments.documents import invoice_pdf as render_invoice
from plixo.payments.documents import pdf_filename
from plixo.payments.documents import receipt_pdf as render_receipt
from plixo.payments.providers import provider_for
from plixo.payments.services import checkout_create
from plixo.portal import demo
from plixo.portal.csrf import payer_csrf
from plixo.portal.forms import DisputeForm, PayForm, PlanForm, PromiseForm, RenewForm, new_attempt
from plixo.portal.gate import portal_session_required
from plixo.portal.models import LinkState, PortalEvent
from plixo.portal.selectors import (
    SESSION_KEY,
    checkout_confirming_for_session,
    completed_checkouts_for_session,
    events_for_session,
    link_for_token,
    link_state,
    portal_session_live,
    portal_session_lookup,
    portal_summary,
    receipt_for_invoice,
)
from plixo.portal.services import (
    payer_label,
    portal_event_record,
    portal_invoice_viewed,
    portal_link_consume,
    portal_link_issue,
    portal_link_renew,
    portal_link_touch,
)

Kind = PortalEvent.Kind

DEAD_LINKS = {
    LinkState.EXPIRED: (
        410,
        "This link has expired",
        "Payment links stop working after a week without use, to keep your invoice private.",
    ),
    LinkState.CONSUMED: (
        410,
        "This link has already been used",
        "Each link opens the invoice once, on one device. If you opened it on another device, "
        "carry on there.",
    ),
    LinkState.REVOKED: (
        410,
        "This link has been replaced",
        "A newer link was issued for this invoice, and earlier links stop working when that "
        "happens. Use the newest email you received.",
    ),
    LinkState.UNKNOWN: (
        404,
        "We don’t recognise this link",
        "Check that you opened the whole link from the email; some email programs break long "
        "links across lines.",
    ),
}


def _dead_link(request, state: LinkState, token: str):
    status, title, lead = DEAD_LINKS[state]
    context = {
        "title": title,
        "lead": lead,
        "status": status,
        "renew": True,
        "renew_form": RenewForm(initial={"token": token}),
    }
    return render(request, "portal/message.html", context, status=status)


def _browser_holds_session_of(request, link) -> bool:
    ref = request.session.get(SESSION_KEY)
    if not ref or link is None:
        return False
    session = portal_session_lookup(ref)
    return session is not None and session.link_id == link.pk and portal_session_live(session)


@public
@payer_csrf
@require_http_methods(["GET", "POST"])
def landing(request, token):
    """GET shows what the link is for and consumes nothing (mail scanners fetch links);
    the payer's click, a POST, consumes it and opens the portal session."""
    link = link_for_token(token)
    if _browser_holds_session_of(request, link):
        return redirect("portal:home")
    state = link_state(link)
    if state != LinkState.ACTIVE:
        return _dead_link(request, state, token)
    if request.method == "POST":
        session = portal_link_consume(link=link)
        if session is None:
            link.refresh_from_db()
            return _dead_link(request, link_state(link), token)
        # A new session key on entry, so a key planted before the click is worth nothing.
        request.session.cycle_key()
        request.session[SESSION_KEY] = str(session.public_id)
        return redirect("portal:home")
    portal_link_touch(link=link)
    portal_event_record(invoice=link.invoice, kind=Kind.LINK_OPENED)
    context = {"invoice": link.invoice, "organization": link.organization, "token": token}
    return render(request, "portal/landing.html", context)


def _invoice(request) -> Invoice:
    """The session's invoice, read with the session at the start of this request (balance and
    status change as the payer acts, so it is never kept longer)."""
    return request.portal_session.invoice


def payer_locale(request) -> str | None:
    """The payer's first language from their browser (`Accept-Language`), which says how they
    write amounts; None when the browser does not say."""
    header = request.headers.get("Accept-Language", "")
    for tag, _quality in parse_accept_lang_header(header[:255]):
        if tag != "*":
            return tag
    return None


def _base_context(request, invoice: Invoice, **extra) -> dict:
    return {
        "invoice": invoice,
        "organization": invoice.organization,
        "urls": _real_urls(),
        **extra,
    }


def _record_paid(session) -> None:
    """One `paid` event per checkout this session completed (the sandbox and Stripe both
    return the payer to `?paid=1` once the provider reports success)."""
    missing = completed_checkouts_for_session(session=session) - events_for_session(
        session=session, kind=Kind.PAID
    )
    for _ in range(max(missing, 0)):
        portal_event_record(invoice=session.invoice, kind=Kind.PAID, session=session)


BANNER_TEXT = {
    "paid": {"title": "Paid", "text": "Thank you: this invoice is paid in full."},
    "received": {
        "title": "Payment received",
        "text": "Thank you. The balance shown is what remains due.",
    },
    "dispute": {
        "title": "Dispute received",
        "text": "We are looking into it and will get back to you. Reminders about this invoice "
        "pause meanwhile.",
    },
    "plan": {
        "title": "Plan submitted",
        "text": "Your payment plan is with our team for review; we will get back to you.",
    },
    "promise": {
        "title": "Payment date noted",
        "text": "Thank you for letting us know when to expect your payment.",
    },
    "promise_on_file": {
        "title": "Payment date on file",
        "text": "We have noted that you will pay",
    },
    "confirming": {
        "title": "Confirming your payment",
        "text": "Stripe is telling us about your payment; this page updates by itself in a few "
        "seconds. Please do not pay again.",
    },
    "processing": {
        "title": "Bank payment on its way",
        "text": "Your bank payment (ACH) was submitted. Bank debits take up to four business "
        "days to arrive; we will email a receipt when it does. Please do not pay again.",
    },
    "cancelled": {
        "title": "Payment not completed",
        "text": "Nothing was charged. You can pay whenever you are ready.",
    },
}


def _banners(
    invoice: Invoice, summary, *, just_paid: bool, in_flight: str = "", cancelled: bool = False
) -> list[dict]:
    """PORTAL-6: what the payer already did, from the records themselves (a reload or a new
    visit shows the same banners). `in_flight` is "processing" while a bank debit settles and
    "confirming" while a provider's word on a finished checkout is still on its way."""
    shown = []
    if invoice.status == "paid":
        shown.append("paid")
    elif in_flight:
        shown.append(in_flight)
    elif just_paid:
        shown.append("received")
    elif cancelled:
        shown.append("cancelled")
    if summary.open_dispute is not None:
        shown.append("dispute")
    if summary.open_plan:
        shown.append("plan")
    if summary.open_promise is not None:
        shown.append("promise")
    banners = [{"kind": "paid" if k == "received" else k, **BANNER_TEXT[k]} for k in shown]
    for banner in banners:
        if banner["kind"] == "promise":
            banner["promise"] = summary.open_promise
            if not summary.open_promise.by_payer:
                # Recorded by staff (a call, an email): nothing to thank the payer for here.
                banner.update(BANNER_TEXT["promise_on_file"])
    return banners


PAGE_URL_NAMES = ("home", "pay", "plan", "promise", "dispute", "invoice-pdf", "leave")


@functools.cache
def _urls_under(prefix: str, urlconf: str) -> dict[str, str]:
    return {
        name.replace("-", "_"): reverse(f"portal:{name}", urlconf=urlconf)
        for name in PAGE_URL_NAMES
    }


def _real_urls() -> dict[str, str]:
    # Fixed for a given script prefix and URLconf; reversing seven URLs on every view was a
    # measurable part of the invoice page's time.
    return _urls_under(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@portal_session_required
@require_GET
def home(request):
    session = request.portal_session
    just_paid = request.GET.get("paid") == "1"
    if just_paid:
        _record_paid(session)
    summary = portal_summary(invoice=_invoice(request))
    invoice = summary.invoice
    portal_invoice_viewed(session=session)
    in_flight = ""
    if summary.payment_processing:
        in_flight = "processing"
    elif just_paid and checkout_confirming_for_session(session=session):
        in_flight = "confirming"
    context = _base_context(
        request,
        invoice,
        summary=summary,
        banners=_banners(
            invoice,
            summary,
            just_paid=just_paid,
            in_flight=in_flight,
            cancelled=request.GET.get("checkout") == "cancelled",
        ),
        today=org_today(invoice.organization),
        in_flight=in_flight,
        refresh_seconds=5 if in_flight == "confirming" else None,
        # The accepted plan's schedule, read only when the banner query found an open plan.
        plan=invoice_accepted_plan(invoice=invoice) if summary.open_plan else None,
    )
    return render(request, "portal/home.html", context)


def _closed(request, invoice: Invoice):
    """Actions on an invoice that is no longer open go back to the invoice page."""
    return None if invoice.is_open else redirect("portal:home")


@portal_session_required
@payer_csrf
@require_http_methods(["GET", "POST"])
def pay(request):
    session = request.portal_session
    invoice = _invoice(request)
    if closed := _closed(request, invoice):
        return closed
    if portal_summary(invoice=invoice).payment_processing:
        # A bank debit is on its way: paying again would pay twice (the banner explains).
        return redirect("portal:home")
    today = org_today(invoice.organization)
    provider = provider_for(invoice.organization)
    installment = invoice_next_installment(invoice=invoice)
    if request.method == "GET":
        portal_event_record(invoice=invoice, kind=Kind.PAY_CLICKED, session=session)
        form = PayForm(
            invoice=invoice, today=today, locale=payer_locale(request), installment=installment
        )
    else:
        form = PayForm(
            request.POST,
            invoice=invoice,
            today=today,
            locale=payer_locale(request),
            installment=installment,
        )
        if form.is_valid():
            home = reverse("portal:home")
            try:
                checkout = checkout_create(
                    invoice=invoice,
                    amount=form.cleaned_data["amount"],
                    portal_session_ref=str(session.public_id),
                    attempt=form.cleaned_data.get("attempt") or "",
                )
                url = provider.checkout_start(
                    checkout=checkout,
                    success_url=f"{home}?paid=1",
                    cancel_url=f"{home}?checkout=cancelled",
                )
            except LedgerError as exc:
                # A new attempt nonce: pressing Pay again must not replay the failed call
                # (a provider keeps an idempotent request's error for a day).
                data = request.POST.copy()
                data["attempt"] = new_attempt()
                form = PayForm(
                    data,
                    invoice=invoice,
                    today=today,
                    locale=payer_locale(request),
                    installment=installment,
                )
                form.is_valid()
                form.add_error("amount", str(exc))
            else:
                # 303: the browser follows with a GET to the provider's page, never re-posting.
                response = HttpResponseRedirect(url)
                response.status_code = 303
                return response
    response = render(
        request,
        "portal/pay.html",
        _base_context(request, invoice, form=form, provider=provider.name),
    )
    if hasattr(provider, "form_action_origins"):
        # The Pay form's redirect leads to the provider's own page: CSP `form-action` must
        # allow that origin, or the browser stops the payer on this page.
        response._csp_update = {"form-action": provider.form_action_origins()}
    return response


def _plan_rows_initial(invoice: Invoice, count: int, first_on: dt.date) -> dict:
    rows = plan_installments_even(
        total=invoice.balance, currency=invoice.currency, count=count, first_on=first_on
    )
    initial = {}
    for i, (due_on, amount) in enumerate(rows):
        initial[f"due_{i}"], initial[f"amount_{i}"] = due_on, str(amount)
    return initial


def _posted_rows(post) -> int:
    """How many installment rows the form posted (0 when it asked only to lay them out)."""
    count = 0
    while f"due_{count}" in post and count < 24:
        count += 1
    return count


@portal_session_required
@payer_csrf
@require_http_methods(["GET", "POST"])
def plan(request):
    session = request.portal_session
    invoice = _invoice(request)
    if closed := _closed(request, invoice):
        return closed
    today = org_today(invoice.organization)
    kwargs = {"invoice": invoice, "today": today, "locale": payer_locale(request)}
    if request.method == "GET":
        first_on = today + dt.timedelta(days=7)
        initial = {"count": 3, "first_on": first_on}
        try:
            initial.update(_plan_rows_initial(invoice, 3, first_on))
            rows = 3
        except LedgerError:
            rows = 0
        form = PlanForm(initial=initial, rows=rows, **kwargs)
        return render(request, "portal/plan.html", _base_context(request, invoice, form=form))

    head = PlanForm(request.POST, rows=0, **kwargs)
    submitting = request.POST.get("action") == "submit"
    posted = _posted_rows(request.POST)
    # Laying out the rows needs only the count and first date; the reason can come after.
    head.fields["reason"].required = submitting
    if not head.is_valid() and submitting and posted:
        # Keep the rows the payer typed beside the errors: never reset them to an even split.
        form = PlanForm(request.POST, rows=posted, **kwargs)
        form.is_valid()
        return render(request, "portal/plan.html", _base_context(request, invoice, form=form))
    if head.is_valid():
        count = head.cleaned_data["count"]
        if not submitting or posted != count:
            initial = {**head.cleaned_data}
            try:
                initial.update(_plan_rows_initial(invoice, count, head.cleaned_data["first_on"]))
            except LedgerError as exc:
                head.add_error("count", str(exc))
                return render(
                    request, "portal/plan.html", _base_context(request, invoice, form=head)
                )
            form = PlanForm(initial=initial, rows=count, **kwargs)
            return render(request, "portal/plan.html", _base_context(request, invoice, form=form))
        form = PlanForm(request.POST, rows=count, **kwargs)
        if form.is_valid():
            try:
                plan_propose(
                    invoice=invoice,
                    installments=form.installments(),
                    reason=form.cleaned_data["reason"],
                    contact=session.contact,
                    source="portal",
                    actor_label=payer_label(session.contact),
                )
            except LedgerError as exc:
                form.add_error(None, str(exc))
            else:
                portal_event_record(invoice=invoice, kind=Kind.PLAN_PROPOSED, session=session)
                return redirect("portal:home")
        return render(request, "portal/plan.html", _base_context(request, invoice, form=form))
    return render(request, "portal/plan.html", _base_context(request, invoice, form=head))


@portal_session_required
@payer_csrf
@require_http_methods(["GET", "POST"])
def promise(request):
    session = request.portal_session
    invoice = _invoice(request)
    if closed := _closed(request, invoice):
        return closed
    today = org_today(invoice.organization)
    form = PromiseForm(
        request.POST or None, invoice=invoice, today=today, locale=payer_locale(request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            promise_create(
                invoice=invoice,
                amount=form.cleaned_data["amount"],
                promised_on=form.cleaned_data["promised_on"],
                note=form.cleaned_data["note"],
                contact=session.contact,
                source="portal",
                actor_label=payer_label(session.contact),
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            portal_event_record(invoice=invoice, kind=Kind.PROMISE_MADE, session=session)
            return redirect("portal:home")
    return render(request, "portal/promise.html", _base_context(request, invoice, form=form))


def _reason_choices():
    return ReasonCode.choices


@portal_session_required
@payer_csrf
@require_http_methods(["GET", "POST"])
def dispute(request):
    session = request.portal_session
    invoice = _invoice(request)
    if closed := _closed(request, invoice):
        return closed
    kwargs = {
        "invoice": invoice,
        "today": org_today(invoice.organization),
        "reason_choices": _reason_choices(),
        "locale": payer_locale(request),
    }
    if request.method == "POST":
        form = DisputeForm(request.POST, request.FILES, **kwargs)
        if form.is_valid():
            try:
                dispute_file(
                    invoice=invoice,
                    reason_code=form.cleaned_data["reason_code"],
                    amount=form.cleaned_data["amount"],
                    description=form.cleaned_data["description"],
                    attachments=form.cleaned_data["attachments"],
                    contact=session.contact,
                    source="portal",
                    actor_label=payer_label(session.contact),
                )
            except AttachmentRejected as exc:
                form.add_error("attachments", str(exc))
            except LedgerError as exc:
                form.add_error(None, str(exc))
            else:
                portal_event_record(invoice=invoice, kind=Kind.DISPUTE_FILED, session=session)
                return redirect("portal:home")
    else:
        form = DisputeForm(**kwargs)
    return render(request, "portal/dispute.html", _base_context(request, invoice, form=form))


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@portal_session_required
@require_GET
def invoice_pdf(request):
    invoice = _invoice(request)
    return _pdf(render_invoice(invoice), pdf_filename("invoice", invoice.number))


@portal_session_required
@require_GET
def receipt_pdf(request, receipt_id):
    receipt = receipt_for_invoice(invoice=_invoice(request), public_id=receipt_id)
    if receipt is None:
        raise Http404("No receipt with that id.")
    return _pdf(render_receipt(receipt), pdf_filename("receipt", receipt.number))


@portal_session_required
@payer_csrf
@require_POST
def leave(request):
    """End the portal session on this device (a shared computer, say)."""
    request.session.pop(SESSION_KEY, None)
    context = {
        "title": "You have left the portal",
        "lead": "This device no longer has access to the invoice.",
        "body": "To come back, ask for a new link below; we will email it to the contact on "
        "file for the invoice.",
        "status": 200,
    }
    return render(request, "portal/message.html", context)


@public
@payer_csrf
@require_http_methods(["GET", "POST"])
def renew(request):
    """PORTAL-10: a fresh link by email, to the contact on file only. The answer is the same
    whether the link was known, used, expired or made up, and never shows an address."""
    if request.method == "GET":
        context = {
            "title": "Get a new payment link",
            "lead": "We will email a new link to the contact we have on file for your invoice.",
            "renew": True,
            "renew_form": RenewForm(initial={"token": request.GET.get("token", "")}),
            "status": 200,
        }
        return render(request, "portal/message.html", context)
    form = RenewForm(request.POST)
    invoice = contact = None
    token = form.cleaned_data["token"] if form.is_valid() else ""
    if token:
        link = link_for_token(token)
        if link is not None:
            invoice, contact = link.invoice, link.contact
    else:
        session = portal_session_lookup(request.session.get(SESSION_KEY))
        if session is not None:
            invoice, contact = session.invoice, session.contact
    portal_link_renew(invoice=invoice, contact=contact)
    context = {
        "title": "Check your email",
        "lead": "If the link belongs to an invoice that is still open, we have sent a new link "
        "to the email address we have on file for it.",
        "body": "It can take a few minutes to arrive. If nothing comes, contact the company that "
        "sent you the invoice.",
        "status": 200,
    }
    return render(request, "portal/message.html", context)


@public
@require_GET
def demo_portal(request):
    """PORTAL-8: the portal with made-up data; no token, nothing read or written."""
    return demo.render_demo(request)


# --- staff ----------------------------------------------------------------------------------


@requires(Cap.PORTAL_LINKS)
@require_POST
def link_regenerate(request, invoice_id):
    """Issue a new payer link (revoking every earlier one) and show it, this once."""
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    try:
        link, path = portal_link_issue(invoice=invoice, actor=request.user)
    except LedgerError as exc:
        messages.error(request, str(exc))
        return redirect("ledger:invoice-detail", invoice_id=invoice.public_id)
    context = {"invoice": invoice, "link": link, "url": request.build_absolute_uri(path)}
    response = render(request, "portal/staff_link.html", context)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
