"""Staff lists at scale (P8): every staff list page and list API route on an organization seeded
with `plixo seed --org bench-lists --invoices N`, on SQLite and (when reachable) PostgreSQL.

Each database is fresh: migrated, seeded, then prepared in one child process (the first cadence
tick, so the drafts and messages lists hold what a live organization's do, then the planner's
statistics: `ANALYZE` on SQLite, `VACUUM ANALYZE` on PostgreSQL), and measured in another
(Django set up once). The measuring child logs in as the organization's Controller (the test
client's `force_login`) and creates an API key, then fetches every page `_pages()` names
1 + `RUNS` times, drops the first fetch and reports the median and the p95 (nearest rank: of 15
fetches, the slowest) of the server time (the test client in process: URL routing, middleware,
view, queries and template, no network) and the number of SQL statements per fetch. A deep
page is reached by following its "next" links (or `next_cursor`) `DEEP` pages in; only that
last page is timed.

Beside them, in the same process and through the same connection, the bare indexed query a
first invoice page cannot do without, timed the same way:
`SELECT … FROM ledger_invoice WHERE organization_id = %s ORDER BY due_date, number LIMIT 50`.

For a page whose p95 is over the target, the benchmark prints where its slowest fetch went:
the statements that took 1 ms or more, the SQL total and the time in garbage collection (a
full collection of the process's objects, some 50-80 ms here, lands in one fetch of a few pages
each run).

Every fetch must answer 200, and a page that should list something must show rows; otherwise
the benchmark prints its tables and exits non-zero.
"""

import argparse
import gc
import html
import json
import math
import re
import statistics
import sys
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit

from bench.imports import _database, _django_setup, _plixo, _postgres_reachable, _run

ORG = "bench-lists"
RUNS = 15  # timed fetches per page, after one dropped first fetch
DEEP = 200  # pages followed by their "next" link before a deep page is timed
TARGET = 0.100  # P8: ≤ 100 ms server time p95
SLOW_QUERIES_SHOWN = 8
BASELINE_SQL = (
    "SELECT id, number, due_date, currency, balance FROM ledger_invoice "
    "WHERE organization_id = %s ORDER BY due_date, number LIMIT 50"
)
INVOICE_SORTS = (
    "due",
    "-due",
    "number",
    "-number",
    "amount",
    "-amount",
    "balance",
    "-balance",
    "customer",
    "-customer",
    "issued",
    "-issued",
)


@dataclass(frozen=True)
class Target:
    """A page to time. `url` may name facts of the seeded ledger in braces ({word}, {number}…),
    filled in by the measuring child. `rows`: the page must list at least one row. `deep`: follow
    this many "next" links first and time the page they lead to."""

    url: str
    rows: bool = True
    deep: int = 0
    label: str = ""

    @property
    def api(self) -> bool:
        return self.url.startswith("/api/")


