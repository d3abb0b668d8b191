"""Stripe webhooks (P5): signed `checkout.session.completed` events delivered to
`/webhooks/stripe/<org slug>/` through Django's test client (the whole middleware chain and the
real view), on SQLite and (when reachable) PostgreSQL. Target: at least 200 events/s verified
and applied, and a repeated delivery has no second effect.

Each database is fresh (migrated, nothing seeded), then one child process (Django set up once,
so the figures are the deliveries' own, not start-up):

1. creates an organization connected to Stripe, `EVENTS` open invoices (one customer with a
   primary contact per 20 invoices, due dates spread over 45 days past to 30 ahead) and for
   each a Stripe checkout with its session id, through the product's services; then runs one
   cadence tick, as a live organization has: every invoice enrolled, due reminders drafted;
2. builds one signed `checkout.session.completed` (payment_status "paid") per checkout from
   Stripe's own example objects (`tests/payments/stripe_support.py`), plus a repeat of 20% of
   them, all shuffled together with a fixed seed;
3. times the baseline: for every delivery, `stripe.WebhookSignature.verify_header` and one
   INSERT of the raw body into a plain table, each in its own commit;
4. times the product: every delivery POSTed with its `Stripe-Signature` header, each answer
   checked to be 200. Per delivery that is the raw store, the signature check, the dedupe on the
   event id, the event's row lock and the handler: payment, allocation, invoice paid, receipt
   numbered, timeline entries, and the receipt email queued as a task (the benchmark runs
   with the development settings, whose task backend is the database queue: the email is sent
   later by the worker, as in production, and is not in the figure);
5. checks the result: one event row per event with its deliveries counted, one payment and one
   receipt per invoice, every invoice paid with its balance equal to the ledger rows, no
   unsent reminder left, one queued receipt email per receipt.

Each delivery is signed as it is sent, with the current time (Stripe's side of the work: its
few microseconds are timed apart and left out of every figure).
"""

import argparse
import json
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from bench.imports import _database, _django_setup, _plixo, _postgres_reachable, _run

ROOT = Path(__file__).resolve().parent.parent
ORG = "bench-webhooks"
EVENTS = 2_000
FULL_EVENTS = 10_000
DUPLICATE_SHARE = 0.2
INVOICES_PER_CUSTOMER = 20
TARGET = 200.0  # events/s, verified and applied
BASELINE_TABLE = "bench_webhook_raw"


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


# --- the measurement (runs in the child process) -------------------------------------------------


def _setup(events: int, rng: random.Random):
    """The organization, connected to Stripe, with `events` open invoices each holding an open
    Stripe checkout whose session id is set, as after the payer pressed Pay."""
    import datetime as dt

    from django.utils import timezone

    from plixo.comms.services import cadence_tick
    from plixo.core.services import organization_create
    from plixo.ledger.services import contact_create, customer_create, invoice_create
    from plixo.payments.services import checkout_create, checkout_provider_ref_set
    from tests.payments.stripe_support import connect, new_id

    org = organization_create(name="Bench Webhooks Co", slug=ORG)
    connect(org)
    today = dt.date.today()
    checkouts = []
    customer = None
    for index in range(events):
        if index % INVOICES_PER_CUSTOMER == 0:
            number = index // INVOICES_PER_CUSTOMER + 1
            customer = customer_create(
                organization=org, external_id=f"C-{number:05d}", name=f"Buyer {number} Ltd"
            )
            contact_create(customer=customer, email=f"ap{number}@buyer.example", is_primary=True)
        amount = Decimal(rng.randrange(5_000, 2_500_000)) / 100
        due = today + dt.timedelta(days=rng.randrange(-45, 30))
        invoice = invoice_create(
            organization=org,
            customer=customer,
            number=f"INV-W-{index + 1:06d}",
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            currency="USD",
            amount=amount,
        )
        checkout = checkout_create(invoice=invoice, amount=invoice.balance, provider="stripe")
        checkout = checkout_provider_ref_set(checkout=checkout, provider_ref=new_id("cs_test"))
        checkouts.append(checkout)
    # As in a live organization: every open invoice enrolled in its cadence, the reminders that
    # are due drafted (a payment stops the one and cancels the others).
    tick = cadence_tick(now=timezone.now())
    return org, checkouts, tick.drafted + tick.queued


