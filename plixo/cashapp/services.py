"""Every write of cash application: import a statement, match, apply, split, reject, undo.

Applying money always goes through `plixo.ledger.services.payment_record` (one payment per
application, source "bank"), so balances, promises, plans, cadences and invoice timelines move
exactly as for any other payment; undo goes through `payment_reverse`. A receipt's row is
locked while its applications change, and `applied_amount` never passes its amount (the
database checks it too).
"""

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from plixo.cashapp import parsers, payouts
from plixo.cashapp.matching import Matcher, Proposal, name_key
from plixo.cashapp.models import (
    Application,
    ApplicationLine,
    CashError,
    CashSettings,
    PayerAlias,
    Receipt,
    ReceiptStatus,
    Statement,
    StatementFormat,
    Suggestion,
    SuggestionLine,
)
from plixo.core.models import Organization, User
from plixo.core.money import MoneyError, format_money, parse_amount
from plixo.ledger import services as ledger
from plixo.ledger.models import Invoice, LedgerError, PaymentMethod, PaymentSource

MAX_REJECTS_KEPT = 500
BULK = 1000


def cash_settings_for(organization: Organization) -> CashSettings:
    found = CashSettings.objects.filter(organization=organization).first()
    return found or CashSettings(organization=organization)


@transaction.atomic
def cash_settings_update(
    *, organization: Organization, auto_apply: bool, auto_apply_threshold: int
) -> CashSettings:
    if not 50 <= int(auto_apply_threshold) <= 100:
        raise CashError("The auto-apply threshold is a confidence between 50 and 100.")
    settings, _ = CashSettings.objects.update_or_create(
        organization=organization,
        defaults={"auto_apply": auto_apply, "auto_apply_threshold": int(auto_apply_threshold)},
    )
    return settings


# --- import ------------------------------------------------------------------------------


def _dedupe_key(line: parsers.CleanLine, seen: Counter) -> str:
    if line.bank_transaction_id:
        return f"id:{line.account}:{line.bank_transaction_id}"[:200]
    fields = "\x1f".join(
        [
            line.account,
            line.booked_on.isoformat(),
            str(line.amount),
            line.currency,
            line.payer_name,
            line.remittance,
            line.reference,
        ]
    )
    digest = hashlib.sha256(fields.encode()).hexdigest()
    # Two identical lines in one file are two payments; the n-th of them keeps its number
    # when the file comes again.
    seen[digest] += 1
    return f"hash:{digest}:{seen[digest]}"


def statement_import(
    *,
    organization: Organization,
    data: bytes,
    file_name: str = "",
    format: str | None = None,
    default_currency: str = "",
    actor: User | None = None,
    today: dt.date | None = None,
) -> Statement:
    """Read a bank statement, store its new credit lines as receipts, match them and apply
    those above the organization's threshold. Lines already imported (same bank transaction
    id, or the same fields) are counted as duplicates and left alone; unreadable lines are
    listed with their line number. A file that cannot be read at all raises CashError and
    writes nothing."""
    format = format or parsers.detect_format(data, file_name)
    if format not in StatementFormat.values:
        raise CashError(f"Unknown statement format {format!r}.")
    try:
        parsed = parsers.parse(data, format=format, default_currency=default_currency)
    except parsers.StatementRejected as exc:
        raise CashError(str(exc)) from exc
    today = today or timezone.now().date()
    rejects = [{"line": r.line, "message": r.message} for r in parsed.rejects]
    clean: list[parsers.CleanLine] = []
    for raw in parsed.lines:
        try:
            clean.append(parsers.clean_line(raw, today=today))
        except ValueError as exc:
            rejects.append({"line": raw.line, "message": str(exc)})
    rejects.sort(key=lambda r: r["line"])
    credits = [line for line in clean if line.amount > 0]
    seen: Counter = Counter()
    keyed = [(_dedupe_key(line, seen), line) for line in credits]

    with transaction.atomic():
        statement = Statement.objects.create(
            organization=organization,
            format=format,
            original_name=(file_name or "")[:255],
            sha256=hashlib.sha256(data).hexdigest(),
            account=parsed.account[:100],
            lines=len(parsed.lines) + len(parsed.rejects),
            debits=len(clean) - len(credits),
            rejected=len(rejects),
            rejects=rejects[:MAX_REJECTS_KEPT],
            notes=parsed.notes,
            created_by=actor,
        )
        existing: set[str] = set()
        keys = [key for key, _ in keyed]
        for start in range(0, len(keys), BULK):
            existing |= set(
                Receipt.objects.filter(
                    organization=organization, dedupe_key__in=keys[start : start + BULK]
                ).values_list("dedupe_key", flat=True)
            )
        new, duplicates = [], 0
        for key, line in keyed:
            if key in existing:
                duplicates += 1
                continue
            existing.add(key)
            new.append(
                Receipt(
                    organization=organization,
                    statement=statement,
                    dedupe_key=key,
                    line_number=line.line,
                    bank_transaction_id=line.bank_transaction_id,
                    account=line.account,
                    booked_on=line.booked_on,
                    amount=line.amount,
                    currency=line.currency,
                    payer_name=line.payer_name,
                    reference=line.reference,
                    remittance=line.remittance,
                )
            )
        try:
            with transaction.atomic():
                Receipt.objects.bulk_create(new, batch_size=BULK)
        except IntegrityError as exc:
            raise CashError(
                "The same statement lines are being imported at this moment; try again."
            ) from exc
        statement.receipts = len(new)
        statement.duplicates = duplicates
        statement.save(update_fields=["receipts", "duplicates"])

    receipts = list(Receipt.objects.filter(statement=statement).order_by("line_number", "pk"))
    counts = receipts_match_and_apply(organization=organization, receipts=receipts)
    Statement.objects.filter(pk=statement.pk).update(**counts)
    statement.refresh_from_db()
    return statement