def _pages() -> list[Target]:
    pages = [
        # Customers: cached balances, name and balance sorts, search, a page near the end.
        Target("/customers/"),
        Target("/customers/?q={word}"),
        Target("/customers/?sort=-name"),
        Target("/customers/?sort=balance"),
        Target("/customers/?sort=-balance"),
        Target("/customers/?sort=-balance&currency=EUR"),
        Target("/customers/?currency=JPY"),
        Target("/customers/", deep=DEEP, label=f"/customers/ {DEEP} pages in (cursor)"),
        Target(
            "/customers/?sort=-balance",
            deep=DEEP,
            label=f"/customers/?sort=-balance {DEEP} pages in (cursor)",
        ),
        Target("/customers/{customer}/", label="a customer's page (its open invoices)"),
        # Invoices: every sort, filters, text search, deep pages by cursor.
        Target("/invoices/"),
        Target("/invoices/?q=SEED", label="/invoices/?q=SEED (broad: every invoice)"),
        Target("/invoices/?q={number}", label="/invoices/?q={number} (narrow: one invoice)"),
        Target("/invoices/?q={word}", label="/invoices/?q={word} (a customer name word)"),
        Target("/invoices/?q={words}", label="/invoices/?q={words} (a customer name)"),
        *(Target(f"/invoices/?sort={sort}") for sort in INVOICE_SORTS),
        Target("/invoices/?status=open"),
        Target("/invoices/?status=void"),
        Target("/invoices/?status=written_off"),
        Target("/invoices/?status=paid&sort=-amount"),
        Target("/invoices/?overdue=90_plus"),
        Target("/invoices/?overdue=1_30&sort=-balance"),
        Target("/invoices/?currency=EUR&sort=-balance"),
        Target("/invoices/?q={word}&status=open&sort=-amount"),
        Target("/invoices/?customer={customer}"),
        Target("/invoices/", deep=DEEP, label=f"/invoices/ {DEEP} pages in (cursor)"),
        Target(
            "/invoices/?sort=-amount",
            deep=DEEP,
            label=f"/invoices/?sort=-amount {DEEP} pages in (cursor)",
        ),
        # Payments: newest first by cursor, search, unapplied.
        Target("/payments/"),
        Target("/payments/?q={word}"),
        Target("/payments/?q={reference}", label="/payments/?q={reference} (one payment)"),
        Target("/payments/?unapplied=on", rows=False),
        Target("/payments/", deep=DEEP, label=f"/payments/ {DEEP} pages in (cursor)"),
        # Comms, imports, ops, team.
        Target("/drafts/"),
        Target("/drafts/?status=held", rows=False),
        Target("/drafts/", deep=DEEP, label=f"/drafts/ {DEEP} pages in (cursor)"),
        Target("/outbox/", rows=False),
        Target("/outbox/?tab=sent", rows=False),
        Target("/cadences/", rows=False),
        Target("/imports/", rows=False),
        Target("/ops/", rows=False),
        Target("/team/"),
        # Promises and plans: the Commitment Radar reads by the open commitments' indexes.
        Target("/commitments/", rows=False, label="/commitments/ (the Commitment Radar)"),
        # The API's list routes.
        Target("/api/v1/customers"),
        Target("/api/v1/customers?search={word}"),
        Target("/api/v1/customers?sort=-balance"),
        Target("/api/v1/customers?sort=-balance&currency=EUR"),
        Target("/api/v1/customers", deep=DEEP, label=f"/api/v1/customers {DEEP} pages in (cursor)"),
        Target("/api/v1/invoices"),
        Target("/api/v1/invoices?search=SEED", label="/api/v1/invoices?search=SEED (broad)"),
        Target(
            "/api/v1/invoices?search={number}", label="/api/v1/invoices?search={number} (narrow)"
        ),
        Target("/api/v1/invoices?search={word}"),
        *(Target(f"/api/v1/invoices?sort={sort}") for sort in INVOICE_SORTS if sort != "due"),
        Target("/api/v1/invoices?status=void"),
        Target("/api/v1/invoices?overdue=90_plus"),
        Target("/api/v1/invoices?currency=EUR&sort=-balance"),
        Target("/api/v1/invoices?customer={customer}"),
        Target("/api/v1/invoices?offset=10000"),
        Target("/api/v1/invoices", deep=DEEP, label=f"/api/v1/invoices {DEEP} pages in (cursor)"),
        Target("/api/v1/invoices/{invoice}/timeline", label="/api/v1/invoices/<id>/timeline"),
        Target("/api/v1/payments"),
        Target("/api/v1/payments?customer={customer}"),
        Target("/api/v1/payments", deep=DEEP, label=f"/api/v1/payments {DEEP} pages in (cursor)"),
        Target("/api/v1/contacts"),
        Target("/api/v1/contacts?search={word}"),
        Target("/api/v1/contacts?customer={customer}"),
        Target("/api/v1/contacts", deep=DEEP, label=f"/api/v1/contacts {DEEP} pages in (cursor)"),
        Target("/api/v1/messages"),
        Target("/api/v1/messages?status=draft"),
        Target("/api/v1/messages?status=held", rows=False),
        Target("/api/v1/messages?invoice={drafted_invoice}", label="/api/v1/messages?invoice=<id>"),
        Target("/api/v1/messages", deep=DEEP, label=f"/api/v1/messages {DEEP} pages in (cursor)"),
        Target("/api/v1/cadences"),
        Target("/api/v1/promises", rows=False),
        Target("/api/v1/promises?status=open", rows=False),
        Target("/api/v1/plans", rows=False),
    ]
    return pages