def _deliveries(checkouts, rng: random.Random) -> tuple[list[bytes], list[int]]:
    """The event bodies (one per checkout) and the delivery order: every event once, 20% of
    them a second time, shuffled together."""
    from tests.payments.stripe_support import body_of, envelope, session_object

    bodies = [
        body_of(envelope("checkout.session.completed", session_object(c, payment_status="paid")))
        for c in checkouts
    ]
    order = list(range(len(bodies)))
    order += rng.sample(order, round(len(bodies) * DUPLICATE_SHARE))
    rng.shuffle(order)
    return bodies, order


class _Signer:
    """Stripe's side: sign each body as it is sent (so a long run never outlives the 300-second
    tolerance), keeping the time it takes apart so that it is left out of the figures."""

    def __init__(self):
        from tests.payments.stripe_support import WEBHOOK_SECRET, signature

        self._sign, self.secret = signature, WEBHOOK_SECRET
        self.seconds = self.cpu = 0.0

    def __call__(self, body: bytes) -> str:
        wall, cpu = time.perf_counter(), time.process_time()
        header = self._sign(body, self.secret)
        self.seconds += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        return header


def _baseline(bodies: list[bytes], order: list[int]) -> dict:
    """The least any webhook endpoint must do: check the signature, store the body."""
    import stripe
    from django.db import connection

    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        key = "INTEGER PRIMARY KEY AUTOINCREMENT" if sqlite else "BIGSERIAL PRIMARY KEY"
        blob = "BLOB" if sqlite else "BYTEA"
        cursor.execute(
            f"CREATE TABLE {BASELINE_TABLE} (id {key}, received_at TIMESTAMP NOT NULL, "
            f"body {blob} NOT NULL)"
        )
    insert = f"INSERT INTO {BASELINE_TABLE} (received_at, body) VALUES (%s, %s)"
    sign = _Signer()
    started = time.perf_counter()
    for index in order:
        body = bodies[index]
        header = sign(body)
        stripe.WebhookSignature.verify_header(body.decode("utf-8"), header, sign.secret, 300)
        with connection.cursor() as cursor:  # autocommit: one commit per delivery
            cursor.execute(insert, [time.strftime("%Y-%m-%d %H:%M:%S"), body])
    seconds = time.perf_counter() - started - sign.seconds
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {BASELINE_TABLE}")
        stored = cursor.fetchone()[0]
    return {"seconds": seconds, "stored": stored}


def _deliver_all(org, bodies, order, profile: bool) -> dict:
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    url = f"/webhooks/stripe/{org.slug}/"
    sign = _Signer()
    counter = _QueryCounter()
    answers: dict[int, int] = {}
    latencies, repeats, seen = [], [], set()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(counter):
        for index in order:
            header = sign(bodies[index])
            sent = time.perf_counter()
            response = client.post(
                url,
                data=bodies[index],
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header,
            )
            (repeats if index in seen else latencies).append(time.perf_counter() - sent)
            seen.add(index)
            answers[response.status_code] = answers.get(response.status_code, 0) + 1
    seconds = time.perf_counter() - started - sign.seconds
    cpu = time.process_time() - cpu - sign.cpu
    if profiler is not None:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
    latencies.sort()
    repeats.sort()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "answers": {str(code): count for code, count in sorted(answers.items())},
        "queries": counter.count,
        "p50": statistics.median(latencies),
        "p95": latencies[int(len(latencies) * 0.95) - 1],
        "max": latencies[-1],
        "repeat_p50": statistics.median(repeats) if repeats else 0.0,
    }


