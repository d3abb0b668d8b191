"""P4: the payer's invoice page (`/portal/`, with a live portal session) under 50 concurrent
clients, against a bare Django view on the same stack: gunicorn, the full middleware chain,
PostgreSQL. Target: zero errors and at least half the bare view's throughput.

Each client is a thread that opens a fresh connection per request (gunicorn's sync workers do
not keep connections alive), for a fixed time after a short warm-up. Both pages are served by
the same gunicorn process (same workers, same settings) and measured in alternating rounds.
"""

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 50
ROUNDS = 5
SETTINGS = "bench.settings_portal"

SETUP = """
import os, datetime as dt
from decimal import Decimal
import django; django.setup()
from django.contrib.sessions.backends.db import SessionStore
from plixo.core.services import organization_create
from plixo.ledger import services as ledger
from plixo.portal.services import portal_link_consume, portal_link_issue
org = organization_create(name="Bench Payer Co", slug="bench-portal")
customer = ledger.customer_create(organization=org, external_id="B-1", name="Bench Buyer Ltd")
ledger.contact_create(customer=customer, email="ap@buyer.example", is_primary=True)
today = dt.date.today()
invoice = ledger.invoice_create(organization=org, customer=customer, number="INV-B-1",
    issue_date=today, due_date=today + dt.timedelta(days=30), currency="USD",
    amount=Decimal("1250.00"), description="Benchmark invoice")
link, _ = portal_link_issue(invoice=invoice)
session = portal_link_consume(link=link)
store = SessionStore()
store["portal_session"] = str(session.public_id)
store.create()
print(store.session_key)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_up(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def _load(port: int, path: str, cookie: str, seconds: float, warmup: float) -> tuple[list, list]:
    """Latencies of the successful requests and the errors, measured for `seconds` after
    `warmup`; every client has finished when this returns."""
    stop_at = time.monotonic() + warmup + seconds
    measure_from = time.monotonic() + warmup
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client():
        while (started := time.monotonic()) < stop_at:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
                response = conn.getresponse()
                body = response.read()
                conn.close()
                ok = response.status == 200 and body
                problem = None if ok else f"HTTP {response.status}"
            except OSError as exc:
                problem = repr(exc)
            finished = time.monotonic()
            # The rate counts requests completed inside the window, so the ones still running
            # when it closes do not inflate it; an error counts whenever it comes back.
            with lock:
                if problem and finished >= measure_from:
                    errors.append(problem)
                elif not problem and measure_from <= finished < stop_at:
                    latencies.append(finished - started)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def _summary(latencies: list[float], errors: list[str], seconds: float) -> dict:
    latencies = sorted(latencies)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000 if latencies else 0,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000 if latencies else 0,
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


def main(*, full: bool, postgres: str) -> None:
    if not postgres:
        print("\n### portal: skipped (needs PostgreSQL: --postgres URL)\n")
        return
    seconds = 30.0 if full else 10.0
    workers = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
    name = f"plixo_bench_{uuid.uuid4().hex[:8]}"
    admin = postgres.rsplit("/", 1)[0]
    subprocess.run(["psql", postgres, "-qc", f"CREATE DATABASE {name}"], check=True)
    env = {
        **os.environ,
        "DATABASE_URL": f"{admin}/{name}",
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "PYTHONPATH": str(ROOT),
    }
    server = None
    try:
        subprocess.run(
            [sys.executable, "-m", "plixo.cli", "migrate", "-v0"], env=env, cwd=ROOT, check=True
        )
        out = subprocess.run(
            [sys.executable, "-c", SETUP],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        cookie = f"sessionid={out.stdout.strip().splitlines()[-1]}"
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "plixo.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--backlog",
                "2048",
            ],
            env=env,
            cwd=ROOT,
        )
        _wait_up(port, time.monotonic() + 60)
        # The two pages take turns in short rounds, so a change in the machine's other load
        # during the run weighs on both sides alike instead of on whichever ran at the time.
        pages = {"bare Django view": "/bench/bare/", "portal invoice page": "/portal/"}
        collected = {label: ([], []) for label in pages}
        for round_no in range(ROUNDS):
            for label, path in pages.items():
                latencies, errors = _load(
                    port, path, cookie, seconds / ROUNDS, warmup=2.0 if round_no == 0 else 0.5
                )
                collected[label][0].extend(latencies)
                collected[label][1].extend(errors)
        rows = {label: _summary(*collected[label], seconds) for label in pages}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run(["psql", postgres, "-qc", f"DROP DATABASE {name} WITH (FORCE)"], check=True)

    base = rows["bare Django view"]["rps"]
    print(f"\n### portal (P4): `python -m bench portal{' --full' if full else ''}`\n")
    print(
        f"gunicorn, {workers} sync workers, PostgreSQL; {CLIENTS} concurrent clients, "
        f"{seconds:.0f} s each, in {ROUNDS} alternating rounds.\n"
    )
    print("| page | requests | req/s | p50 | p95 | errors | ratio to bare |")
    print("|---|---|---|---|---|---|---|")
    for label, row in rows.items():
        print(
            f"| {label} | {row['requests']:,} | {row['rps']:,.0f} | {row['p50']:.0f} ms | "
            f"{row['p95']:.0f} ms | {row['errors']} | {row['rps'] / base:.2f} |"
        )
        if row["errors"]:
            print(f"\nfirst error on {label}: {row['first_error']}")