# --- preparing the database (a child process) ----------------------------------------------------


def prepare(org_slug: str) -> dict:
    """The first cadence tick (drafts for the steps that are due, as in a live organization),
    then the planner's statistics."""
    _django_setup()
    from django.db import connection
    from django.utils import timezone

    from plixo.comms.services import cadence_tick
    from plixo.core.planner import planner_statistics_refresh

    started = time.perf_counter()
    tick = cadence_tick(now=timezone.now())
    tick_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if connection.vendor == "sqlite":
        planner_statistics_refresh()
    else:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return {
        "tick_seconds": tick_seconds,
        "enrolled": tick.enrolled,
        "drafts": tick.drafted + tick.queued,
        "analyze_seconds": time.perf_counter() - started,
    }


# --- the measurement (a child process) -----------------------------------------------------------


class _Queries:
    """Every statement of a fetch, with its time (Django's execute wrapper)."""

    def __init__(self):
        self.log: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.log.append((time.perf_counter() - started, sql))


class _Collections:
    """Time the interpreter spends in garbage collection (`gc.callbacks`): a full collection
    of the process's objects can land in any request, and says why one fetch is slow when its
    SQL is not."""

    def __init__(self):
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


_COLLECTIONS = _Collections()


def _p95(times: list[float]) -> float:
    """Nearest rank: of 15 runs, the slowest."""
    ordered = sorted(times)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


_TBODY = re.compile(r"<tbody[^>]*>(.*?)</tbody>", re.S)
_NEXT = re.compile(r'<a [^>]*href="([^"]*)"[^>]*rel="next"')


def _rows(response, api: bool) -> int:
    if api:
        return len(response.json()["results"])
    body = response.content.decode()
    found = _TBODY.search(body)
    return found.group(1).count("<tr") if found else 0


def _next_url(url: str, response, api: bool) -> str | None:
    path = urlsplit(url).path
    if api:
        cursor = response.json().get("next_cursor")
        if not cursor:
            return None
        query = [(k, v) for k, v in parse_qsl(urlsplit(url).query) if k not in ("cursor", "offset")]
        return f"{path}?{urlencode([*query, ('cursor', cursor)])}"
    found = _NEXT.search(response.content.decode())
    if not found:
        return None
    link = html.unescape(found.group(1))
    return link if link.startswith("/") else path + link