def receipts_match_and_apply(*, organization: Organization, receipts: list[Receipt]) -> dict:
    """Suggest invoices for each receipt and apply the best suggestion when it reaches the
    organization's threshold. Returns counts: auto_applied, suggested, unmatched."""
    settings = cash_settings_for(organization)
    counts = {"auto_applied": 0, "suggested": 0, "unmatched": 0, "payouts": 0}
    matcher = Matcher(organization)
    for start in range(0, len(receipts), BULK):
        chunk = receipts[start : start + BULK]
        # Stripe payouts carry payments recorded from Stripe already: reconciled with their
        # payout, or left waiting for it, never matched to invoices a second time.
        payout_lines = [receipt for receipt in chunk if payouts.looks_like_payout(receipt)]
        for receipt in payout_lines:
            payout = payouts.payout_for(receipt)
            if payout is None:
                counts["unmatched"] += 1
            else:
                payouts.receipt_reconcile(receipt=receipt, payout=payout)
                counts["payouts"] += 1
        aside = {receipt.pk for receipt in payout_lines}
        chunk = [receipt for receipt in chunk if receipt.pk not in aside]
        proposals = matcher.match(chunk)
        suggestions_by_receipt = _suggestions_store(chunk, proposals)
        # One transaction per chunk (one commit, not one per line); each application is a
        # savepoint inside it, so a line that cannot be applied leaves the others be.
        with transaction.atomic():
            _auto_apply(chunk, suggestions_by_receipt, settings, counts)
    return counts


def _auto_apply(chunk, suggestions_by_receipt, settings, counts) -> None:
    for receipt in chunk:
        found = suggestions_by_receipt.get(receipt.pk, [])
        best = found[0] if found else None
        if (
            best is not None
            and settings.auto_apply
            and best.confidence >= settings.auto_apply_threshold
        ):
            try:
                suggestion_apply(suggestion=best, actor=None, automatic=True)
            except (CashError, LedgerError):
                # The invoices moved since the match (another line paid them): it stays
                # a suggestion for a person to look at.
                pass
            else:
                counts["auto_applied"] += 1
                continue
        counts["suggested" if best else "unmatched"] += 1


@transaction.atomic
def _suggestions_store(receipts: list[Receipt], proposals: dict[int, list[Proposal]]) -> dict:
    stored: dict[int, list[Suggestion]] = {}
    lines = []
    for receipt in receipts:
        made = []
        for proposal in proposals.get(receipt.pk, []):
            suggestion = Suggestion(
                organization_id=receipt.organization_id,
                receipt=receipt,
                confidence=max(0, min(100, proposal.confidence)),
                explanation=proposal.explanation[:2000],
                rule=proposal.rule,
            )
            made.append((suggestion, proposal))
        if made:
            Suggestion.objects.bulk_create([s for s, _ in made])
            stored[receipt.pk] = [s for s, _ in made]
            for suggestion, proposal in made:
                lines += [
                    SuggestionLine(suggestion=suggestion, invoice_id=invoice.id, amount=amount)
                    for invoice, amount in proposal.allocations
                ]
            Receipt.objects.filter(pk=receipt.pk, status=ReceiptStatus.UNMATCHED).update(
                status=ReceiptStatus.SUGGESTED
            )
            receipt.status = ReceiptStatus.SUGGESTED
    SuggestionLine.objects.bulk_create(lines, batch_size=BULK)
    return stored


