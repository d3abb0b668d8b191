"""Invoices, customers and payments: lists, details and the invoice actions.

Every read goes through `ledger.selectors` (scoped to the organization and, for Sales and CSMs,
to their own accounts); every write through `ledger.services`.
"""

import uuid
from decimal import Decimal
from functools import partial

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from plixo.approvals.limits import approval_check
from plixo.approvals.selectors import approvals_pending_for_invoice
from plixo.approvals.services import invoice_write_off_or_request
from plixo.commitments.selectors import invoice_commitments
from plixo.commitments.views import invoice_commitment_actions
from plixo.core.access import requires
from plixo.core.models import Membership
from plixo.core.paging import UNCOUNTED, BadCursor, Count, Page, keyset_page
from plixo.core.permissions import Cap, role_can
from plixo.core.templatetags.plixo import money_text
from plixo.disputes.selectors import invoice_dispute_card
from plixo.ledger.forms import (
    CustomerFilterForm,
    CustomerTeamForm,
    InvoiceFilterForm,
    PaymentFilterForm,
    RecordPaymentForm,
    RemainderDisputeForm,
    RemainderPromiseForm,
    VoidForm,
    WriteOffForm,
)
from plixo.ledger.models import (
    INVOICE_TRANSITIONS,
    OPEN_STATUSES,
    Invoice,
    InvoiceStatus,
    LedgerError,
)
from plixo.ledger.selectors import (
    INVOICE_SORTS,
    MONEY_SORTS,
    PAYMENT_LIST_ORDER,
    customer_aging,
    customer_for,
    customer_list,
    customer_list_ordering,
    customer_open_balances,
    customers_open_balances,
    invoice_allocations,
    invoice_for,
    invoice_list,
    invoice_list_currency,
    invoice_ordering,
    invoice_refunds,
    invoice_search,
    invoice_status_counts,
    invoice_timeline,
    open_currencies,
    open_promises_total,
    org_today,
    payment_list,
    payment_search,
)
from plixo.ledger.services import (
    AllocationRequest,
    customer_update,
    invoice_void,
    payment_record,
)

PAGE_SIZE = 50


# --- invoices --------------------------------------------------------------------------------


# Statuses an overdue filter can combine with: it only ever matches open invoices, so a chip
# for a closed status drops it rather than lead to an empty list.
_OPEN_CHIP_VALUES = {"", "open", *OPEN_STATUSES}


def _status_chips(request, counts: dict[str, Count], active: str, overdue: str) -> list[dict]:
    """Status filter chips with each status's count under the other filters (search, customer,
    currency, age), counted up to a cap. A chip is active only when it is the current status
    filter; "All" also needs no age filter, as an age filter shows open invoices only. "All"
    clears both; the other chips keep the search, customer and sort."""
    chips = [("", "All", counts[""]), ("open", "All open", counts["open"])]
    chips += [
        (status, label, counts[status])
        for status, label in InvoiceStatus.choices
        if status != InvoiceStatus.OPEN
    ]
    result = []
    for value, label, count in chips:
        params = request.GET.copy()
        params.pop("page", None)
        params.pop("cursor", None)
        if value:
            params["status"] = value
        else:
            params.pop("status", None)
        if not value or value not in _OPEN_CHIP_VALUES:
            params.pop("overdue", None)
        result.append(
            {
                "value": value,
                "label": label,
                "count": count,
                "active": value == active and bool(value or not overdue),
                "query": params.urlencode(),
            }
        )
    return result


def _cursor_page(
    request, queryset, ordering, count: Count | None = None, few: bool = False
) -> Page:
    """A page of a long list from the `cursor` in the query; a cursor this list did not make
    (edited, or from another sort) shows the first page with a word why."""
    page = partial(keyset_page, queryset, ordering=ordering, limit=PAGE_SIZE, count=count, few=few)
    try:
        return page(cursor=request.GET.get("cursor"))
    except BadCursor as exc:
        messages.error(request, str(exc))
        return page(cursor=None)


_SENTINEL = uuid.UUID(int=0)


