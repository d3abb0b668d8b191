"""Scheduler tick (P3): `comms.cadence_tick` on an organization seeded with
`plixo seed --org bench-tick --invoices N`, on SQLite and (when reachable) PostgreSQL.

Each database is fresh: migrated, seeded, then measured in one child process (Django set up
once, so the figures are the tick's own, not start-up):

1. the first tick, which enrols every seeded invoice and drafts the step each open invoice is
   due for (reported on its own: it happens once, when cadences are switched on);
2. a tick with nothing due, median of several runs;
3. a tick with exactly `DUE` enrollments due. "Now" is moved forward to the moment the
   `DUE`-th soonest next step falls due (enrollments due at that same instant beyond the
   `DUE`-th are pushed one minute later), so every one of them has a step genuinely due and
   the tick drafts it.

Each tick stands beside the same run's baseline: a bare indexed SELECT of the due rows,
`SELECT id FROM comms_cadenceenrollment WHERE next_action_at <= %s`. Queries are counted
during the due tick to show the work per batch of enrollments stays constant.
"""

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

from bench.imports import _database, _django_setup, _plixo, _postgres_reachable, _run

ROOT = Path(__file__).resolve().parent.parent
ORG = "bench-tick"
DUE = 50_000
EMPTY_RUNS = 5
BASELINE_RUNS = 5
BASELINE_SQL = "SELECT id FROM comms_cadenceenrollment WHERE next_action_at <= %s"
# Targets from the architecture notes, at 1,000,000 invoices.
EMPTY_TARGET = 1.0
DUE_TARGET = 60.0


# --- the measurement (runs in the child process) -------------------------------------------------


def _baseline(now: dt.datetime) -> tuple[float, int]:
    """Median seconds of the bare indexed SELECT of the due rows, and how many it returns."""
    from django.db import connection

    times, rows = [], 0
    for _ in range(BASELINE_RUNS):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, [now])
            rows = len(cursor.fetchall())
        times.append(time.perf_counter() - started)
    return statistics.median(times), rows


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _make_due(now: dt.datetime, wanted: int) -> tuple[dt.datetime, int]:
    """Move "now" to when the `wanted`-th soonest scheduled step falls due; push enrollments due
    at that same instant beyond the `wanted`-th one minute later. Returns (new now, due count)."""
    from django.db import transaction

    from plixo.comms.models import CadenceEnrollment

    scheduled = CadenceEnrollment.objects.filter(next_action_at__gt=now).order_by(
        "next_action_at", "pk"
    )
    available = scheduled.count()
    if not available:
        return now, 0
    last = scheduled.values("pk", "next_action_at")[min(wanted, available) - 1]
    later = last["next_action_at"]
    with transaction.atomic():
        CadenceEnrollment.objects.filter(next_action_at=later, pk__gt=last["pk"]).update(
            next_action_at=later + dt.timedelta(minutes=1)
        )
    due = CadenceEnrollment.objects.filter(next_action_at__lte=later).count()
    return later, due