def _checks(org, checkouts, order) -> list[str]:
    """Everything the deliveries should have left behind; an empty list when all is right."""
    from collections import Counter

    from django.db.models import Sum
    from django_tasks_db.models import DBTaskResult

    from plixo.comms.models import Message
    from plixo.ledger.models import Invoice, Payment
    from plixo.ledger.services import invoice_balance_from_rows
    from plixo.payments.models import (
        CheckoutSession,
        CheckoutStatus,
        Receipt,
        StripeEvent,
        StripeEventStatus,
        WebhookDelivery,
    )

    events = len(checkouts)
    problems = []
    stored = StripeEvent.objects.filter(organization=org)
    if stored.count() != events:
        problems.append(f"{stored.count():,} events stored for {events:,} sent")
    not_processed = stored.exclude(status=StripeEventStatus.PROCESSED).count()
    if not_processed:
        problems.append(f"{not_processed:,} events not processed")
    total = stored.aggregate(t=Sum("deliveries"))["t"] or 0
    if total != len(order):
        problems.append(f"deliveries counted {total:,}, made {len(order):,}")
    # Each event's own count: twice for the repeated ones, once for the rest.
    sent_times = Counter(Counter(order).values())
    counted = Counter(stored.values_list("deliveries", flat=True))
    if counted != sent_times:
        problems.append(f"deliveries per event {dict(counted)} != sent {dict(sent_times)}")
    raw = WebhookDelivery.objects.filter(organization=org)
    if raw.count() != len(order) or raw.filter(verified=True).count() != len(order):
        problems.append(
            f"{raw.count():,} raw deliveries ({raw.filter(verified=True).count():,} verified) "
            f"for {len(order):,} made"
        )
    payments = Payment.objects.filter(organization=org, source="stripe")
    if payments.count() != events:
        problems.append(f"{payments.count():,} payments for {events:,} events")
    receipts = Receipt.objects.filter(organization=org)
    if receipts.count() != events:
        problems.append(f"{receipts.count():,} receipts for {events:,} events")
    numbers = set(receipts.values_list("sequence", flat=True))
    if numbers != set(range(1, events + 1)):
        problems.append("receipt numbers are not 1…N without gaps")
    completed = CheckoutSession.objects.filter(
        organization=org, status=CheckoutStatus.COMPLETED
    ).count()
    if completed != events:
        problems.append(f"{completed:,} checkouts completed of {events:,}")
    invoices = Invoice.objects.filter(organization=org)
    unpaid = invoices.exclude(status="paid").count() + invoices.exclude(balance=0).count()
    if unpaid:
        problems.append(f"{unpaid:,} invoices not paid in full")
    wrong = sum(1 for inv in invoices.iterator() if invoice_balance_from_rows(inv) != inv.balance)
    if wrong:
        problems.append(f"{wrong:,} invoice balances differ from their ledger rows")
    unsent = Message.objects.filter(organization=org, status__in=Message.UNSENT).count()
    if unsent:
        problems.append(f"{unsent:,} reminders still unsent for paid invoices")
    queued = DBTaskResult.objects.filter(task_path__endswith="receipt_email_send").count()
    if queued != events:
        problems.append(f"{queued:,} receipt emails queued for {events:,} receipts")
    return problems


def measure(events: int, seed: int = 0, profile: bool = False) -> dict:
    _django_setup()
    from django.conf import settings
    from django.db import connection

    rng = random.Random(f"webhooks-{seed}")
    started = time.perf_counter()
    org, checkouts, drafts = _setup(events, rng)
    setup_seconds = time.perf_counter() - started
    bodies, order = _deliveries(checkouts, rng)
    baseline = _baseline(bodies, order)
    product = _deliver_all(org, bodies, order, profile)
    problems = _checks(org, checkouts, order)
    return {
        "vendor": connection.vendor,
        "events": events,
        "deliveries": len(order),
        "duplicates": len(order) - events,
        "body_bytes": round(statistics.mean(len(b) for b in bodies)),
        "setup_seconds": setup_seconds,
        "drafts": drafts,
        "task_backend": settings.TASKS["default"]["BACKEND"],
        "email_backend": settings.EMAIL_BACKEND,
        "product": product,
        "baseline": baseline,
        "problems": problems,
    }


# --- running it ----------------------------------------------------------------------------------


