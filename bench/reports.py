"""Reports at scale (P7): aging, DSO, CEI and the Controller's dashboard panel over an
organization seeded with `plixo seed --org bench-reports --invoices N`, on SQLite and (when
reachable) PostgreSQL.

Each database is fresh: migrated, seeded, given a daily exchange rate for every currency of
the seeded ledger over the last 400 days, analysed (`ANALYZE`, `VACUUM ANALYZE` on
PostgreSQL), its daily A/R snapshot built (timed: the full rebuild, then the daily job's
trailing-window refresh), then measured in a child process as the organization's Controller:
each report selector `RUNS` times after a dropped first run, median and slowest, beside a
same-run baseline, the bare statement no aging can do without:
`SELECT currency, SUM(balance) FROM ledger_invoice WHERE organization_id = %s AND status IN
(open statuses) GROUP BY currency`.

    python -m bench reports                      # 100,000 invoices
    python -m bench reports --invoices 5000      # a quick run
    python -m bench reports --full               # 1,000,000 invoices (P7)

An organization already seeded in the configured database (DATABASE_URL, or SQLite in
PLIXO_DATA_DIR) is measured as it is, without adding rates (a currency without one is named as
missing, as a page would): `migrate`, then

    DEBUG=0 python -m bench.reports existing --org big [--rounds 3]

which builds its snapshot and measures it `--rounds` times, reporting the median of the
rounds' medians.
"""

import argparse
import datetime as dt
import json
import os
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


def snapshot_build(org_slug: str) -> dict:
    """The daily A/R snapshot: a full rebuild, then the daily job's trailing-window refresh
    (median of three), each timed once it is done."""
    _django_setup()
    from django.db import connection

    from plixo.core.models import Organization
    from plixo.reports.models import ReceivablesDay
    from plixo.reports.services import receivables_snapshot_refresh

    organization = Organization.objects.get(slug=org_slug)
    started = time.perf_counter()
    rows = receivables_snapshot_refresh(organization=organization, full=True)
    rebuild = time.perf_counter() - started
    refreshes = []
    for _ in range(3):
        started = time.perf_counter()
        receivables_snapshot_refresh(organization=organization)
        refreshes.append(time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ReceivablesDay._meta.db_table}")
    return {
        "rows": rows,
        "rebuild": rebuild,
        "refresh": statistics.median(refreshes),
    }


def measure(org_slug: str) -> dict:
    _django_setup()
    from django.db import connection
    from django.template.loader import render_to_string

    from plixo.core.models import Membership, Role
    from plixo.ledger.models import OPEN_STATUSES, Invoice
    from plixo.ledger.selectors import org_today
    from plixo.reports import charts
    from plixo.reports.selectors import aging_report, dashboard_figures, dso_cei_report

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
        checks["snapshot"] = str((report["snapshot"] or {}).get("computed_at"))

    def cei():
        # The CEI page is the same call (one selector gives both); timed on its own all the same.
        report = dso_cei_report(membership=membership, as_of=today, period_days=30)
        checks["cei_30_days"] = str(report["period"]["base"]["cei"])

    def panel():
        # What GET /reports/panel/ does: the figures, the trend chart, the template.
        figures = dashboard_figures(membership=membership)
        figures["trend_chart"] = charts.dso_trend_chart(figures["dso"])
        render_to_string(
            "reports/_dashboard_panel.html",
            {"figures": figures, "current_org": organization},
        )

    cases = {
        "baseline: SUM(balance) GROUP BY currency": baseline,
        "aging, today": aging,
        "DSO + CEI, last 90 days (one call)": dso,
        "CEI, last 30 days": cei,
        "dashboard panel (figures + chart + template)": panel,
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
        _, _, built = _run([sys.executable, "-m", "bench.reports", "snapshot", "--org", ORG], env)
        _, rss, out = _run([sys.executable, "-m", "bench.reports", "measure", "--org", ORG], env)
    result = json.loads(out.strip().splitlines()[-1])
    result.update(kind=kind, seed_seconds=seed_wall, rss=rss)
    result["prepared"] = json.loads(prepared.strip().splitlines()[-1])
    result["snapshot"] = json.loads(built.strip().splitlines()[-1])
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
        _print(result)


def _print(result: dict, note: str = "") -> None:
    baseline = next(iter(result["timings"].values()))[0]
    currencies = ", ".join(result.get("prepared", {}).get("currencies", [])) or "no currency"
    seeded = f"seeded in {result['seed_seconds']:.0f} s; " if "seed_seconds" in result else ""
    print(
        f"\n{result['kind']}: {result['invoices']:,} invoices ({result['open_invoices']:,} "
        f"open), rates for {currencies}; {seeded}median and slowest of {RUNS} runs "
        f"after a dropped first one{note}\n"
    )
    snapshot = result["snapshot"]
    print(
        f"Daily A/R snapshot: {snapshot['rows']:,} rows; full rebuild "
        f"{snapshot['rebuild']:.1f} s, the daily job's trailing-window refresh "
        f"{snapshot['refresh']:.1f} s.\n"
    )
    print("| workload | median | slowest | × baseline | P7 (≤ 500 ms) |")
    print("|---|---:|---:|---:|---|")
    for label, (median, slowest) in result["timings"].items():
        ratio = median / baseline if baseline else float("nan")
        p7 = label.startswith(("aging, today", "DSO + CEI, last", "CEI, last", "dashboard"))
        verdict = ("ok" if median <= TARGET else "OVER") if p7 else ""
        print(
            f"| {label} | {median * 1000:.1f} ms | {slowest * 1000:.1f} ms | "
            f"{ratio:.1f} | {verdict} |"
        )
    print(f"\nFigures: {json.dumps(result['checks'])}")


def existing(org_slug: str, rounds: int) -> None:
    """Measure an organization already seeded in the configured database, as it is."""
    env = {**os.environ, "DEBUG": "0"}
    _, _, built = _run([sys.executable, "-m", "bench.reports", "snapshot", "--org", org_slug], env)
    runs = []
    for _ in range(rounds):
        _, rss, out = _run(
            [sys.executable, "-m", "bench.reports", "measure", "--org", org_slug], env
        )
        runs.append(json.loads(out.strip().splitlines()[-1]))
    result = runs[-1]
    result["timings"] = {
        label: (
            statistics.median(run["timings"][label][0] for run in runs),
            max(run["timings"][label][1] for run in runs),
        )
        for label in result["timings"]
    }
    result.update(kind=result["vendor"], snapshot=json.loads(built.strip().splitlines()[-1]))
    _print(result, note=f"; the median of {rounds} such rounds (slowest: of all runs)")


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reports")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the whole benchmark, with a chosen size")
    run.add_argument("--invoices", type=int, default=100_000)
    run.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    for name in ("prepare", "snapshot", "measure"):
        child = sub.add_parser(name, help=f"{name} on the current database (a child)")
        child.add_argument("--org", default=ORG)
    here = sub.add_parser("existing", help="measure a seeded organization as it is")
    here.add_argument("--org", required=True)
    here.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.command == "run":
        main(postgres=args.postgres, invoices=args.invoices)
    elif args.command == "prepare":
        print(json.dumps(prepare(args.org)))
    elif args.command == "snapshot":
        print(json.dumps(snapshot_build(args.org)))
    elif args.command == "existing":
        existing(args.org, args.rounds)
    else:
        print(json.dumps(measure(args.org)))
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