def measure(org_slug: str, due_wanted: int) -> dict:
    _django_setup()
    from django.db import connection
    from django.utils import timezone

    from plixo.comms.models import CadenceEnrollment, Message
    from plixo.comms.services import cadence_tick
    from plixo.core.models import Organization
    from plixo.ledger.models import Invoice

    org = Organization.objects.get(slug=org_slug)
    # Seeded organizations start in test mode; the tick only drafts, nothing is sent.
    invoices = Invoice.objects.filter(organization=org).count()
    now = timezone.now()
    out: dict = {"invoices": invoices, "vendor": connection.vendor}

    started = time.perf_counter()
    first = cadence_tick(now=now)
    out["first"] = {
        "seconds": time.perf_counter() - started,
        "enrolled": first.enrolled,
        "evaluated": first.evaluated,
        "drafted": first.drafted,
        "queued": first.queued,
        "finished": first.finished,
        "stopped": first.stopped,
    }

    empty_times = []
    for _ in range(EMPTY_RUNS):
        started = time.perf_counter()
        empty = cadence_tick(now=now)
        empty_times.append(time.perf_counter() - started)
        if empty.evaluated or empty.drafted or empty.enrolled:
            raise SystemExit(f"the empty tick found work: {empty.__dict__}")
    base_empty, base_empty_rows = _baseline(now)
    out["empty"] = {
        "seconds": statistics.median(empty_times),
        "runs": empty_times,
        "baseline": base_empty,
        "baseline_rows": base_empty_rows,
    }

    later, due = _make_due(now, due_wanted)
    base_due, base_due_rows = _baseline(later)
    drafts_before = Message.objects.count()
    counter = _QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        tick = cadence_tick(now=later)
    seconds = time.perf_counter() - started
    still_due = CadenceEnrollment.objects.filter(next_action_at__lte=later).count()
    out["due"] = {
        "seconds": seconds,
        "due": due,
        "now_moved_by_hours": (later - now).total_seconds() / 3600,
        "evaluated": tick.evaluated,
        "drafted": tick.drafted,
        "queued": tick.queued,
        "messages_written": Message.objects.count() - drafts_before,
        "queries": counter.count,
        "still_due_after": still_due,
        "baseline": base_due,
        "baseline_rows": base_due_rows,
    }
    out["pages"] = _pages(org)
    return out


# The comms pages and list routes, timed on the database the tick just filled (every draft it
# wrote is on them): server time through Django's test client, as the org's Controller.
PAGES = (
    ("Drafts", "/drafts/"),
    ("Drafts, held", "/drafts/?status=held"),
    ("Outbox", "/outbox/"),
    ("Outbox, sent", "/outbox/?tab=sent"),
    ("Cadences", "/cadences/"),
    ("Sending settings", "/settings/sending/"),
    ("GET /api/v1/messages?status=draft", "/api/v1/messages?status=draft"),
    ("GET /api/v1/cadences", "/api/v1/cadences"),
)
PAGE_RUNS = 7


def _pages(org) -> list[dict]:
    from django.db import connection
    from django.test import Client

    from plixo.api.services import api_key_create
    from plixo.core.models import Membership, Role

    membership = Membership.objects.filter(organization=org, role=Role.CONTROLLER).first()
    _, raw_key = api_key_create(membership=membership, name="bench")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(membership.user)
    rows = []
    for label, url in PAGES:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"} if url.startswith("/api/") else {}
        times = []
        for _ in range(PAGE_RUNS):
            counter = _QueryCounter()
            started = time.perf_counter()
            with connection.execute_wrapper(counter):
                response = client.get(url, **headers)
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        times.sort()
        rows.append(
            {
                "page": label,
                "median": statistics.median(times),
                "p95": times[-1],  # of 7 runs, the slowest
                "queries": counter.count,
            }
        )
    return rows


# --- running it ----------------------------------------------------------------------------------


def _one(kind: str, postgres: str, invoices: int, due: int) -> dict:
    with _database(kind, postgres) as env:
        _run(_plixo("migrate", "-v0"), env)
        seed_wall, _, _ = _run(
            _plixo("seed", "--org", ORG, "--invoices", str(invoices), "-v0"), env
        )
        command = [sys.executable, "-m", "bench.tick", "measure", "--org", ORG]
        wall, rss, text = _run([*command, "--due", str(due)], env)
    result = json.loads(text.strip().splitlines()[-1])
    result.update(kind=kind, seed_seconds=seed_wall, rss=rss)
    return result