def _one(kind: str, postgres: str, events: int) -> dict:
    with _database(kind, postgres) as env:
        # Nothing is emailed inside a delivery (the receipt is queued for the worker); should
        # anything send, it stays in memory.
        env["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
        _run(_plixo("migrate", "-v0"), env)
        command = [sys.executable, "-m", "bench.webhooks", "measure", "--events", str(events)]
        _, rss, text = _run(command, env)
    result = json.loads(text.strip().splitlines()[-1])
    result.update(kind=kind, rss=rss)
    return result


def _rates(r: dict) -> dict:
    product, baseline = r["product"], r["baseline"]
    applied = r["events"] / product["seconds"]
    delivered = r["deliveries"] / product["seconds"]
    base = r["deliveries"] / baseline["seconds"]
    return {"applied": applied, "delivered": delivered, "baseline": base, "ratio": delivered / base}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(*, full: bool = False, postgres: str = "", events: int | None = None) -> None:
    events = events or (FULL_EVENTS if full else EVENTS)
    kinds = ["SQLite"] + (["PostgreSQL"] if _postgres_reachable(postgres) else [])
    print("\n### webhooks: `python -m bench webhooks" + (" --full" if full else "") + "`\n")
    if postgres and "PostgreSQL" not in kinds:
        print(f"(PostgreSQL at {postgres} is not reachable: SQLite only)\n")
    results, problems = [], []
    for kind in kinds:
        result = _one(kind, postgres, events)
        results.append(result)
        problems += [f"{kind}: {p}" for p in result["problems"]]
        answers = result["product"]["answers"]
        if answers != {"200": result["deliveries"]}:
            problems.append(f"{kind}: answers {answers}, expected 200 to every delivery")
        if result["baseline"]["stored"] != result["deliveries"]:
            problems.append(f"{kind}: the baseline stored {result['baseline']['stored']:,} rows")
        print(
            f"({kind}: {events:,} invoices and checkouts set up in "
            f"{result['setup_seconds']:.0f} s, {result['drafts']:,} reminders drafted; "
            f"measuring process peak RSS {result['rss']:.0f} MB)",
            flush=True,
        )
    print()
    print(
        "| database | events | deliveries (repeats) | wall | events applied/s | deliveries/s "
        "| p50 / p95 first delivery | p50 repeat | CPU per delivery | queries per delivery "
        "| baseline verify + INSERT | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary = []
    for r in results:
        rates, product = _rates(r), r["product"]
        print(
            f"| {r['kind']} | {r['events']:,} | {r['deliveries']:,} ({r['duplicates']:,}) "
            f"| {product['seconds']:.1f} s | {rates['applied']:,.0f}/s "
            f"| {rates['delivered']:,.0f}/s | {_ms(product['p50'])} / {_ms(product['p95'])} "
            f"| {_ms(product['repeat_p50'])} "
            f"| {_ms(product['cpu_seconds'] / r['deliveries'])} "
            f"| {product['queries'] / r['deliveries']:.1f} "
            f"| {r['baseline']['seconds']:.2f} s ({rates['baseline']:,.0f}/s) "
            f"| {rates['ratio']:.3f} |"
        )
        summary.append(
            {
                "database": r["kind"],
                "events": r["events"],
                "deliveries": r["deliveries"],
                "seconds": round(product["seconds"], 3),
                "events_applied_per_s": round(rates["applied"], 1),
                "deliveries_per_s": round(rates["delivered"], 1),
                "baseline_per_s": round(rates["baseline"], 1),
                "ratio": round(rates["ratio"], 4),
                "queries_per_delivery": round(product["queries"] / r["deliveries"], 2),
                "cpu_ms_per_delivery": round(product["cpu_seconds"] / r["deliveries"] * 1000, 2),
                "target_met": rates["applied"] >= TARGET,
            }
        )
    print("\nP5 target (≥ 200 events/s verified and applied, repeats included in the time):")
    for r in results:
        applied = _rates(r)["applied"]
        verdict = "met" if applied >= TARGET else "NOT met"
        print(f"- {r['kind']}: {applied:,.0f} events/s: {verdict}")
    print("\n" + json.dumps({"bench": "webhooks", "results": summary}))
    if problems:
        print("\nChecks FAILED:\n" + "\n".join(f"- {p}" for p in problems))
        raise SystemExit(1)
    print(
        "\nChecks: every answer 200; one event row per event with its deliveries counted; one "
        "payment, one receipt (numbered without gaps) and one queued receipt email per invoice; "
        "every invoice paid, its balance equal to its ledger rows: ok"
    )


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks")
    sub = parser.add_subparsers(dest="command", required=True)
    child = sub.add_parser("measure", help="measure on the current database (the child)")
    child.add_argument("--events", type=int, default=EVENTS)
    child.add_argument("--seed", type=int, default=0)
    child.add_argument(
        "--profile", action="store_true", help="cProfile the deliveries (report on stderr)"
    )
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.events, args.seed, args.profile)))
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