def _link_maker(name: str, kwarg: str):
    """`reverse` once per page: a list page would otherwise reverse the same pattern for every
    row, which costs more than its queries."""
    template = reverse(name, kwargs={kwarg: _SENTINEL})
    return lambda public_id: template.replace(str(_SENTINEL), str(public_id))


def _prepare_rows(invoices) -> None:
    """What each row of the invoice list shows, computed once per page: links and dates (each
    distinct date formatted once)."""
    invoice_link = _link_maker("ledger:invoice-detail", "invoice_id")
    customer_link = _link_maker("ledger:customer-detail", "customer_id")
    dates: dict = {}

    def day(value):
        if value not in dates:
            dates[value] = date_format(value, "M j, Y")
        return dates[value]

    for invoice in invoices:
        invoice.detail_url = invoice_link(invoice.public_id)
        invoice.customer_url = customer_link(invoice.customer.public_id)
        invoice.issue_text = day(invoice.issue_date)
        invoice.due_text = day(invoice.due_date)


@requires(Cap.LEDGER_VIEW)
def invoice_list_view(request):
    membership = request.membership
    organization = request.organization
    today = org_today(organization)
    form = InvoiceFilterForm(request.GET, membership=membership)
    sort = request.GET.get("sort", "")
    if sort not in INVOICE_SORTS:
        sort = ""
    currency = ""
    if form.is_valid():
        data = form.cleaned_data
        currency = invoice_list_currency(
            membership=membership, sort=sort or None, currency=data["currency"]
        )
        search = invoice_search(membership=membership, term=data["q"]) if data["q"] else None
        filters = {
            "membership": membership,
            "customer": data["customer"],
            "overdue": data["overdue"] or None,
            "search": search,
            "sort": sort or None,
            "currency": currency,
            "today": today,
        }
        invoices = invoice_list(status=data["status"] or None, **filters)
        # Counts do not depend on the order (the currency is already resolved above).
        counts = invoice_status_counts(
            base=invoice_list(**{**filters, "sort": None}), search=search
        )
        active_status, customer = data["status"], data["customer"]
        overdue = data["overdue"]
    else:
        # An invalid filter shows an error and no rows, so no chip may claim to be applied.
        invoices, active_status, customer, overdue = Invoice.objects.none(), None, None, ""
        search = None
        counts = invoice_status_counts(base=Invoice.objects.none())
    shown = counts[active_status or ""] if active_status is not None else counts[""]
    page = _cursor_page(
        request,
        invoices,
        invoice_ordering(sort or None),
        count=shown,
        few=search is not None and not search.broad,
    )
    _prepare_rows(page.rows)
    context = {
        "form": form,
        "page": page,
        "sort": sort,
        "today": today,
        "customer": customer,
        "currency": currency,
        "currencies": open_currencies(organization=organization),
        "money_sort": sort in MONEY_SORTS,
        "broad_search": search is not None and search.broad,
        "chips": _status_chips(request, counts, active_status, overdue),
        "filtered": any(
            request.GET.get(key) for key in ("q", "status", "overdue", "customer", "currency")
        ),
    }
    return render(request, "ledger/invoice_list.html", context)


