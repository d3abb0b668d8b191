"""Seeding speed: `plixo seed --invoices N` against a plain `executemany` of the same number of
invoice rows into the same table, on SQLite and (when reachable) PostgreSQL.

The baseline writes bare invoice rows only; the seeder also writes customers, contacts,
payments, allocations, adjustments and timeline events, so a ratio below 1 is expected.
"""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], env: dict) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB of that child)."""
    started = time.monotonic()
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed")
    return time.monotonic() - started, usage.ru_maxrss / 1024


def _plixo(*args: str) -> list[str]:
    return [sys.executable, "-m", "plixo.cli", *args]


def _baseline(env: dict, n: int) -> float:
    """Seconds to executemany n bare invoice rows into ledger_invoice (in a child process)."""
    code = f"""
import os, time, uuid, datetime as dt
from decimal import Decimal
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plixo.settings.dev")
import django; django.setup()
from django.db import connection, transaction
from plixo.core.models import Organization
from plixo.ledger.models import Customer
org = Organization.objects.get(slug="bench")
customer = Customer.objects.filter(organization=org).first()
now = dt.datetime.now(dt.timezone.utc)
today = dt.date.today()
rows = [
    (uuid.uuid4().hex if connection.vendor == "sqlite" else uuid.uuid4(), org.pk, customer.pk,
     f"BASE-{{i:09d}}", today, today, "USD", Decimal("100.00"), Decimal("100.00"), "open", "", "",
     now, now)
    for i in range({n})
]
sql = ("INSERT INTO ledger_invoice (public_id, organization_id, customer_id, number, issue_date,"
       " due_date, currency, amount, balance, status, po_number, description, created_at,"
       " updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)")
started = time.monotonic()
with transaction.atomic(), connection.cursor() as cursor:
    for i in range(0, len(rows), 5000):
        cursor.executemany(sql, rows[i:i + 5000])
print(time.monotonic() - started)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def _one(label: str, env: dict, n: int) -> str:
    _run(_plixo("migrate", "-v0"), env)
    wall, rss = _run(_plixo("seed", "--org", "bench", "--invoices", str(n), "-v0"), env)
    base = _baseline(env, n)
    rate, base_rate = n / wall, n / base
    return (
        f"| {label} | {n:,} | {wall:.1f} s | {rate:,.0f}/s | {rss:.0f} MB | "
        f"{base:.1f} s ({base_rate:,.0f}/s) | {rate / base_rate:.2f} |"
    )


def main(*, full: bool, postgres: str) -> None:
    sizes = [100_000, 1_000_000] if full else [100_000]
    print("\n### seed: `python -m bench seed" + (" --full" if full else "") + "`\n")
    print("| database | invoices | wall | invoices/s | peak RSS | baseline executemany | ratio |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as data_dir:
            env = {
                **os.environ,
                "PLIXO_DATA_DIR": data_dir,
                "DJANGO_SETTINGS_MODULE": "plixo.settings.dev",
                "DEBUG": "0",
            }
            env.pop("DATABASE_URL", None)
            print(_one("SQLite", env, n), flush=True)
        if postgres:
            name = f"plixo_bench_{uuid.uuid4().hex[:8]}"
            admin = postgres.rsplit("/", 1)[0]
            subprocess.run(["psql", postgres, "-qc", f"CREATE DATABASE {name}"], check=True)
            try:
                env = {
                    **os.environ,
                    "DATABASE_URL": f"{admin}/{name}",
                    "DJANGO_SETTINGS_MODULE": "plixo.settings.dev",
                    "DEBUG": "0",
                }
                print(_one("PostgreSQL", env, n), flush=True)
            finally:
                subprocess.run(["psql", postgres, "-qc", f"DROP DATABASE {name}"], check=True)