@transaction.atomic
def receipt_rematch(*, receipt: Receipt) -> list[Suggestion]:
    """Match a receipt again (after invoices were imported or an undo): open suggestions are
    replaced."""
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    receipt.suggestions.filter(status=Suggestion.Status.OPEN).delete()
    if receipt.status == ReceiptStatus.REJECTED or receipt.unapplied_amount <= 0:
        return []
    proposals = Matcher(receipt.organization).match([receipt])
    stored = _suggestions_store([receipt], proposals).get(receipt.pk, [])
    receipt.status = receipt.status_after_money(has_suggestion=bool(stored))
    receipt.save(update_fields=["status", "updated_at"])
    return stored


# --- applying ----------------------------------------------------------------------------


def _received_at(receipt: Receipt) -> dt.datetime:
    return dt.datetime.combine(receipt.booked_on, dt.time(12), tzinfo=dt.UTC)


@transaction.atomic
def receipt_apply(
    *,
    receipt: Receipt,
    allocations: Iterable[tuple[Invoice, Decimal | str]],
    actor: User | None,
    automatic: bool = False,
    confidence: int | None = None,
    explanation: str = "",
) -> Application:
    """Apply part or all of a receipt to invoices (one click or a split): one ledger payment
    for the total, never more than what is left of the receipt."""
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    if receipt.status == ReceiptStatus.REJECTED:
        raise CashError("This receipt was marked as not a customer payment; reopen it first.")
    if receipt.status == ReceiptStatus.PAYOUT:
        raise CashError(
            "This line is a Stripe payout: the payments it carries were recorded from Stripe "
            "and cannot be applied to invoices again."
        )
    wanted: list[tuple[Invoice, Decimal]] = []
    for invoice, amount in allocations:
        if invoice.organization_id != receipt.organization_id:
            raise CashError("That invoice belongs to another organization.")
        try:
            amount = parse_amount(amount, receipt.currency)
        except MoneyError as exc:
            raise CashError(f"Invoice {invoice.number}: {exc}") from exc
        if amount <= 0:
            raise CashError(f"Invoice {invoice.number}: apply more than zero.")
        wanted.append((invoice, amount))
    if not wanted:
        raise CashError("Choose at least one invoice and an amount.")
    total = sum((amount for _, amount in wanted), Decimal("0"))
    if total > receipt.unapplied_amount:
        raise CashError(
            f"That applies {format_money(total, receipt.currency)}, more than the "
            f"{format_money(receipt.unapplied_amount, receipt.currency)} left on this receipt."
        )
    application = Application(
        organization_id=receipt.organization_id,
        receipt=receipt,
        amount=total,
        currency=receipt.currency,
        automatic=automatic,
        confidence=confidence,
        explanation=explanation[:2000],
        created_by=actor,
    )
    application.payment_reference = f"BANK-{application.public_id.hex[:20]}"
    memo = " · ".join(p for p in (receipt.payer_name, receipt.remittance) if p)[:500]
    try:
        payment = ledger.payment_record(
            organization=receipt.organization,
            reference=application.payment_reference,
            amount=total,
            currency=receipt.currency,
            received_at=_received_at(receipt),
            method=PaymentMethod.WIRE,
            source=PaymentSource.BANK,
            allocations=[ledger.AllocationRequest(invoice=i, amount=a) for i, a in wanted],
            memo=memo,
            actor=actor,
            actor_label=None if actor else "Cash App (auto-apply)",
        )
    except LedgerError as exc:
        raise CashError(str(exc)) from exc
    application.payment = payment
    application.save()
    ApplicationLine.objects.bulk_create(
        [ApplicationLine(application=application, invoice=i, amount=a) for i, a in wanted]
    )
    receipt.applied_amount += total
    receipt.customer_id = payment.customer_id or receipt.customer_id
    has_open = receipt.suggestions.filter(status=Suggestion.Status.OPEN).exists()
    receipt.status = receipt.status_after_money(has_suggestion=has_open)
    receipt.save(update_fields=["applied_amount", "customer", "status", "updated_at"])
    if actor is not None and payment.customer_id and receipt.payer_name:
        _alias_learn(receipt=receipt, customer_id=payment.customer_id)
    return application