def _facts(org) -> dict[str, str]:
    """The seeded ledger's values the page list names: a customer name word, an invoice
    number, a payment reference."""
    from plixo.comms.models import Message
    from plixo.ledger.models import Contact, Customer, Invoice, Payment

    customer = Customer.objects.filter(organization=org).order_by("pk").first()
    invoices = Invoice.objects.filter(organization=org).order_by("pk")
    invoice = invoices.values("number", "public_id")[invoices.count() // 2]
    payments = Payment.objects.filter(organization=org).order_by("pk")
    payment = payments.values_list("reference", flat=True)[payments.count() // 2]
    messages = Message.objects.filter(organization=org)
    drafted = messages.order_by("pk").values_list("invoice__public_id", flat=True).first()
    customers = Customer.objects.filter(organization=org).count()
    contacts = Contact.objects.filter(organization=org).count()
    message_count = messages.count()
    names = customer.name.split()
    return {
        "word": names[0],
        "words": " ".join(names[:2]),
        "number": invoice["number"],
        "invoice": str(invoice["public_id"]),
        "reference": payment,
        "customer": str(customer.public_id),
        "drafted_invoice": str(drafted or invoice["public_id"]),
        "_customers": customers,
        "_contacts": contacts,
        "_messages": message_count,
    }


def _fill(text: str, facts: dict, quote: bool) -> str:
    values = {
        key: quote_plus(value) if quote else value
        for key, value in facts.items()
        if not key.startswith("_")
    }
    return text.format(**values)


def _baseline(org_id: int) -> dict:
    from django.db import connection

    times = []
    for _ in range(1 + RUNS):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, [org_id])
            rows = len(cursor.fetchall())
        times.append(time.perf_counter() - started)
    times = times[1:]
    return {"median": statistics.median(times), "p95": _p95(times), "rows": rows}


def _measure_page(client, target: Target, url: str, headers: dict, failures: list) -> dict:
    from django.db import connection

    label = target.label or url
    if target.deep:
        # A small ledger may end sooner: then its last page is timed, and the label says so.
        for step in range(target.deep):
            response = client.get(url, **headers)
            if response.status_code != 200:
                failures.append(f"{label}: page {step + 1} answered {response.status_code}")
                return {"page": label, "url": url, "failed": True}
            following = _next_url(url, response, target.api)
            if following is None:
                if step == 0:
                    failures.append(f"{label}: no second page")
                    return {"page": label, "url": url, "failed": True}
                label = label.replace(f" {target.deep} pages in", f" {step} pages in (the last)")
                break
            url = following
    times, counts, slowest_log, slowest_gc, rows = [], [], [], 0.0, 0
    for run in range(1 + RUNS):
        queries = _Queries()
        collected = _COLLECTIONS.seconds
        started = time.perf_counter()
        with connection.execute_wrapper(queries):
            response = client.get(url, **headers)
        seconds = time.perf_counter() - started
        collected = _COLLECTIONS.seconds - collected
        if response.status_code != 200:
            failures.append(f"{label}: answered {response.status_code}")
            return {"page": label, "url": url, "failed": True}
        if run == 0:
            rows = _rows(response, target.api)
            continue  # the first fetch is dropped
        times.append(seconds)
        counts.append(len(queries.log))
        if seconds >= max(times):
            slowest_log, slowest_gc = queries.log, collected
    if target.rows and not rows:
        failures.append(f"{label}: no rows")
    result = {
        "page": label,
        "url": url,
        "median": statistics.median(times),
        "p95": _p95(times),
        "queries_min": min(counts),
        "queries_max": max(counts),
        "rows": rows,
    }
    if result["p95"] > TARGET:
        # What the slowest fetch spent its time on, to say why a page misses the target.
        result["slow_queries"] = [
            {"ms": round(seconds * 1000, 1), "sql": " ".join(sql.split())[:600]}
            for seconds, sql in sorted(slowest_log, reverse=True)[:SLOW_QUERIES_SHOWN]
        ]
        result["sql_ms"] = round(sum(s for s, _ in slowest_log) * 1000, 1)
        result["gc_ms"] = round(slowest_gc * 1000, 1)
    return result


def measure(org_slug: str, only: str = "") -> dict:
    _django_setup()
    from django.db import connection
    from django.test import Client

    from plixo.api.services import api_key_create
    from plixo.core.models import Membership, Organization, Role
    from plixo.ledger.models import Invoice

    if _COLLECTIONS not in gc.callbacks:
        gc.callbacks.append(_COLLECTIONS)
    org = Organization.objects.get(slug=org_slug)
    membership = Membership.objects.filter(organization=org, role=Role.CONTROLLER).first()
    _, raw_key = api_key_create(membership=membership, name="bench lists")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(membership.user)
    api_headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    facts = _facts(org)
    out = {
        "vendor": connection.vendor,
        "invoices": Invoice.objects.filter(organization=org).count(),
        "customers": facts["_customers"],
        "contacts": facts["_contacts"],
        "messages": facts["_messages"],
        "facts": {k: v for k, v in facts.items() if not k.startswith("_")},
        "baseline": _baseline(org.pk),
    }
    failures: list[str] = []
    pages = []
    gc.freeze()  # as the WSGI entry point does once the application is loaded
    for target in _pages():
        if only and only not in target.url:
            continue
        url = _fill(target.url, facts, quote=True)
        label = _fill(target.label or target.url, facts, quote=False)
        named = Target(target.url, target.rows, target.deep, label)
        headers = api_headers if target.api else {}
        pages.append(_measure_page(client, named, url, headers, failures))
        print(f"{label}: {pages[-1].get('median', 0) * 1000:.1f} ms", file=sys.stderr, flush=True)
    out["pages"] = pages
    out["failures"] = failures
    return out


# --- running it ----------------------------------------------------------------------------------


def _one(kind: str, postgres: str, invoices: int) -> dict:
    with _database(kind, postgres) as env:
        _run(_plixo("migrate", "-v0"), env)
        seed_wall, _, _ = _run(
            _plixo("seed", "--org", ORG, "--invoices", str(invoices), "-v0"), env
        )
        _, _, prepared = _run([sys.executable, "-m", "bench.lists", "prepare", "--org", ORG], env)
        wall, rss, text = _run([sys.executable, "-m", "bench.lists", "measure", "--org", ORG], env)
    result = json.loads(text.strip().splitlines()[-1])
    result.update(
        kind=kind,
        seed_seconds=seed_wall,
        prepare=json.loads(prepared.strip().splitlines()[-1]),
        measure_seconds=wall,
        rss=rss,
    )
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:,.1f} ms"


