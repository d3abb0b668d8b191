"""Cash application (P6): `python -m bench cashapp [--full]`.

A labelled generator builds an organization with open invoices and a bank CSV whose every line
has a known answer (the invoices and amounts it pays, or none), covering each case the matcher
handles, with noise (payer names as banks write them: capitals, legal forms added or dropped,
cut short, a typo) and decoys (payments from strangers, numbers that name no invoice). Then:

- **match**: `Matcher.match` over every line, in the batches the import uses, timed alone
  (the P6 target: 10,000 receipts against 200,000 open invoices in ≤ 10 s);
- per case, from the matcher's answers: lines, auto-applied (best suggestion at or above the
  default threshold, 95), precision of those (invoices and amounts exactly the labelled ones),
  auto-rate, and recall (the labelled answer is the best suggestion);
- **import** (default size only): `statement_import` end to end (parse, store, match,
  auto-apply through the ledger's `payment_record`), timed.

Run in a child process on a fresh SQLite database (and PostgreSQL when reachable); the seed is
fixed, so every run generates the same data. The invoices are inserted as bare rows (with the
customer balances rebuilt after), which is not what is measured.

The default is 20,000 invoices and 2,000 lines; `--full` is 200,000 and 10,000.
"""

import argparse
import csv
import datetime as dt
import io
import json
import random
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

from bench.imports import _database, _plixo, _postgres_reachable, _run

ANCHOR = dt.date(2026, 11, 2)
# (case, weight): what share of the lines each case gets.
CASES = (
    ("number_exact", 35),
    ("number_mangled", 15),
    ("several_numbers", 10),
    ("short_pay_fees", 8),
    ("payer_and_amount", 12),
    ("payer_combination", 5),
    ("decoy_stranger", 10),
    ("decoy_unknown_number", 5),
)
LEGAL = ("Ltd", "Inc", "LLC", "GmbH", "BV", "SA", "Limited", "Corp")


def _payer_variant(rng: random.Random, name: str) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return name
    if kind == 1:
        return name.upper()
    if kind == 2:
        return f"{name} {rng.choice(LEGAL)}"
    if kind == 3:
        return name.upper()[:18]  # banks cut names short
    if kind == 4:
        words = name.split()
        return " ".join(words[:-1]) if len(words) > 2 else name.upper()
    chars = list(name)
    spot = rng.randrange(1, max(2, len(chars) - 1))
    chars[spot] = chars[spot].swapcase()
    return "".join(chars)


def _mangle(rng: random.Random, number: str) -> str:
    digits = number.split("-", 1)[1]
    kind = rng.randrange(5)
    if kind == 0:
        return digits.lstrip("0")  # prefix and leading zeros left out
    if kind == 1:
        return f"inv {digits}"
    if kind == 2:  # OCR confusions
        return "INV" + digits.replace("0", "O", 1).replace("1", "I", 1).replace("5", "S", 1)
    if kind == 3:
        return f"INV-{digits[:3]} {digits[3:]}"  # a space inside
    return f"invoice no {int(digits)}"


