"""Checkout benchmark (DESIGN.md section 7): quote latency and reserve+confirm throughput.

Run: ``.venv/bin/python -m benchmarks.checkout [--seconds 20] [--clients 64] [--accounts 1000]``

- quote median (and p95) in memory, on SQLite (a file) and on PostgreSQL, for a credit customer
  with prepayment and a rebate grant (the full plan: rebate, prepayment, credit decision);
- reserve+confirm pairs per second on PostgreSQL with ``--clients`` threads over ``--accounts``
  prepaid customers (each pair: ``book.checkout.reserve`` + ``confirm``, four committed transactions),
  then ../shared/bench/pg_checkout_raw.sh with the same clients and accounts in the same run;
  afterwards every confirmed pair is matched by one expense record and ``book.accounts.reconcile``
  must report no mismatch (zero lost or double-spent).

Not a test: figures go to docs/performance.md (section "Checkout").
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from bigledger_customers import Actor, Book, Money, connect
from bigledger_customers.domain.checkout import Order

ADMIN = Actor(id="bench", roles={"admin", "finance_approver"})
CHECKER = Actor(id="bench-checker", roles={"admin", "finance_approver"})
PG = os.environ.get("BLC_PG_ADMIN", "host=127.0.0.1 user=postgres dbname=postgres")
RAW = Path(__file__).resolve().parents[2] / "shared" / "bench" / "pg_checkout_raw.sh"


def _credit_customer(book: Book, code: str) -> None:
    book.customers.create({"code": code, "name": {"en": f"Customer {code}"}, "country": "MY"}, actor=ADMIN)
    book.credit.set_profile(code, "MYR", limit=Money("100000", "MYR"), actor=ADMIN)
    book.accounts.set_settlement_method(code, "credit", actor=ADMIN)
    book.accounts.top_up(code, Money("300", "MYR"), key=f"t-{code}", actor=ADMIN)
    now = book.services.clock.now()
    book.accounts.grant_rebate(
        code,
        Money("100", "MYR"),
        valid_from=now - dt.timedelta(days=1),
        valid_until=now + dt.timedelta(days=365),
        key=f"g-{code}",
        actor=ADMIN,
    )
    for request in book.accounts.pending_approvals():
        book.accounts.approve(request.id, actor=CHECKER)


def quote_latency(book: Book, n: int) -> dict[str, float]:
    """Median and p95 of ``book.checkout.quote`` in microseconds over ``n`` calls (after a warm-up)."""
    _credit_customer(book, "Q-1")
    order = Order(customer="Q-1", number="SO-Q", amount=Money("1000", "MYR"))
    for _ in range(min(n, 200)):
        book.checkout.quote(order)
    times = []
    for _ in range(n):
        start = time.perf_counter_ns()
        book.checkout.quote(order)
        times.append((time.perf_counter_ns() - start) / 1000)
    times.sort()
    return {"median_us": statistics.median(times), "p95_us": times[int(len(times) * 0.95)]}


def _fresh_pg_db(name: str) -> str:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1/{name}"


def throughput(url: str, clients: int, accounts: int, seconds: float) -> dict[str, Any]:
    """Reserve+confirm pairs per second over ``accounts`` prepaid customers with ``clients`` threads."""
    book = connect(url)
    codes = [f"P-{i:05d}" for i in range(accounts)]
    for code in codes:
        book.customers.create({"code": code, "name": {"en": code}, "country": "MY"}, actor=ADMIN)
        book.accounts.set_settlement_method(code, "prepaid", actor=ADMIN)
        book.accounts.top_up(code, Money("1000000", "MYR"), key=f"t-{code}", actor=ADMIN)
    done = [0] * clients
    failed = [0] * clients
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            code = codes[(n * 7919 + i) % accounts]
            i += 1
            try:
                quote = book.checkout.quote(Order(customer=code, number=f"SO-{n}-{i}", amount=Money("1.00", "MYR")))
                reservation = book.checkout.reserve(quote, key=f"r-{n}-{i}", actor=ADMIN)
                book.checkout.confirm(reservation, key=f"c-{n}-{i}", actor=ADMIN)
                done[n] += 1
            except Exception:  # counted and reported
                failed[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    pairs = sum(done)
    expenses = sum(len(book.accounts.expenses(code)) for code in codes)
    report = book.accounts.reconcile()
    book.close()
    return {
        "pairs": pairs,
        "failed": sum(failed),
        "pairs_per_s": pairs / elapsed,
        "expense_records": expenses,
        "reconciled": report.ok,
    }


def raw_baseline(clients: int, accounts: int, seconds: int) -> str:
    """The raw pgbench figure for the same shape of work, run now."""
    out = subprocess.run(  # noqa: S603 - our own script
        ["/bin/bash", str(RAW), str(clients), str(accounts), str(seconds)], capture_output=True, text=True, check=False
    )
    return (out.stdout + out.stderr).strip()


def main() -> None:
    """Run every measurement and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quotes", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    print("quote memory", quote_latency(connect("memory://"), args.quotes))
    path = Path("/tmp/blc_bench_checkout.db")  # noqa: S108 - a scratch file
    path.unlink(missing_ok=True)
    with connect(f"sqlite:///{path}") as sqlite_book:
        print("quote sqlite", quote_latency(sqlite_book, args.quotes // 5))
    with connect(_fresh_pg_db("blc_bench_quote")) as pg_book:
        print("quote postgresql", quote_latency(pg_book, args.quotes // 5))
    if not args.skip_throughput:
        url = _fresh_pg_db("blc_bench_checkout")
        print("library postgresql", throughput(url, args.clients, args.accounts, args.seconds))
        print("raw pgbench", raw_baseline(args.clients, args.accounts, int(args.seconds)))


if __name__ == "__main__":
    main()