def _alias_learn(*, receipt: Receipt, customer_id: int) -> None:
    key = name_key(receipt.payer_name)
    if not key:
        return
    alias, created = PayerAlias.objects.get_or_create(
        organization_id=receipt.organization_id, name_key=key, customer_id=customer_id
    )
    if not created:
        PayerAlias.objects.filter(pk=alias.pk).update(confirmations=alias.confirmations + 1)


@transaction.atomic
def suggestion_apply(
    *, suggestion: Suggestion, actor: User | None, automatic: bool = False
) -> Application:
    suggestion = Suggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != Suggestion.Status.OPEN:
        raise CashError(f"This suggestion is already {suggestion.get_status_display().lower()}.")
    lines = list(suggestion.lines.select_related("invoice"))
    application = receipt_apply(
        receipt=suggestion.receipt,
        allocations=[(line.invoice, line.amount) for line in lines],
        actor=actor,
        automatic=automatic,
        confidence=suggestion.confidence,
        explanation=suggestion.explanation,
    )
    suggestion.status = Suggestion.Status.APPLIED
    suggestion.save(update_fields=["status"])
    # The other suggestions for this receipt are alternatives to the one taken.
    Suggestion.objects.filter(
        receipt_id=suggestion.receipt_id, status=Suggestion.Status.OPEN
    ).update(status=Suggestion.Status.REJECTED)
    receipt = application.receipt
    receipt.status = receipt.status_after_money(has_suggestion=False)
    receipt.save(update_fields=["status", "updated_at"])
    return application


@transaction.atomic
def suggestion_reject(*, suggestion: Suggestion, actor: User | None) -> Suggestion:
    """The operator says this suggestion is wrong: the receipt goes to the unapplied queue."""
    suggestion = Suggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != Suggestion.Status.OPEN:
        raise CashError(f"This suggestion is already {suggestion.get_status_display().lower()}.")
    suggestion.status = Suggestion.Status.REJECTED
    suggestion.save(update_fields=["status"])
    receipt = Receipt.objects.select_for_update().get(pk=suggestion.receipt_id)
    if receipt.status != ReceiptStatus.REJECTED:
        has_open = receipt.suggestions.filter(status=Suggestion.Status.OPEN).exists()
        receipt.status = receipt.status_after_money(has_suggestion=has_open)
        receipt.save(update_fields=["status", "updated_at"])
    return suggestion


@transaction.atomic
def receipt_dismiss(*, receipt: Receipt, actor: User | None) -> Receipt:
    """Not a customer payment (an interest credit, a transfer between own accounts): out of
    the unapplied queue. Only a receipt with nothing applied."""
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    if receipt.applied_amount > 0:
        raise CashError("Undo the applications of this receipt first.")
    receipt.status = ReceiptStatus.REJECTED
    receipt.save(update_fields=["status", "updated_at"])
    receipt.suggestions.filter(status=Suggestion.Status.OPEN).update(
        status=Suggestion.Status.REJECTED
    )
    return receipt


@transaction.atomic
def receipt_reopen(*, receipt: Receipt, actor: User | None) -> Receipt:
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    if receipt.status != ReceiptStatus.REJECTED:
        raise CashError("Only a receipt marked as not a customer payment can be reopened.")
    receipt.status = receipt.status_after_money(has_suggestion=False)
    receipt.save(update_fields=["status", "updated_at"])
    return receipt


@transaction.atomic
def application_undo(*, application: Application, actor: User | None) -> Application:
    """Reverse an application through the ledger: the invoices get their balances back and
    their timelines say so; the receipt's cash is unapplied again."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.undone_at is not None:
        raise CashError("This application was already undone.")
    receipt = Receipt.objects.select_for_update().get(pk=application.receipt_id)
    if application.payment_id is not None:
        try:
            ledger.payment_reverse(
                payment=application.payment,
                reason=f"Cash application undone (bank line {receipt.booked_on:%Y-%m-%d}, "
                f"{format_money(application.amount, application.currency)})",
                actor=actor,
            )
        except LedgerError as exc:
            raise CashError(str(exc)) from exc
    application.undone_at = timezone.now()
    application.undone_by = actor
    application.payment = None
    application.save(update_fields=["undone_at", "undone_by", "payment"])
    receipt.applied_amount -= application.amount
    has_open = receipt.suggestions.filter(status=Suggestion.Status.OPEN).exists()
    receipt.status = receipt.status_after_money(has_suggestion=has_open)
    receipt.save(update_fields=["applied_amount", "status", "updated_at"])
    return application