def _child(invoices: int, lines: int, seed: int, with_import: bool) -> dict:
    import django

    django.setup()
    from django.conf import settings as django_settings

    django_settings.DEBUG = False
    from plixo.cashapp.matching import Matcher
    from plixo.cashapp.models import Application, CashSettings, Receipt, StatementFormat
    from plixo.cashapp.parsers import clean_line, parse
    from plixo.cashapp.services import statement_import
    from plixo.core.planner import planner_statistics_refresh
    from plixo.core.services import organization_create
    from plixo.ledger.models import Customer, Invoice
    from plixo.ledger.services.balances import customer_balances_rebuild
    from plixo.seeding import words

    rng = random.Random(seed)
    organization = organization_create(name="Cash bench", slug="cash-bench")
    customer_count = max(50, invoices // 8)
    names, seen = [], set()
    for index in range(customer_count):
        name = words.company_name(rng, rng.choice(("US", "GB", "DE", "FR", "NL")))
        if name.upper() in seen:
            name = f"{name} {index}"
        seen.add(name.upper())
        names.append(name)
    Customer.objects.bulk_create(
        [
            Customer(organization=organization, external_id=f"C-{i:06d}", name=name)
            for i, name in enumerate(names)
        ],
        batch_size=2000,
    )
    customers = list(Customer.objects.filter(organization=organization).order_by("pk"))
    rows = []
    for index in range(invoices):
        customer = customers[rng.randrange(len(customers))]
        amount = Decimal(round(rng.lognormvariate(7.0, 1.1), 2)).quantize(Decimal("0.01"))
        amount = max(amount, Decimal("5.00"))
        due = ANCHOR - dt.timedelta(days=rng.randrange(-30, 120))
        rows.append(
            Invoice(
                organization=organization,
                customer=customer,
                number=f"INV-{index + 1:06d}",
                issue_date=due - dt.timedelta(days=30),
                due_date=due,
                currency="USD",
                amount=amount,
                balance=amount,
            )
        )
    Invoice.objects.bulk_create(rows, batch_size=2000)
    # The invoices went in as bare rows (fast); the per-customer balances the ledger keeps
    # beside them are rebuilt once, as after any bulk load.
    customer_balances_rebuild(organization=organization)
    # And the planner's statistics, as Plixo refreshes them after any bulk load and daily.
    planner_statistics_refresh()
    by_customer: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in rows:
        by_customer[invoice.customer_id].append(invoice)
    names_by_id = {c.pk: c.name for c in customers}
    used: set[str] = set()

    def fresh(customer_id=None) -> Invoice:
        while True:
            pool = by_customer[customer_id] if customer_id else rows
            invoice = pool[rng.randrange(len(pool))]
            if invoice.number not in used:
                used.add(invoice.number)
                return invoice

    weighted = [case for case, weight in CASES for _ in range(weight)]
    truth: dict[str, tuple[str, dict]] = {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Date", "Amount", "Currency", "Payer Name", "Remittance", "Transaction ID"])
    for index in range(lines):
        case = rng.choice(weighted)
        tx = f"TX{index:07d}"
        payer, text, answer = "", "", {}
        if case in ("number_exact", "number_mangled", "short_pay_fees"):
            invoice = fresh()
            payer = _payer_variant(rng, names_by_id[invoice.customer_id])
            reference = invoice.number if case != "number_mangled" else _mangle(rng, invoice.number)
            text = rng.choice(("Payment {}", "{}", "INVOICE {} THANK YOU", "Ref {} remittance"))
            text = text.format(reference)
            amount = invoice.balance
            if case == "short_pay_fees":
                amount -= min(
                    Decimal("15.00"), (amount * Decimal("0.01")).quantize(Decimal("0.01"))
                )
            answer = {invoice.number: str(amount)}
        elif case in ("several_numbers", "payer_combination"):
            customer_id = rng.choice([c for c, items in by_customer.items() if len(items) >= 4])
            picked = []
            while len(picked) < rng.choice((2, 2, 3)):
                candidate = fresh(customer_id)
                picked.append(candidate)
                if len([i for i in by_customer[customer_id] if i.number not in used]) < 2:
                    break
            payer = _payer_variant(rng, names_by_id[customer_id])
            amount = sum((i.balance for i in picked), Decimal("0"))
            if case == "several_numbers":
                text = "Invoices " + rng.choice((", ", " / ", " ")).join(i.number for i in picked)
            else:
                text = "Remittance advice attached"
            answer = {i.number: str(i.balance) for i in picked}
        elif case == "payer_and_amount":
            invoice = fresh()
            payer = _payer_variant(rng, names_by_id[invoice.customer_id])
            text = rng.choice(("Thank you", "Payment", "ACH CREDIT", ""))
            amount = invoice.balance
            answer = {invoice.number: str(amount)}
        elif case == "decoy_stranger":
            payer = rng.choice(("HMRC VAT REFUND", "INTEREST", "J SMITH", "CARD SETTLEMENT"))
            amount = Decimal(rng.randrange(100, 900_000)) / 100
            text = rng.choice(("Refund", "Interest credit", "Transfer", ""))
        else:
            payer = _payer_variant(rng, names_by_id[customers[rng.randrange(len(customers))].pk])
            amount = Decimal(rng.randrange(100, 900_000)) / 100
            text = f"Payment INV-{invoices + rng.randrange(1, 10**5):06d}"
        truth[tx] = (case, answer)
        writer.writerow([ANCHOR.isoformat(), f"{amount:.2f}", "USD", payer, text, tx])
    data = out.getvalue().encode()

    # Matching alone, on the lines as the import would store them (unsaved rows).
    parsed = parse(data, format=StatementFormat.CSV)
    receipts = []
    for number, raw in enumerate(parsed.lines, start=1):
        line = clean_line(raw, today=ANCHOR)
        receipts.append(
            Receipt(
                pk=number,
                organization=organization,
                dedupe_key=line.bank_transaction_id,
                line_number=line.line,
                booked_on=line.booked_on,
                amount=line.amount,
                currency=line.currency,
                payer_name=line.payer_name,
                remittance=line.remittance,
                bank_transaction_id=line.bank_transaction_id,
            )
        )
    started = time.perf_counter()
    matcher = Matcher(organization)
    proposals = {}
    for start in range(0, len(receipts), 1000):
        proposals.update(matcher.match(receipts[start : start + 1000]))
    match_seconds = time.perf_counter() - started

    # Judged on the matcher's own answers: auto-applied = the best suggestion reaches the
    # default threshold (every labelled invoice is paid by one line only, so applying one
    # line never changes what another should get).
    threshold = CashSettings.DEFAULT_THRESHOLD
    per_case = defaultdict(Counter)
    for receipt in receipts:
        case, answer = truth[receipt.bank_transaction_id]
        counts = per_case[case]
        counts["lines"] += 1
        found = proposals.get(receipt.pk) or []
        top = {}
        if found:
            top = {
                invoice.number: str(amount.quantize(Decimal("0.01")))
                for invoice, amount in found[0].allocations
            }
        if found and found[0].confidence >= threshold:
            counts["auto"] += 1
            counts["auto_right"] += top == answer
        if answer:
            counts["labelled"] += 1
            counts["found"] += top == answer

    result = {
        "invoices": invoices,
        "lines": lines,
        "match_seconds": match_seconds,
        "cases": {case: dict(counts) for case, counts in per_case.items()},
    }
    if with_import:
        started = time.perf_counter()
        statement = statement_import(
            organization=organization, data=data, file_name="bench.csv", today=ANCHOR
        )
        result["import_seconds"] = time.perf_counter() - started
        result["summary"] = {
            k: v for k, v in statement.summary().items() if k not in ("rejects", "notes")
        }
        applied = Application.objects.filter(receipt__statement=statement, automatic=True)
        result["import_auto_applied"] = applied.count()
    return result


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _report(kind: str, result: dict) -> None:
    print(
        f"\n{kind}: {result['invoices']:,} open invoices, {result['lines']:,} bank lines — "
        f"matching {result['match_seconds']:.2f} s "
        f"({result['lines'] / result['match_seconds']:,.0f} lines/s)"
    )
    if "import_seconds" in result:
        summary = result["summary"]
        print(
            f"\nImport end to end (parse, store, match, auto-apply through the ledger's "
            f"payment_record): {result['import_seconds']:.2f} s; {summary['auto_applied']:,} "
            f"applied, {summary['suggested']:,} suggested, {summary['unmatched']:,} unmatched."
        )
    print()
    print("| case | lines | auto-applied | auto-rate | precision (auto) | recall |")
    print("|---|---|---|---|---|---|")
    total = Counter()
    for case, _ in CASES:
        counts = Counter(result["cases"].get(case, {}))
        total.update(counts)
        print(
            f"| {case} | {counts['lines']:,} | {counts['auto']:,} | "
            f"{_pct(counts['auto'], counts['lines'])} | "
            f"{_pct(counts['auto_right'], counts['auto'])} | "
            f"{_pct(counts['found'], counts['labelled'])} |"
        )
    print(
        f"| **all** | {total['lines']:,} | {total['auto']:,} | "
        f"{_pct(total['auto'], total['lines'])} | "
        f"{_pct(total['auto_right'], total['auto'])} | "
        f"{_pct(total['found'], total['labelled'])} |"
    )
    labelled_auto = total["auto"]
    print(
        f"\nAuto-rate over lines that pay an invoice: "
        f"{_pct(labelled_auto, total['labelled'])}; wrong auto-applications: "
        f"{total['auto'] - total['auto_right']}."
    )


def main(*, full: bool, postgres: str) -> None:
    invoices, lines = (200_000, 10_000) if full else (20_000, 2_000)
    print("\n### cashapp: `python -m bench cashapp" + (" --full" if full else "") + "`")
    kinds = ["SQLite"] + (["PostgreSQL"] if _postgres_reachable(postgres) else [])
    for kind in kinds:
        with _database(kind, postgres) as env:
            _run(_plixo("migrate", "-v0"), env)
            child = [sys.executable, "-m", "bench.cashapp", "--child", str(invoices), str(lines)]
            # At full size the end-to-end import (9,000 ledger payments) would take most of
            # the run; it is measured at the default size.
            _, _, out = _run(child + ([] if full else ["--import"]), env)
            _report(kind, json.loads(out.strip().splitlines()[-1]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, type=int, metavar=("INVOICES", "LINES"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--import", dest="with_import", action="store_true")
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        print(json.dumps(_child(*args.child, seed=args.seed, with_import=args.with_import)))