def _invoice_page(request, invoice: Invoice, *, bound=None, status=200):
    """The invoice page; `bound` holds a submitted action form to show with its errors."""
    membership = request.membership
    organization = request.organization
    invoice.organization = organization
    today = org_today(organization)
    allocations = list(invoice_allocations(invoice=invoice))
    refunds = list(invoice_refunds(invoice=invoice))
    bound = bound or {}

    def can(cap):
        return role_can(membership.role, cap)

    actions = {}
    if invoice.is_open and can(Cap.PAYMENTS_RECORD):
        actions["payment"] = bound.get("payment") or RecordPaymentForm(invoice=invoice, today=today)
    if (
        InvoiceStatus.VOID in INVOICE_TRANSITIONS[invoice.status]
        and not allocations
        and can(Cap.INVOICES_VOID)
    ):
        actions["void"] = bound.get("void") or VoidForm()
    writeoff_guardrail = None
    if invoice.is_open and can(Cap.INVOICES_WRITE_OFF):
        actions["writeoff"] = bound.get("writeoff") or WriteOffForm(invoice=invoice)
        # Said before the form is sent: writing off the whole balance needs approval.
        writeoff_guardrail = approval_check(
            organization=organization,
            actor=request.user,
            kind="write_off",
            amount=invoice.balance,
            currency=invoice.currency,
        )
    # PAY-4: after a partial payment, one click to promise the rest or dispute it.
    partly_paid = invoice.status == InvoiceStatus.PARTIALLY_PAID
    promised = open_promises_total(invoice=invoice) if partly_paid else None
    if partly_paid and can(Cap.LEDGER_EDIT):
        if promised is None or promised.amount < invoice.balance:
            actions["remainder_promise"] = bound.get("remainder_promise") or RemainderPromiseForm(
                today=today
            )
        actions["remainder_dispute"] = bound.get("remainder_dispute") or RemainderDisputeForm(
            invoice=invoice
        )
    actions.update(invoice_commitment_actions(request=request, invoice=invoice, today=today))
    # A refused action stays on the page with its error, even when the invoice's state no
    # longer offers it (another user may have changed the invoice meanwhile).
    actions.update(bound)
    context = {
        "invoice": invoice,
        "customer": invoice.customer,
        "today": today,
        "allocations": allocations,
        "refunds": refunds,
        "remainder_promised": promised,
        "remainder_to_promise": invoice.balance - (promised.amount if promised else 0),
        "adjustments": invoice.adjustments.select_related("created_by").order_by("created_at"),
        "timeline": invoice_timeline(invoice=invoice),
        "actions": actions,
        "open_action": next(iter(bound), ""),
        # Net of refunds and chargebacks, so amount − paid − adjustments = balance.
        "paid_so_far": sum((a.amount for a in allocations), Decimal("0"))
        - sum((r.amount for r in refunds), Decimal("0")),
        "commitments": invoice_commitments(invoice=invoice),
        "writeoff_guardrail": writeoff_guardrail,
        "pending_approvals": approvals_pending_for_invoice(invoice=invoice),
        **invoice_dispute_card(membership=membership, invoice=invoice),
    }
    return render(request, "ledger/invoice_detail.html", context, status=status)


invoice_page = _invoice_page  # the commitments' actions render their refusals on this page


@requires(Cap.LEDGER_VIEW)
def invoice_detail(request, invoice_id):
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    return _invoice_page(request, invoice)


