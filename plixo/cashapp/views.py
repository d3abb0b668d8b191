"""The Cash App page: upload a statement, the receipts with their suggestions and reasons,
the unapplied cash queue, and one-click apply, split, reject and undo (htmx swaps the receipt's
row; without JavaScript each action posts and comes back to the page)."""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from plixo.cashapp import selectors, services
from plixo.cashapp.forms import CashSettingsForm, StatementUploadForm
from plixo.cashapp.models import CashError
from plixo.core.access import requires
from plixo.core.permissions import Cap
from plixo.ledger.selectors import invoices_visible

PAGE_SIZE = 25
TABS = {
    "unapplied": "Unapplied queue",
    "applied": "Applied",
    "rejected": "Not payments",
    "payout": "Stripe payouts",
    "all": "All",
}


@requires(Cap.CASH_APPLY)
def cash_index(request):
    organization = request.organization
    form = StatementUploadForm()
    if request.method == "POST":
        form = StatementUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                statement = services.statement_import(
                    organization=organization,
                    data=upload.read(),
                    file_name=upload.name,
                    format=form.cleaned_data["format"] or None,
                    default_currency=form.cleaned_data["currency"],
                    actor=request.user,
                )
            except CashError as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(
                    request,
                    f"{statement.original_name}: {statement.receipts} new receipts "
                    f"({statement.auto_applied} applied, {statement.suggested} to review, "
                    f"{statement.unmatched} unmatched), "
                    + (
                        f"{statement.payouts} Stripe payouts reconciled, "
                        if statement.payouts
                        else ""
                    )
                    + f"{statement.duplicates} already imported, "
                    f"{statement.rejected} lines rejected.",
                )
                return redirect(f"{reverse('cashapp:index')}?statement={statement.public_id}")
    tab = request.GET.get("tab", "unapplied")
    if tab not in TABS:
        tab = "unapplied"
    statement = None
    if request.GET.get("statement"):
        try:
            statement = selectors.statement_for(
                organization=organization, public_id=request.GET["statement"]
            )
        except (Http404, ValidationError):  # a malformed or foreign id: the whole list
            statement = None
        if statement is not None and "tab" not in request.GET:
            tab = "all"
    receipts = selectors.receipt_list(
        organization=organization,
        statement=statement,
        status=None if tab == "all" else tab,
    )
    page = Paginator(receipts, PAGE_SIZE).get_page(request.GET.get("page"))
    settings = services.cash_settings_for(organization)
    context = {
        "form": form,
        "tab": tab,
        "tabs": TABS,
        "statement": statement,
        "page": page,
        "statements": selectors.statement_list(organization=organization)[:10],
        "unapplied": selectors.unapplied_totals(organization=organization),
        "settings_form": CashSettingsForm(
            initial={
                "auto_apply": settings.auto_apply,
                "auto_apply_threshold": settings.auto_apply_threshold,
            }
        ),
    }
    return render(request, "cashapp/index.html", context)


def _done(request, receipt, message: str | None = None, error: str | None = None):
    """The receipt's row again (htmx), or back to the page with a message."""
    if request.htmx and receipt is not None:
        found = selectors.receipt_list(organization=request.organization).get(pk=receipt.pk)
        return render(
            request, "cashapp/_receipt.html", {"receipt": found, "error": error, "notice": message}
        )
    if error:
        messages.error(request, error)
    elif message:
        messages.success(request, message)
    back = request.POST.get("next", "")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("cashapp:index")
    return redirect(back)


def _receipt(request):
    public_id = request.POST.get("receipt", "")
    if not public_id:
        return None
    return selectors.receipt_for(organization=request.organization, public_id=public_id)


@requires(Cap.CASH_APPLY)
@require_POST
def cash_apply(request):
    if not request.POST.get("suggestion"):
        return _done(request, None, error="Choose a suggestion to apply.")
    suggestion = selectors.suggestion_for(
        organization=request.organization, public_id=request.POST["suggestion"]
    )
    try:
        services.suggestion_apply(suggestion=suggestion, actor=request.user)
    except CashError as exc:
        return _done(request, suggestion.receipt, error=str(exc))
    return _done(request, suggestion.receipt, message="Applied.")


@requires(Cap.CASH_APPLY)
@require_POST
def cash_reject(request):
    if not request.POST.get("suggestion"):
        return _done(request, None, error="Choose a suggestion to reject.")
    suggestion = selectors.suggestion_for(
        organization=request.organization, public_id=request.POST["suggestion"]
    )
    try:
        services.suggestion_reject(suggestion=suggestion, actor=request.user)
    except CashError as exc:
        return _done(request, suggestion.receipt, error=str(exc))
    return _done(request, suggestion.receipt, message="Suggestion rejected.")


@requires(Cap.CASH_APPLY)
@require_POST
def cash_split(request):
    receipt = _receipt(request)
    if receipt is None:
        return _done(request, None, error="Choose a receipt.")
    numbers = request.POST.getlist("invoice")[:20]
    amounts = request.POST.getlist("amount")[:20]
    allocations = []
    invoices = invoices_visible(membership=request.membership)
    for number, amount in zip(numbers, amounts, strict=False):
        number, amount = number.strip(), amount.strip()
        if not number and not amount:
            continue
        invoice = invoices.filter(number=number).first() if number else None
        if invoice is None:
            return _done(request, receipt, error=f"No invoice numbered {number!r}.")
        try:
            value = Decimal(amount)
        except (InvalidOperation, ValueError):
            return _done(request, receipt, error=f"{amount!r} is not an amount.")
        allocations.append((invoice, value))
    try:
        services.receipt_apply(receipt=receipt, allocations=allocations, actor=request.user)
    except CashError as exc:
        return _done(request, receipt, error=str(exc))
    return _done(request, receipt, message="Applied.")


@requires(Cap.CASH_APPLY)
@require_POST
def cash_dismiss(request):
    receipt = _receipt(request)
    if receipt is None:
        return _done(request, None, error="Choose a receipt.")
    try:
        if request.POST.get("reopen"):
            services.receipt_reopen(receipt=receipt, actor=request.user)
        else:
            services.receipt_dismiss(receipt=receipt, actor=request.user)
    except CashError as exc:
        return _done(request, receipt, error=str(exc))
    return _done(request, receipt, message="Updated.")


@requires(Cap.CASH_APPLY)
@require_POST
def cash_undo(request):
    if not request.POST.get("application"):
        return _done(request, None, error="Choose an application to undo.")
    application = selectors.application_for(
        organization=request.organization, public_id=request.POST["application"]
    )
    try:
        services.application_undo(application=application, actor=request.user)
    except CashError as exc:
        return _done(request, application.receipt, error=str(exc))
    return _done(request, application.receipt, message="Undone: the invoices are open again.")


# How sure a match must be to be applied without a person is a policy, like the approval
# limits: the Controller's (who holds every capability) and the payment settings' owners'.
@requires(Cap.PAYMENTS_SETTINGS)
@require_POST
def cash_settings(request):
    form = CashSettingsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The auto-apply threshold is a confidence between 50 and 100.")
    else:
        services.cash_settings_update(organization=request.organization, **form.cleaned_data)
        messages.success(request, "Auto-apply settings saved.")
    return redirect("cashapp:index")