def _ms(seconds: float) -> str:
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _report(results: list[dict]) -> list[str]:
    lines = [
        "| database | invoices | tick | work | wall | baseline SELECT of due rows | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        first, empty, due = r["first"], r["empty"], r["due"]
        n = f"{r['invoices']:,}"
        lines.append(
            f"| {r['kind']} | {n} | first tick (initial enrolment) | "
            f"{first['enrolled']:,} enrolled, {first['drafted'] + first['queued']:,} drafts "
            f"| {_ms(first['seconds'])} | – | – |"
        )
        lines.append(
            f"| {r['kind']} | {n} | nothing due (median of {len(empty['runs'])}) | "
            f"0 due | {_ms(empty['seconds'])} | {_ms(empty['baseline'])} "
            f"({empty['baseline_rows']} rows) | ×{empty['seconds'] / empty['baseline']:,.0f} |"
        )
        per_batch = due["queries"] / max(1, -(-due["due"] // 1000))
        lines.append(
            f"| {r['kind']} | {n} | due steps | {due['due']:,} due → "
            f"{due['drafted'] + due['queued']:,} drafts, {due['queries']:,} queries "
            f"({per_batch:.1f} per 1,000) | {_ms(due['seconds'])} | {_ms(due['baseline'])} "
            f"({due['baseline_rows']:,} rows) | ×{due['seconds'] / due['baseline']:,.0f} |"
        )
    return lines


def _verdicts(results: list[dict], due_wanted: int) -> list[str]:
    lines = []
    for r in results:
        empty, due = r["empty"], r["due"]
        scale = "" if r["invoices"] >= 1_000_000 else f" (at {r['invoices']:,}, not 1,000,000)"
        lines.append(
            f"- {r['kind']}: nothing due in {_ms(empty['seconds'])} (target ≤ 1 s){scale}: "
            + ("met" if empty["seconds"] <= EMPTY_TARGET else "NOT met")
        )
        size = "" if due["due"] >= due_wanted else f" (only {due['due']:,} steps scheduled)"
        lines.append(
            f"- {r['kind']}: {due['due']:,} due steps → drafts in {_ms(due['seconds'])} "
            f"(target {due_wanted:,} in ≤ 60 s){size}{scale}: "
            + (
                "met"
                if due["seconds"] <= DUE_TARGET and not size
                else "NOT met"
                if not size
                else "not measured at full size"
            )
        )
    return lines


def main(
    *, full: bool = False, postgres: str = "", invoices: int | None = None, due: int = DUE
) -> None:
    invoices = invoices or 1_000_000
    kinds = ["SQLite"] + (["PostgreSQL"] if _postgres_reachable(postgres) else [])
    print(f"\n### tick: `python -m bench tick --invoices {invoices}`\n")
    if postgres and "PostgreSQL" not in kinds:
        print(f"(PostgreSQL at {postgres} is not reachable: SQLite only)\n")
    results = []
    problems = []
    for kind in kinds:
        result = _one(kind, postgres, invoices, due)
        results.append(result)
        d = result["due"]
        if d["evaluated"] != d["due"]:
            problems.append(f"{kind}: the tick evaluated {d['evaluated']:,} of {d['due']:,} due")
        if d["drafted"] + d["queued"] != d["due"] or d["messages_written"] != d["due"]:
            problems.append(
                f"{kind}: {d['due']:,} due steps gave {d['drafted'] + d['queued']:,} drafts "
                f"({d['messages_written']:,} messages written)"
            )
        if d["still_due_after"]:
            problems.append(f"{kind}: {d['still_due_after']:,} enrollments still due after it")
        print(
            f"({kind}: seeded in {result['seed_seconds']:.0f} s; due tick at now + "
            f"{d['now_moved_by_hours']:.1f} h; measuring process peak RSS {result['rss']:.0f} MB)",
            flush=True,
        )
    print()
    print("\n".join(_report(results)))
    print("\nComms pages on the same database (server time, 7 runs, as the Controller):\n")
    print("| database | page | median | slowest | queries |")
    print("|---|---|---|---|---|")
    for r in results:
        for page in r["pages"]:
            print(
                f"| {r['kind']} | {page['page']} | {_ms(page['median'])} | "
                f"{_ms(page['p95'])} | {page['queries']} |"
            )
    print("\nP3 targets:")
    print("\n".join(_verdicts(results, due)))
    if problems:
        print("\nChecks FAILED:\n" + "\n".join(f"- {p}" for p in problems))
        raise SystemExit(1)
    print("\nChecks: every due enrollment evaluated, one draft per due step, none left due: ok")


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tick")
    sub = parser.add_subparsers(dest="command", required=True)
    child = sub.add_parser("measure", help="measure on the current database (the child)")
    child.add_argument("--org", default=ORG)
    child.add_argument("--due", type=int, default=DUE)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.org, args.due)))
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
