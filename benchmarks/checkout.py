"""Checkout benchmark (DESIGN.md section 7): quote latency and reserve+confirm throughput.

Run: ``.venv/bin/python -m benchmarks.checkout [--seconds 20] [--clients 64] [--processes 4]
[--accounts 1000] [--hot 10] [--host 127.0.0.1 | --host /var/run/postgresql]``

- quote median (and p95) in memory, on SQLite (a file) and on PostgreSQL, for a credit customer
  with prepayment and a rebate grant (the full plan: rebate, prepayment, credit decision);
- pairs per second on PostgreSQL with ``--clients`` clients split over ``--processes`` worker
  processes (threads in each; every process has its own book, engine and pool, so one GIL is not
  the limit), first over ``--accounts`` prepaid customers, then over the first ``--hot`` of them.
  ``--pairs checkout`` (issue 6): a pair is ``book.checkout.quote`` + ``reserve`` + ``confirm``
  (three units of work, two commits); ``--pairs accounts`` (issue 5): ``book.accounts.submit_payment``
  + ``book.accounts.confirm`` of prepayment, the raw script's shape of work (default: both).
- where the CPU goes: while each run lasts, a sampler thread reads ``/proc`` for the CPU time of
  every PostgreSQL process (server) and of the clients (our worker processes, or pgbench), so each
  figure comes with server and client milliseconds of CPU per pair, for the library and the raw
  script alike. On a shared machine these are steadier than pairs per second.
  Right after each library run ../shared/bench/pg_checkout_raw.sh runs with the same clients,
  accounts and seconds over the same host; the ratio is library / raw. Afterwards every confirmed
  pair must be matched by one expense record with no hold left open, and
  ``book.accounts.reconcile`` must report no mismatch (zero lost or double-spent).

JSON (with the command and the load average before each run) goes to
``benchmarks/results/checkout-postgresql.json`` (``--out``).
Not a test: figures go to docs/performance.md (section "Checkout").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from bigledger_customers import Actor, Book, Money, connect
from bigledger_customers.domain.checkout import Order

ADMIN = Actor(id="bench", roles={"admin", "finance_approver"})
CHECKER = Actor(id="bench-checker", roles={"admin", "finance_approver"})
PG = os.environ.get("BLC_PG_ADMIN", "host=127.0.0.1 user=postgres dbname=postgres")
RAW = Path(__file__).resolve().parents[2] / "shared" / "bench" / "pg_checkout_raw.sh"
RESULTS = Path(__file__).resolve().parent / "results"
ONE = Money("1.00", "MYR")


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


def _fresh_pg_db(name: str, host: str) -> str:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    if host.startswith("/"):  # a Unix socket directory
        return f"postgresql+psycopg://postgres@/{name}?host={host}"
    return f"postgresql+psycopg://postgres@{host}/{name}"


def _seed(url: str, accounts: int) -> list[str]:
    """``accounts`` prepaid customers with accounts (imported, then enabled); returns their codes."""
    codes = [f"P-{i:05d}" for i in range(accounts)]
    with connect(url) as book:
        book.accounts.configure(default_settlement_method="prepaid", actor=ADMIN)
        rows = [{"code": code, "name": {"en": code}, "country": "MY"} for code in codes]
        book.customers.import_rows(rows, actor=ADMIN, workers=0)
        book.accounts.enable(actor=ADMIN)
    return codes


def _worker(
    url: str, codes: list[str], tag: str, threads: int, first: int, seconds: float, pool: int, barrier: Any, out: Any
) -> None:
    """One process: its own Book (engine, pool) and ``threads`` clients, each running pairs until time is up."""
    if out.pre_ping:
        book = connect(url, create=False, pool_size=pool, max_overflow=0)
    else:  # a host's own engine: READ COMMITTED as the library's, without the pool's pre-ping
        engine = sa.create_engine(url, isolation_level="READ COMMITTED", pool_size=pool, max_overflow=0)
        book = connect(engine, create=False)
    accounts_pair = out.pair == "accounts"
    # Each process tops up its share of the accounts (they start at zero).
    for n, code in enumerate(codes):
        if n % out.processes == out.index:
            book.accounts.top_up(code, Money("10000000", "MYR"), key=f"t-{tag}-{code}", actor=ADMIN)
    done = [0] * threads
    failed = [0] * threads
    errors: list[str] = []
    barrier.wait()
    stop = time.monotonic() + seconds

    def client(t: int) -> None:
        n = first + t
        i = 0
        while time.monotonic() < stop:
            code = codes[(n * 7919 + i) % len(codes)]
            i += 1
            try:
                if accounts_pair:
                    hold = book.accounts.submit_payment(
                        code, prepayment=ONE, order=f"SO-{tag}-{n}-{i}", key=f"r-{tag}-{n}-{i}", actor=ADMIN
                    )
                    book.accounts.confirm(hold.id, key=f"c-{tag}-{n}-{i}", actor=ADMIN)
                else:
                    order = Order(customer=code, number=f"SO-{tag}-{n}-{i}", amount=ONE)
                    quote = book.checkout.quote(order)
                    reservation = book.checkout.reserve(quote, key=f"r-{tag}-{n}-{i}", actor=ADMIN)
                    book.checkout.confirm(reservation, key=f"c-{tag}-{n}-{i}", actor=ADMIN)
                done[t] += 1
            except Exception as error:  # counted and reported
                failed[t] += 1
                if len(errors) < 5:
                    errors.append(repr(error))

    pool_threads = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
    cpu = time.process_time()
    for thread in pool_threads:
        thread.start()
    for thread in pool_threads:
        thread.join()
    cpu = time.process_time() - cpu
    book.close()
    out.queue.put({"pairs": sum(done), "failed": sum(failed), "errors": errors, "cpu_s": cpu})


class _Out:
    def __init__(self, queue: Any, index: int, processes: int, pre_ping: bool, pair: str = "checkout") -> None:
        self.queue, self.index, self.processes, self.pre_ping, self.pair = queue, index, processes, pre_ping, pair


class CpuSampler(threading.Thread):
    """CPU seconds used, while it runs, by the processes whose command line ``match`` accepts (``/proc``).

    Samples every ``interval`` seconds and keeps, per pid, the first and last reading; a process
    born after the start counts from zero, so short-lived PostgreSQL backends (pgbench's 64
    connections) are counted up to their last sample. Linux only; elsewhere it reports ``None``.
    """

    def __init__(self, match: Any, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self._match, self._interval = match, interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._done = threading.Event()
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._sample(initial=True)

    def _sample(self, *, initial: bool = False) -> None:
        proc = Path("/proc")
        if not proc.is_dir():
            return
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if not self._match(command):
                continue
            pid, used = int(entry.name), (int(fields[11]) + int(fields[12])) / self._tick
            self._first.setdefault(pid, used if initial else 0.0)
            self._last[pid] = used

    def run(self) -> None:
        while not self._done.wait(self._interval):
            self._sample()

    def stop(self) -> float | None:
        self._done.set()
        self.join()
        self._sample()
        if not self._last:
            return None
        return sum(self._last[pid] - self._first[pid] for pid in self._last)


def _backends(database: str) -> Any:
    """PostgreSQL's backends serving ``database`` (their process title names it); background
    processes (WAL writer, checkpointer) and other databases' backends are left out."""

    def match(command: str) -> bool:
        # "postgres: [<cluster>:] <user> <database> <host>(<port>) <state>", or "[local]" for a socket.
        words = command.split()
        if not words or words[0] != "postgres:":
            return False
        for i, word in enumerate(words):
            if word == "[local]" or (word.endswith(")") and "(" in word):
                return i >= 2 and words[i - 1] == database
        return False

    return match