@requires(Cap.PAYMENTS_RECORD)
@require_POST
def invoice_record_payment(request, invoice_id):
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    invoice.organization = request.organization
    form = RecordPaymentForm(request.POST, invoice=invoice, today=org_today(request.organization))
    if form.is_valid():
        amount = form.cleaned_data["amount"]
        applied = min(amount, invoice.balance)
        try:
            payment = payment_record(
                organization=request.organization,
                reference=form.cleaned_data["reference"],
                amount=amount,
                currency=invoice.currency,
                received_at=form.received_at(),
                method=form.cleaned_data["method"],
                customer=invoice.customer,
                allocations=[AllocationRequest(invoice=invoice, amount=applied)]
                if applied > 0
                else [],
                memo=form.cleaned_data["memo"],
                actor=request.user,
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            text = f"Payment {payment.reference} recorded: {money_text(applied, invoice.currency)}"
            text += f" applied to {invoice.number}."
            if payment.unapplied_amount:
                unapplied = money_text(payment.unapplied_amount, invoice.currency)
                text += f" {unapplied} is unapplied."
            messages.success(request, text)
            return redirect("ledger:invoice-detail", invoice_id=invoice.public_id)
    return _invoice_page(request, invoice, bound={"payment": form})


def _redirect_to(invoice: Invoice):
    return redirect("ledger:invoice-detail", invoice_id=invoice.public_id)


@requires(Cap.LEDGER_EDIT)
@require_POST
def invoice_promise_remainder(request, invoice_id):
    """PAY-4: record the payer's promise to pay the balance left after a partial payment."""
    from plixo.commitments.services import promise_create
    from plixo.ledger.selectors import invoice_primary_contact

    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    invoice.organization = request.organization
    form = RemainderPromiseForm(request.POST, today=org_today(request.organization))
    if form.is_valid():
        try:
            promised = open_promises_total(invoice=invoice)
            uncovered = invoice.balance - (promised.amount if promised else 0)
            promise = promise_create(
                invoice=invoice,
                amount=uncovered if uncovered > 0 else invoice.balance,
                promised_on=form.cleaned_data["promised_on"],
                contact=invoice_primary_contact(invoice=invoice),
                note=form.cleaned_data["note"],
                actor=request.user,
                supersede=False,
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Promise recorded: {money_text(promise.amount, invoice.currency)} by "
                f"{promise.promised_on:%b %-d, %Y}. Reminders pause until then.",
            )
            return _redirect_to(invoice)
    return _invoice_page(request, invoice, bound={"remainder_promise": form}, status=400)


@requires(Cap.LEDGER_EDIT)
@require_POST
def invoice_dispute_remainder(request, invoice_id):
    """PAY-4: the balance left after a partial payment is disputed (a short payment)."""
    from plixo.disputes.services import dispute_file

    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    invoice.organization = request.organization
    form = RemainderDisputeForm(request.POST, invoice=invoice)
    if form.is_valid():
        try:
            dispute_file(
                invoice=invoice,
                reason_code=form.cleaned_data["reason_code"],
                amount=invoice.balance,
                description=form.cleaned_data["description"],
                actor=request.user,
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Dispute opened for {money_text(invoice.balance, invoice.currency)}; the "
                "invoice is disputed and reminders pause.",
            )
            return _redirect_to(invoice)
    return _invoice_page(request, invoice, bound={"remainder_dispute": form}, status=400)


@requires(Cap.INVOICES_VOID)
@require_POST
def invoice_void_view(request, invoice_id):
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            invoice_void(invoice=invoice, actor=request.user, reason=form.cleaned_data["reason"])
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Invoice {invoice.number} is void.")
            return redirect("ledger:invoice-detail", invoice_id=invoice.public_id)
    return _invoice_page(request, invoice, bound={"void": form})


@requires(Cap.INVOICES_WRITE_OFF)
@require_POST
def invoice_write_off_view(request, invoice_id):
    invoice = invoice_for(membership=request.membership, public_id=invoice_id)
    form = WriteOffForm(request.POST, invoice=invoice)
    if form.is_valid():
        try:
            # Above the member's approval limit this asks for approval instead (COMMIT-3).
            result = invoice_write_off_or_request(
                invoice=invoice,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                amount=form.cleaned_data["amount"],
            )
        except LedgerError as exc:
            form.add_error(None, str(exc))
        else:
            if result.approval is not None:
                messages.warning(
                    request,
                    f"{result.approval.guardrail}. Nothing was written off: the request is in "
                    "the Approvals inbox with your reason as its rationale.",
                )
                return redirect("ledger:invoice-detail", invoice_id=invoice.public_id)
            updated = result.invoice
            written = invoice.balance - updated.balance
            messages.success(
                request,
                f"{money_text(written, invoice.currency)} of {invoice.number} written off.",
            )
            return redirect("ledger:invoice-detail", invoice_id=invoice.public_id)
    return _invoice_page(request, invoice, bound={"writeoff": form})


# --- customers -------------------------------------------------------------------------------


@requires(Cap.LEDGER_VIEW)
def customer_list_view(request):
    organization = request.organization
    form = CustomerFilterForm(request.GET, currencies=open_currencies(organization=organization))
    data = form.cleaned_data if form.is_valid() else {"q": "", "currency": "", "sort": ""}
    sort = data["sort"] or "name"
    currency = data["currency"] or (
        organization.base_currency if sort.lstrip("-") == "balance" else ""
    )
    customers = customer_list(
        membership=request.membership, search=data["q"] or None, currency=currency, sort=sort
    )
    page = _cursor_page(request, customers, customer_list_ordering(sort))
    shown = page.rows
    balances = customers_open_balances(customers=shown)
    customer_link = _link_maker("ledger:customer-detail", "customer_id")
    invoices_url = reverse("ledger:invoice-list")
    for customer in shown:
        customer.detail_url = customer_link(customer.public_id)
        customer.open_invoices_url = f"{invoices_url}?customer={customer.public_id}&status=open"
        # The chosen currency first, else the customer's own: the one most invoices use.
        first = currency or customer.currency
        customer.open_rows = sorted(
            balances.get(customer.pk, []),
            key=lambda row, first=first: (row["currency"] != first, row["currency"]),
        )
        customer.open_invoices = sum(row["count"] for row in customer.open_rows)
    return render(
        request,
        "ledger/customer_list.html",
        {
            "form": form,
            "page": page,
            "search": data["q"],
            "currency": currency,
            "sorted_by_balance": sort.lstrip("-") == "balance",
            "filtered": bool(data["q"] or data["currency"] or data["sort"]),
        },
    )


RECENT_INVOICES = 20
RECENT_PAYMENTS = 10


@requires(Cap.LEDGER_VIEW)
def customer_detail(request, customer_id):
    customer = customer_for(membership=request.membership, public_id=customer_id)
    customer.organization = request.organization
    today = org_today(request.organization)
    open_invoices = customer.invoices.filter(status__in=OPEN_STATUSES).order_by("due_date")
    team_form = None
    if role_can(request.membership.role, Cap.QUEUE_TEAM):
        team_form = CustomerTeamForm(
            organization=request.organization,
            initial={
                "owner": _membership_id(request.organization, customer.owner_id),
                "collector": _membership_id(request.organization, customer.collector_id),
            },
        )
    context = {
        "customer": customer,
        "team_form": team_form,
        "today": today,
        "contacts": customer.contacts.all(),
        "aging": customer_aging(customer=customer, today=today),
        "balances": customer_open_balances(customer=customer),
        "open_invoices": open_invoices[:RECENT_INVOICES],
        "open_invoice_count": open_invoices.count(),
        "payments": customer.payments.order_by("-received_at", "-id")[:RECENT_PAYMENTS],
    }
    return render(request, "ledger/customer_detail.html", context)


def _membership_id(organization, user_id) -> str:
    if user_id is None:
        return ""
    found = Membership.objects.filter(organization=organization, user_id=user_id).first()
    return str(found.public_id) if found else ""


@requires(Cap.QUEUE_TEAM)
@require_POST
def customer_team(request, customer_id):
    """Set who follows a customer: its owner and its collector (whose queue holds it)."""
    customer = customer_for(membership=request.membership, public_id=customer_id)
    form = CustomerTeamForm(request.POST, organization=request.organization)
    url = reverse("ledger:customer-detail", kwargs={"customer_id": customer.public_id})
    if not form.is_valid():
        messages.error(request, "Choose members of this organization from the lists.")
        return redirect(url)
    try:
        customer_update(
            customer=customer, owner=form.user_for("owner"), collector=form.user_for("collector")
        )
    except LedgerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{customer.name}: account team saved.")
    return redirect(url)


# --- payments --------------------------------------------------------------------------------


@requires(Cap.LEDGER_VIEW)
def payment_list_view(request):
    form = PaymentFilterForm(request.GET)
    form.is_valid()  # an invalid search lists without it and says why; the checkbox still holds
    data = {"q": "", "unapplied": False, **form.cleaned_data}
    search = payment_search(membership=request.membership, term=data["q"]) if data["q"] else None
    broad = search is not None and search.broad
    payments = payment_list(
        membership=request.membership, search=search, unapplied_only=data["unapplied"]
    )
    page = _cursor_page(request, payments, PAYMENT_LIST_ORDER, count=UNCOUNTED if broad else None)
    return render(
        request,
        "ledger/payment_list.html",
        {"form": form, "page": page, "filtered": bool(data["q"]), "broad_search": broad},
    )
