"""Import speed (P1): `plixo import invoices FILE --org bench --json` on generated CSV files of
invoice rows, 2% of them bad, against a plain `csv` reader + `executemany` of the same valid rows
into the same table, on SQLite and (when reachable) PostgreSQL.

Each run gets a fresh database: one for the import, another for the baseline, so neither writes
into a table the other has already filled. Wall time and peak RSS are those of the child process
(`os.wait4`), so the figures include start-up, as a person running the command would see them.

The baseline is deliberately the cheapest honest load: the customers exist before its clock
starts, it knows which rows are bad without validating them, and it writes bare invoice rows.
The importer decodes, maps headers, validates every value, upserts customers by external id,
writes a reject log and keeps a batch record, so a ratio below 1 is expected.

The generated files are deterministic (same size and seed, same bytes): one bad row in every
block of 50 rows, at a seeded position, the kinds taking turns (bad currency, malformed date, bad
amount, due before issue, missing value).
"""

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HEADERS = (
    "invoice_number",
    "customer_external_id",
    "customer_name",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "status",
    "po_number",
    "segment",
    "description",
)
COLUMN = {name: index for index, name in enumerate(HEADERS)}
BLOCK = 50  # one bad row per block of 50 rows: exactly 2%
BAD_KINDS = (
    "invalid_currency",
    "malformed_date",
    "bad_amount",
    "due_before_issue",
    "missing_value",
)
# Fixed, so the same seed gives the same bytes whatever day the benchmark runs.
ANCHOR = dt.date(2025, 6, 30)
HISTORY_DAYS = 400
INVOICES_PER_CUSTOMER = 20
MAX_CUSTOMERS = 50_000
# (currency, weight, factor against USD, minor digits, countries)
MARKETS = (
    ("USD", 60, 1.0, 2, ("US",)),
    ("EUR", 12, 0.92, 2, ("DE", "FR", "NL", "ES", "IT", "IE")),
    ("GBP", 8, 0.79, 2, ("GB",)),
    ("CAD", 8, 1.36, 2, ("CA",)),
    ("AUD", 6, 1.52, 2, ("AU",)),
    ("JPY", 6, 150.0, 0, ("JP",)),
)
SEGMENTS = (("enterprise", 15, 9.2), ("mid-market", 35, 8.0), ("smb", 50, 6.6))  # log-median USD
PAYMENT_TERMS = (15, 30, 30, 30, 30, 45, 60)
SERVICES = (
    "Annual support renewal",
    "Consulting services",
    "Freight and handling",
    "Hardware shipment",
    "Implementation milestone",
    "Licence subscription",
    "Maintenance contract",
    "Professional services",
    "Spare parts",
    "Training workshop",
)
BAD_CURRENCIES = ("XYZ", "US$", "EURO", "Dollars", "EU")
BAD_DATES = ("2025-02-30", "13/45/2025", "31.31.2024", "yesterday", "2025-1-1x", "20250")
BAD_AMOUNTS = ("12O.00", "1.2.3", "N/A", "$", "1,2,3.4.5", "ten")
MISSING_COLUMNS = ("invoice_number", "customer_external_id", "issue_date", "due_date", "amount")


# --- the data -------------------------------------------------------------------------------