def _queries(page: dict) -> str:
    low, high = page["queries_min"], page["queries_max"]
    return str(low) if low == high else f"{low}–{high}"


def _label(page: dict) -> str:
    return f"`{page['page']}`" if page["page"].startswith("/") else page["page"]


def _table(result: dict) -> list[str]:
    base = result["baseline"]
    lines = [
        "| page | median | p95 | queries | × baseline | within 100 ms? |",
        "|---|---|---|---|---|---|",
        f"| bare indexed query (baseline: first 50 invoices by due date, raw SQL) "
        f"| {_ms(base['median'])} | {_ms(base['p95'])} | 1 | 1 | – |",
    ]
    for page in result["pages"]:
        if page.get("failed"):
            lines.append(f"| {_label(page)} | – | – | – | – | FAILED |")
            continue
        verdict = "yes" if page["p95"] <= TARGET else "**no**"
        ratio = page["median"] / base["median"]
        lines.append(
            f"| {_label(page)} | {_ms(page['median'])} | {_ms(page['p95'])} | {_queries(page)} "
            f"| ×{ratio:,.0f} | {verdict} |"
        )
    return lines


def _verdicts(result: dict) -> list[str]:
    measured = [page for page in result["pages"] if not page.get("failed")]
    over = [page for page in measured if page["p95"] > TARGET]
    scale = "" if result["invoices"] >= 1_000_000 else f" (at {result['invoices']:,} invoices)"
    most = max((page["queries_max"] for page in measured), default=0)
    varying = [page for page in measured if page["queries_min"] != page["queries_max"]]
    lines = [
        f"- {result['kind']}: {len(measured) - len(over)} of {len(result['pages'])} pages "
        f"within 100 ms p95{scale}: " + ("met" if not over and measured else "NOT met"),
        f"- {result['kind']}: at most {most} queries a page"
        + (
            ", the same on every fetch"
            if not varying
            else f"; varying between fetches on {', '.join(_label(p) for p in varying)}"
        ),
    ]
    for page in over:
        lines.append(
            f"  - over target: {_label(page)}: p95 {_ms(page['p95'])} "
            f"(median {_ms(page['median'])}; slowest fetch: SQL {page['sql_ms']} ms, "
            f"garbage collection {page['gc_ms']} ms)"
        )
    return lines