def _per_pair(cpu_s: float | None, pairs: float) -> float | None:
    return round(cpu_s / pairs * 1000, 3) if cpu_s is not None and pairs else None


def throughput(
    url: str,
    codes: list[str],
    tag: str,
    processes: int,
    clients: int,
    seconds: float,
    *,
    pre_ping: bool = True,
    pair: str = "checkout",
) -> dict[str, Any]:
    """Pairs per second over ``codes`` with ``clients`` threads split over ``processes`` processes
    (each with its own Book and pool): quote+reserve+confirm (``pair="checkout"``) or
    submit_payment+confirm (``pair="accounts"``); then the zero-lost checks and the CPU split."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    barrier = ctx.Barrier(processes + 1)
    per = clients // processes
    workers = [
        ctx.Process(
            target=_worker,
            args=(url, codes, tag, per, p * per, seconds, per, barrier, _Out(queue, p, processes, pre_ping, pair)),
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    began = time.monotonic()
    server = CpuSampler(_backends(sa.make_url(url).database or ""))
    server.start()
    results = [queue.get() for _ in workers]
    elapsed = time.monotonic() - began
    server_cpu = server.stop()
    for worker in workers:
        worker.join()
    pairs = sum(r["pairs"] for r in results)
    with connect(url, create=False) as book:
        report = book.accounts.reconcile()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        expenses = conn.execute(
            "SELECT count(*) FROM account_expenses WHERE order_ref LIKE %s", (f"SO-{tag}-%",)
        ).fetchone()
        open_holds = conn.execute(
            "SELECT count(*) FROM account_holds WHERE status = 'open' AND order_ref LIKE %s", (f"SO-{tag}-%",)
        ).fetchone()
    client_cpu = sum(r["cpu_s"] for r in results)
    return {
        "pair": pair,
        "clients": clients,
        "processes": processes,
        "accounts": len(codes),
        "seconds": round(elapsed, 1),
        "pairs": pairs,
        "failed": sum(r["failed"] for r in results),
        "errors": [e for r in results for e in r["errors"]][:5],
        "pairs_per_s": round(pairs / elapsed, 1),
        "expense_records": expenses[0] if expenses else None,
        "open_holds": open_holds[0] if open_holds else None,
        "lost": pairs - (expenses[0] if expenses else 0),
        "reconciled": report.ok,
        "balances_checked": report.checked,
        "server_cpu_ms_per_pair": _per_pair(server_cpu, pairs),
        "client_cpu_ms_per_pair": _per_pair(client_cpu, pairs),
    }


def raw_baseline(clients: int, accounts: int, seconds: int, host: str) -> dict[str, Any]:
    """The raw pgbench figure for the same shape of work, run now over the same transport."""
    server = CpuSampler(_backends("postgres"))  # the script's tables live in the postgres database
    client = CpuSampler(lambda command: command.split(" ", 1)[0].endswith("pgbench"))
    server.start()
    client.start()
    out = subprocess.run(  # noqa: S603 - our own script
        ["/bin/bash", str(RAW), str(clients), str(accounts), str(seconds), "-h", host, "-U", "postgres"],
        capture_output=True,
        text=True,
        check=False,
    )
    text = (out.stdout + out.stderr).strip()
    server_cpu, client_cpu = server.stop(), client.stop()
    tps = [float(line.split("=")[1].split()[0]) for line in text.splitlines() if line.startswith("tps")]
    pairs = tps[0] * seconds if tps else 0
    return {
        "pairs_per_s": round(tps[0], 1) if tps else None,
        # Server CPU includes the script's setup and teardown (a 1,000-row table: small).
        "server_cpu_ms_per_pair": _per_pair(server_cpu, pairs),
        "client_cpu_ms_per_pair": _per_pair(client_cpu, pairs),
        "output": text,
    }


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S607


def main() -> None:
    """Run every measurement, print the figures and write them to benchmarks/results/."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quotes", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--hot", type=int, default=10)
    parser.add_argument("--host", default="127.0.0.1", help="PostgreSQL host or Unix socket directory")
    parser.add_argument("--skip-quotes", action="store_true")
    parser.add_argument("--no-pre-ping", action="store_true", help="workers use an engine without pool pre-ping")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--pairs", default="checkout,accounts", help="checkout (quote+reserve+confirm), accounts (submit+confirm)"
    )
    parser.add_argument("--out", default=str(RESULTS / "checkout-postgresql.json"))
    args = parser.parse_args()
    result: dict[str, Any] = {"command": "python -m benchmarks.checkout " + " ".join(sys.argv[1:])}
    if not args.skip_quotes:
        result["quote_memory"] = quote_latency(connect("memory://"), args.quotes)
        print("quote memory", result["quote_memory"])
        path = Path("/tmp/blc_bench_checkout.db")  # noqa: S108 - a scratch file
        path.unlink(missing_ok=True)
        with connect(f"sqlite:///{path}") as sqlite_book:
            result["quote_sqlite"] = quote_latency(sqlite_book, args.quotes // 5)
        print("quote sqlite", result["quote_sqlite"])
        with connect(_fresh_pg_db("blc_bench_quote", args.host)) as pg_book:
            result["quote_postgresql"] = quote_latency(pg_book, args.quotes // 5)
        print("quote postgresql", result["quote_postgresql"])
    if not args.skip_throughput:
        url = _fresh_pg_db("blc_bench_checkout", args.host)
        codes = _seed(url, args.accounts)
        for pair in args.pairs.split(","):
            for case, subset in (("spread", codes), ("hot", codes[: args.hot])):
                name = case if pair == "checkout" else f"{pair}_{case}"
                load = _uptime()
                library = throughput(
                    url,
                    subset,
                    name,
                    args.processes,
                    args.clients,
                    args.seconds,
                    pre_ping=not args.no_pre_ping,
                    pair=pair,
                )
                raw = raw_baseline(args.clients, len(subset), int(args.seconds), args.host)
                ratio = round(library["pairs_per_s"] / raw["pairs_per_s"], 3) if raw["pairs_per_s"] else None
                result[name] = {"load_before": load, "library": library, "raw": raw, "ratio": ratio}
                print(name, json.dumps(result[name]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