def bad_rows(rows: int, seed: int = 0) -> dict[int, str]:
    """Row index (0-based, header excluded) -> kind of error, for the file `invoices_csv_write`
    writes with the same arguments."""
    rng = random.Random(f"bad-{seed}")
    return {
        block * BLOCK + rng.randrange(BLOCK): BAD_KINDS[block % len(BAD_KINDS)]
        for block in range(rows // BLOCK)
    }


def _django_setup() -> None:
    import django
    from django.apps import apps

    if not apps.ready:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plixo.settings.dev")
        django.setup()


def _customers(count: int, rng: random.Random) -> list[tuple]:
    from plixo.seeding import words

    markets = [market for market in MARKETS for _ in range(market[1])]
    segments = [segment for segment in SEGMENTS for _ in range(segment[1])]
    customers = []
    for index in range(count):
        currency, _, factor, digits, countries = rng.choice(markets)
        segment, _, log_median = rng.choice(segments)
        country = rng.choice(countries)
        name = words.company_name(rng, country)
        customers.append(
            (f"C-{index + 1:06d}", name, segment, currency, factor, digits, log_median)
        )
    return customers


def _amount(rng: random.Random, factor: float, digits: int, log_median: float) -> str:
    usd = min(max(rng.lognormvariate(log_median, 0.9), 25.0), 2_500_000.0)
    if digits == 0:
        return str(max(1, round(usd * factor)))
    cents = max(100, round(usd * factor * 100))
    return f"{cents // 100}.{cents % 100:02d}"


def invoice_rows(rows: int, seed: int = 0) -> Iterator[list[str]]:
    """The file's data rows, one at a time (the generator holds only the customer list)."""
    rng = random.Random(f"invoices-{seed}")
    customers = _customers(min(MAX_CUSTOMERS, max(1, rows // INVOICES_PER_CUSTOMER)), rng)
    bad = bad_rows(rows, seed)
    for index in range(rows):
        external_id, name, segment, currency, factor, digits, log_median = rng.choice(customers)
        issue = ANCHOR - dt.timedelta(days=rng.randrange(HISTORY_DAYS))
        due = issue + dt.timedelta(days=rng.choice(PAYMENT_TERMS))
        po_number = f"PO-{rng.randrange(10**6):06d}" if rng.random() < 0.6 else ""
        description = f"{rng.choice(SERVICES)} – {issue:%B %Y}"
        row = [
            f"INV-{index + 1:07d}",
            external_id,
            name,
            issue.isoformat(),
            due.isoformat(),
            currency,
            _amount(rng, factor, digits, log_median),
            "open",
            po_number,
            segment,
            description,
        ]
        kind = bad.get(index)
        if kind == "invalid_currency":
            row[COLUMN["currency"]] = rng.choice(BAD_CURRENCIES)
        elif kind == "malformed_date":
            row[COLUMN[rng.choice(("issue_date", "due_date"))]] = rng.choice(BAD_DATES)
        elif kind == "bad_amount":
            row[COLUMN["amount"]] = rng.choice(BAD_AMOUNTS)
        elif kind == "due_before_issue":
            row[COLUMN["due_date"]] = (issue - dt.timedelta(days=rng.randint(1, 30))).isoformat()
        elif kind == "missing_value":
            row[COLUMN[rng.choice(MISSING_COLUMNS)]] = ""
        yield row


def invoices_csv_write(path: Path, rows: int, seed: int = 0) -> Counter:
    """Write the invoice file (UTF-8, canonical headers); return the count per bad-row kind."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for row in invoice_rows(rows, seed):
            writer.writerow(row)
    return Counter(bad_rows(rows, seed).values())


# --- the baseline (runs in its own process) -----------------------------------------------------

INSERT_INVOICE = (
    "INSERT INTO ledger_invoice (public_id, organization_id, customer_id, number, issue_date,"
    " due_date, currency, amount, balance, status, po_number, description, created_at,"
    " updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
)


def baseline_load(path: Path, rows: int, seed: int, org_slug: str) -> dict:
    """Create the file's customers, then time a csv read + executemany of its valid rows."""
    _django_setup()
    from django.db import connection, transaction

    from plixo.core.models import Organization
    from plixo.ledger.models import Customer, Invoice

    org = Organization.objects.get(slug=org_slug)
    bad = bad_rows(rows, seed)
    ext, name = COLUMN["customer_external_id"], COLUMN["customer_name"]
    segment, currency = COLUMN["segment"], COLUMN["currency"]
    seen: dict[str, Customer] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for index, row in enumerate(csv.reader(handle), start=-1):
            if index >= 0 and index not in bad and row[ext] not in seen:
                seen[row[ext]] = Customer(
                    organization=org,
                    external_id=row[ext],
                    name=row[name],
                    segment=row[segment],
                    currency=row[currency],
                )
    Customer.objects.bulk_create(seen.values(), batch_size=2000)
    customer_ids = dict(Customer.objects.filter(organization=org).values_list("external_id", "id"))
    del seen

    sqlite = connection.vendor == "sqlite"
    now = dt.datetime.now(dt.UTC)
    if sqlite:
        now = now.replace(tzinfo=None).isoformat(sep=" ")
    batch, inserted = [], 0
    started = time.monotonic()
    with (
        open(path, newline="", encoding="utf-8") as handle,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        reader = csv.reader(handle)
        next(reader)
        for index, row in enumerate(reader):
            if index in bad:
                continue
            number, external_id, _, issue, due, cur, amount, status, po, _, description = row
            value = Decimal(amount)
            batch.append(
                (
                    uuid.uuid4().hex if sqlite else uuid.uuid4(),
                    org.pk,
                    customer_ids[external_id],
                    number,
                    dt.date.fromisoformat(issue),
                    dt.date.fromisoformat(due),
                    cur,
                    value,
                    value,
                    status,
                    po,
                    description,
                    now,
                    now,
                )
            )
            if len(batch) == 5000:
                cursor.executemany(INSERT_INVOICE, batch)
                inserted += len(batch)
                batch.clear()
        if batch:
            cursor.executemany(INSERT_INVOICE, batch)
            inserted += len(batch)
    seconds = time.monotonic() - started
    stored = Invoice.objects.filter(organization=org).count()
    return {"seconds": seconds, "inserted": inserted, "stored": stored}


# --- running it ---------------------------------------------------------------------------------


def _plixo(*args: str) -> list[str]:
    return [sys.executable, "-m", "plixo.cli", *args]


def _run(args: list[str], env: dict) -> tuple[float, float, str]:
    """Run a command; return (wall seconds, peak RSS in MB of that child, its stdout)."""
    # Files, not pipes: nobody reads a pipe while os.wait4 waits, so a chatty child would block.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{text[-2000:]}{errors[-4000:]}")
    return wall, usage.ru_maxrss / 1024, text


def _prepare(env: dict) -> None:
    _run(_plixo("migrate", "-v0"), env)
    _run(_plixo("seed", "--org", "bench", "--invoices", "0", "-v0"), env)


def _postgres_reachable(url: str) -> bool:
    if not url:
        return False
    try:
        done = subprocess.run(
            ["psql", url, "-qAtc", "SELECT 1"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@contextmanager
def _database(kind: str, postgres: str) -> Iterator[dict]:
    """Environment for a fresh, empty database that is dropped afterwards."""
    base = {**os.environ, "DJANGO_SETTINGS_MODULE": "plixo.settings.dev", "DEBUG": "0"}
    if kind == "SQLite":
        with tempfile.TemporaryDirectory() as data_dir:
            env = {**base, "PLIXO_DATA_DIR": data_dir}
            env.pop("DATABASE_URL", None)
            yield env
        return
    name = f"plixo_bench_{uuid.uuid4().hex[:8]}"
    admin = postgres.rsplit("/", 1)[0]
    subprocess.run(["psql", postgres, "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            yield {**base, "PLIXO_DATA_DIR": data_dir, "DATABASE_URL": f"{admin}/{name}"}
    finally:
        subprocess.run(["psql", postgres, "-qc", f"DROP DATABASE {name}"], check=True)


def _import(kind: str, postgres: str, path: Path, rows: int, bad: int) -> dict:
    with _database(kind, postgres) as env:
        _prepare(env)
        wall, rss, out = _run(
            _plixo("import", "invoices", str(path), "--org", "bench", "--json"), env
        )
    summary = json.loads(out)
    problems = []
    if summary["rows"] != rows:
        problems.append(f"rows {summary['rows']} != {rows}")
    if summary["accepted"] + summary["rejected"] != summary["rows"]:
        problems.append("accepted + rejected != rows")
    if summary["rejected"] != bad:
        problems.append(f"rejected {summary['rejected']} != {bad} bad rows")
    if summary["created"] != rows - bad:
        problems.append(f"created {summary['created']} != {rows - bad}")
    return {"wall": wall, "rss": rss, "summary": summary, "problems": problems}


def _baseline(kind: str, postgres: str, path: Path, rows: int, seed: int) -> dict:
    with _database(kind, postgres) as env:
        _prepare(env)
        command = [sys.executable, "-m", "bench.imports", "baseline", str(path)]
        _, rss, out = _run([*command, "--rows", str(rows), "--seed", str(seed)], env)
    result = json.loads(out.strip().splitlines()[-1])
    bad = len(bad_rows(rows, seed))
    if result["inserted"] != rows - bad or result["stored"] != rows - bad:
        raise SystemExit(f"baseline loaded {result} of {rows - bad} valid rows")
    return {**result, "rss": rss}


def _verdicts(kind: str, results: dict[int, dict]) -> list[str]:
    largest = max(results)
    top = results[largest]
    if largest >= 1_000_000:
        timing = "met" if top["wall"] <= 60 else "NOT met"
    else:
        projected = top["wall"] * 1_000_000 / largest
        timing = f"not measured here (run --full); linear projection {projected:.0f} s"
    lines = [
        f"- {kind}: {largest:,} rows in {top['wall']:.1f} s (target ≤ 60 s at 1,000,000): "
        + timing,
        f"- {kind}: peak RSS {max(r['rss'] for r in results.values()):.0f} MB (target ≤ 400 MB): "
        + ("met" if all(r["rss"] <= 400 for r in results.values()) else "NOT met"),
        f"- {kind}: throughput ratio {min(r['ratio'] for r in results.values()):.2f} "
        "(target ≥ 0.40): "
        + ("met" if all(r["ratio"] >= 0.40 for r in results.values()) else "NOT met"),
    ]
    if len(results) > 1:
        smallest = results[min(results)]
        growth = top["rss"] / smallest["rss"]
        # Flat: ten times the rows may cost a little more (caches, a larger customer map),
        # never anywhere near ten times the memory.
        lines.append(
            f"- {kind}: RSS {smallest['rss']:.0f} MB at {min(results):,} rows vs "
            f"{top['rss']:.0f} MB at {largest:,} (×{growth:.2f}; flat means ≤ ×1.25): "
            + ("met" if growth <= 1.25 else "NOT met")
        )
    return lines


def main(*, full: bool, postgres: str, seed: int = 0) -> None:
    sizes = [100_000, 1_000_000] if full else [100_000]
    kinds = ["SQLite"] + (["PostgreSQL"] if _postgres_reachable(postgres) else [])
    print("\n### import: `python -m bench import" + (" --full" if full else "") + "`\n")
    if postgres and "PostgreSQL" not in kinds:
        print(f"(PostgreSQL at {postgres} is not reachable: SQLite only)\n")
    print(
        "| database | rows | wall | rows/s | peak RSS | rejected | errors by code "
        "| baseline csv + executemany | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    results: dict[str, dict[int, dict]] = {kind: {} for kind in kinds}
    problems = []
    with tempfile.TemporaryDirectory() as files:
        for rows in sizes:
            path = Path(files) / f"invoices-{rows}.csv"
            bad = sum(invoices_csv_write(path, rows, seed).values())
            for kind in kinds:
                result = _import(kind, postgres, path, rows, bad)
                base = _baseline(kind, postgres, path, rows, seed)
                rate = rows / result["wall"]
                base_rate = (rows - bad) / base["seconds"]
                result["ratio"] = rate / base_rate
                results[kind][rows] = result
                problems += [f"{kind} {rows:,}: {p}" for p in result["problems"]]
                summary = result["summary"]
                codes = ", ".join(
                    f"{code} {count:,}" for code, count in sorted(summary["errors_by_code"].items())
                )
                print(
                    f"| {kind} | {rows:,} | {result['wall']:.1f} s | {rate:,.0f}/s "
                    f"| {result['rss']:.0f} MB | {summary['rejected']:,} | {codes} "
                    f"| {base['seconds']:.1f} s ({base_rate:,.0f}/s) | {result['ratio']:.2f} |",
                    flush=True,
                )
            path.unlink()
    print("\nP1 targets:")
    for kind in kinds:
        print("\n".join(_verdicts(kind, results[kind])))
    if problems:
        print("\nSummary checks FAILED:\n" + "\n".join(f"- {p}" for p in problems))
        raise SystemExit(1)
    print("\nSummary checks: rows, accepted + rejected = rows, rejected = bad rows, created: ok")


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.imports")
    sub = parser.add_subparsers(dest="command", required=True)
    generate = sub.add_parser("generate", help="write a generated invoice file")
    generate.add_argument("path", type=Path)
    generate.add_argument("--rows", type=int, default=100_000)
    generate.add_argument("--seed", type=int, default=0)
    baseline = sub.add_parser("baseline", help="the baseline load (for the benchmark's child)")
    baseline.add_argument("path", type=Path)
    baseline.add_argument("--rows", type=int, required=True)
    baseline.add_argument("--seed", type=int, default=0)
    baseline.add_argument("--org", default="bench")
    args = parser.parse_args(argv)
    if args.command == "generate":
        counts = invoices_csv_write(args.path, args.rows, args.seed)
        print(json.dumps({"rows": args.rows, "bad": dict(counts)}))
    else:
        print(json.dumps(baseline_load(args.path, args.rows, args.seed, args.org)))
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
