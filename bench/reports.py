"""Reports at scale (P7): aging, DSO and CEI over an organization seeded with
`plixo seed --org bench-reports --invoices N`, on SQLite and (when reachable) PostgreSQL.

Each database is fresh: migrated, seeded, given a daily exchange rate for every currency of
the seeded ledger over the last 400 days, analysed (`ANALYZE`, `VACUUM ANALYZE` on
PostgreSQL), then measured in a child process as the organization's Controller: each report
selector `RUNS` times after a dropped first run, median and slowest, beside a same-run
baseline, the bare statement no aging can do without:
`SELECT currency, SUM(balance) FROM ledger_invoice WHERE organization_id = %s AND status IN
(open statuses) GROUP BY currency`.

    python -m bench reports                      # 100,000 invoices
    python -m bench reports --invoices 5000      # a quick run
    python -m bench reports --full               # 1,000,000 invoices (P7)
"""

import argparse
import datetime as dt
import json
import statistics
import sys
import time

from bench.imports import _database, _django_setup, _plixo, _postgres_reachable, _run

ORG = "bench-reports"
RUNS = 7
TARGET = 0.500  # P7: ≤ 500 ms each
RATE_DAYS = 400


def _seconds(fn) -> tuple[float, float]:
    fn()  # dropped: caches and the first plan
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def prepare(org_slug: str) -> dict:
    """Daily rates for the seeded currencies, then the planner's statistics."""
    _django_setup()
    from decimal import Decimal

    from django.db import connection

    from plixo.core.models import Organization
    from plixo.ledger.models import Invoice
    from plixo.ledger.selectors import org_today
    from plixo.reports.models import ExchangeRate

    organization = Organization.objects.get(slug=org_slug)
    today = org_today(organization)
    currencies = sorted(
        set(Invoice.objects.filter(organization=organization).values_list("currency", flat=True))
        - {organization.base_currency}
    )
    rows = [
        ExchangeRate(
            organization=organization,
            on=today - dt.timedelta(days=offset),
            currency=code,
            base_currency=organization.base_currency,
            rate=Decimal("1.1") + Decimal(offset % 17) / 1000,
        )
        for code in currencies
        for offset in range(RATE_DAYS)
    ]
    ExchangeRate.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            connection.connection.autocommit = True
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
    return {"currencies": currencies, "rates": len(rows)}


def measure(org_slug: str) -> dict:
    _django_setup()
    from django.db import connection

    from plixo.core.models import Membership, Role
    from plixo.ledger.models import OPEN_STATUSES, Invoice
    from plixo.ledger.selectors import org_today
    from plixo.reports.selectors import aging_report, dso_cei_report

    membership = Membership.objects.select_related("organization", "user").get(
        organization__slug=org_slug, role=Role.CONTROLLER
    )
    organization = membership.organization
    today = org_today(organization)
    statuses = sorted(OPEN_STATUSES)
    baseline_sql = (
        "SELECT currency, SUM(balance) FROM ledger_invoice WHERE organization_id = %s "
        f"AND status IN ({', '.join(['%s'] * len(statuses))}) GROUP BY currency"
    )

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(baseline_sql, [organization.pk, *statuses])
            cursor.fetchall()

    checks = {}

    def aging():
        report = aging_report(membership=membership, as_of=today)
        checks["aging_total"] = str(report["total"]["base"]["total"])
        checks["missing"] = [gap["currency"] for gap in report["conversion"]["missing"]]

    def dso():
        report = dso_cei_report(membership=membership, as_of=today, period_days=90)
        checks["dso"] = str(report["period"]["base"]["dso"])
        checks["cei"] = str(report["period"]["base"]["cei"])

    cases = {
        "baseline: SUM(balance) GROUP BY currency": baseline,
        "aging, today": aging,
        "DSO + CEI, last 90 days (one call)": dso,
        "aging, 30 days ago": lambda: aging_report(
            membership=membership, as_of=today - dt.timedelta(days=30)
        ),
        "aging by customer (50 largest)": lambda: aging_report(
            membership=membership, as_of=today, group="customer", limit=50
        ),
        "DSO + CEI with a 12-month trend": lambda: dso_cei_report(
            membership=membership, as_of=today, period_days=90, months=12
        ),
    }
    timings = {label: _seconds(fn) for label, fn in cases.items()}
    open_invoices = Invoice.objects.filter(
        organization=organization, status__in=OPEN_STATUSES
    ).count()
    return {
        "vendor": connection.vendor,
        "invoices": Invoice.objects.filter(organization=organization).count(),
        "open_invoices": open_invoices,
        "timings": timings,
        "checks": checks,
    }


def _one(kind: str, postgres: str, invoices: int) -> dict:
    with _database(kind, postgres) as env:
        _run(_plixo("migrate", "-v0"), env)
        seed_wall, _, _ = _run(
            _plixo("seed", "--org", ORG, "--invoices", str(invoices), "-v0"), env
        )
        _, _, prepared = _run([sys.executable, "-m", "bench.reports", "prepare", "--org", ORG], env)
        _, rss, out = _run([sys.executable, "-m", "bench.reports", "measure", "--org", ORG], env)
    result = json.loads(out.strip().splitlines()[-1])
    result.update(kind=kind, seed_seconds=seed_wall, rss=rss)
    result["prepared"] = json.loads(prepared.strip().splitlines()[-1])
    return result


def main(*, full: bool = False, postgres: str = "", invoices: int | None = None) -> None:
    if invoices:
        command = f"python -m bench reports --invoices {invoices}"
    else:
        command = "python -m bench reports" + (" --full" if full else "")
        invoices = 1_000_000 if full else 100_000
    kinds = ["SQLite"] + (["PostgreSQL"] if _postgres_reachable(postgres) else [])
    print(f"\n### reports: `{command}` ({invoices:,} invoices)\n")
    if postgres and "PostgreSQL" not in kinds:
        print(f"(PostgreSQL at {postgres} is not reachable: SQLite only)\n")
    results = [_one(kind, postgres, invoices) for kind in kinds]
    for result in results:
        baseline = next(iter(result["timings"].values()))[0]
        print(
            f"\n{result['kind']}: {result['invoices']:,} invoices ({result['open_invoices']:,} "
            f"open), rates for {', '.join(result['prepared']['currencies']) or 'no currency'}; "
            f"seeded in {result['seed_seconds']:.0f} s; median and slowest of {RUNS} runs "
            f"after a dropped first one\n"
        )
        print("| workload | median | slowest | × baseline | P7 (≤ 500 ms) |")
        print("|---|---:|---:|---:|---|")
        for label, (median, slowest) in result["timings"].items():
            ratio = median / baseline if baseline else float("nan")
            p7 = label.startswith(("aging, today", "DSO + CEI, last"))
            verdict = ("ok" if slowest <= TARGET else "OVER") if p7 else ""
            print(
                f"| {label} | {median * 1000:.1f} ms | {slowest * 1000:.1f} ms | "
                f"{ratio:.1f} | {verdict} |"
            )
        print(f"\nFigures: {json.dumps(result['checks'])}")


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reports")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the whole benchmark, with a chosen size")
    run.add_argument("--invoices", type=int, default=100_000)
    run.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    for name in ("prepare", "measure"):
        child = sub.add_parser(name, help=f"{name} on the current database (a child)")
        child.add_argument("--org", default=ORG)
    args = parser.parse_args(argv)
    if args.command == "run":
        main(postgres=args.postgres, invoices=args.invoices)
    elif args.command == "prepare":
        print(json.dumps(prepare(args.org)))
    else:
        print(json.dumps(measure(args.org)))
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