def _slow_details(result: dict) -> list[str]:
    """For each page over target, the statements of its slowest fetch that took 1 ms or more."""
    lines = []
    for page in result["pages"]:
        if "slow_queries" not in page:
            continue
        lines.append(
            f"\n{result['kind']} — {page['page']}: slowest fetch {_ms(page['p95'])}, "
            f"of which SQL {page['sql_ms']} ms, garbage collection {page['gc_ms']} ms"
        )
        slow = [query for query in page["slow_queries"] if query["ms"] >= 1]
        for query in slow:
            lines.append(f"    {query['ms']:>8.1f} ms  {query['sql']}")
        if not slow:
            lines.append("    (no statement took 1 ms)")
    return lines


def main(*, full: bool = False, postgres: str = "", invoices: int | None = None) -> None:
    if invoices:
        command = f"python -m bench.lists run --invoices {invoices}"
    else:
        command = "python -m bench lists" + (" --full" if full else "")
        invoices = 1_000_000 if full else 100_000
    kinds = ["SQLite"] + (["PostgreSQL"] if _postgres_reachable(postgres) else [])
    print(f"\n### lists: `{command}` ({invoices:,} invoices)\n")
    if postgres and "PostgreSQL" not in kinds:
        print(f"(PostgreSQL at {postgres} is not reachable: SQLite only)\n")
    results, failures = [], []
    for kind in kinds:
        result = _one(kind, postgres, invoices)
        results.append(result)
        failures += [f"{kind}: {failure}" for failure in result["failures"]]
        prep = result["prepare"]
        print(
            f"({kind}: {result['invoices']:,} invoices, {result['customers']:,} customers, "
            f"{result['contacts']:,} contacts, {result['messages']:,} messages; seeded in "
            f"{result['seed_seconds']:.0f} s, first cadence tick {prep['tick_seconds']:.0f} s "
            f"({prep['drafts']:,} drafts), statistics {prep['analyze_seconds']:.0f} s; "
            f"measured in {result['measure_seconds']:.0f} s, peak RSS {result['rss']:.0f} MB)",
            flush=True,
        )
    for result in results:
        print(
            f"\n{result['kind']}, {result['invoices']:,} invoices — server time of {RUNS} "
            "fetches after a dropped first one, as the Controller:\n"
        )
        print("\n".join(_table(result)))
    print("\nP8 targets (≤ 100 ms server time p95, bounded queries):")
    for result in results:
        print("\n".join(_verdicts(result)))
    for result in results:
        details = _slow_details(result)
        if details:
            print("\n".join(details))
    if failures:
        print("\nChecks FAILED:\n" + "\n".join(f"- {failure}" for failure in failures))
        raise SystemExit(1)
    print("\nChecks: every fetch answered 200, every page that should list rows did: ok")


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lists")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the whole benchmark, with a chosen size")
    run.add_argument("--invoices", type=int, default=100_000)
    run.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    child = sub.add_parser("prepare", help="first cadence tick and statistics (the child)")
    child.add_argument("--org", default=ORG)
    child = sub.add_parser("measure", help="measure on the current database (the child)")
    child.add_argument("--org", default=ORG)
    child.add_argument("--only", default="", help="only the pages whose URL contains this")
    args = parser.parse_args(argv)
    if args.command == "run":
        main(full=args.invoices >= 1_000_000, postgres=args.postgres, invoices=args.invoices)
    elif args.command == "prepare":
        print(json.dumps(prepare(args.org)))
    else:
        print(json.dumps(measure(args.org, args.only)))
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
