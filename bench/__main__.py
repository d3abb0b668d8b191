"""`make bench` / `python -m bench [NAME ...] [--full]`: run Plixo's benchmarks.

Each benchmark prints a Markdown table (absolute figures and the ratio to a baseline measured in
the same run) to paste into docs/performance.md. `--full` runs the large sizes (1,000,000 rows);
the default is a quicker run at 100,000. `tick` (P3) seeds 1,000,000 invoices unless
`--invoices N` says otherwise. `webhooks` (P5) delivers 2,000 signed Stripe events (10,000 with
`--full`). `lists` (P8) times every staff list page and list API route on an organization of
100,000 invoices (1,000,000 with `--full`). `reports` (P7) times aging, DSO and CEI at 100,000
invoices (1,000,000 with `--full`, or `--invoices N`).
`queue` (P2) times My Queue's first page and `GET /api/v1/queue` at 100,000 invoices (1,000,000
with `--full`, or `--invoices N`).
`cashapp` (P6) matches 2,000 bank lines against 20,000 open invoices and imports them end to end
(10,000 against 200,000, matching only, with `--full`).
"""

import argparse
import sys

from bench import cashapp, imports, lists, portal, queue, reports, seed, tick, webhooks

BENCHMARKS = {
    "portal": portal.main,
    "seed": seed.main,
    "import": imports.main,
    "lists": lists.main,
    "tick": tick.main,
    "webhooks": webhooks.main,
    "cashapp": cashapp.main,
    "reports": reports.main,
    "queue": queue.main,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], default=[])
    parser.add_argument("--full", action="store_true", help="large sizes (minutes)")
    parser.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="maintenance URL of a PostgreSQL server to benchmark on ('' to skip)",
    )
    parser.add_argument(
        "--invoices",
        type=int,
        default=None,
        metavar="N",
        help="tick, reports: invoices to seed (tick: 1,000,000; reports: 100,000 or 1,000,000 "
        "with --full)",
    )
    args = parser.parse_args(argv)
    for name in args.names or list(BENCHMARKS):
        if name == "tick":
            tick.main(full=args.full, postgres=args.postgres, invoices=args.invoices)
        elif name == "reports":
            reports.main(full=args.full, postgres=args.postgres, invoices=args.invoices)
        elif name == "queue":
            queue.main(full=args.full, postgres=args.postgres, invoices=args.invoices)
        else:
            BENCHMARKS[name](full=args.full, postgres=args.postgres)
    return 0


if __name__ == "__main__":
    sys.exit(main())
