"""Enabling customer accounts at scale (DESIGN.md sections 5 and 7): ``book.accounts.enable`` timed alone.

Run: ``.venv/bin/python -m benchmarks.enable_accounts [--count 1000000] [--engines sqlite,postgresql]``

The customers are seeded without the slow import: a handful are created through the library, then
copied inside the engine with one ``INSERT ... SELECT`` over a generated series (as
``benchmarks.scale.replicate`` does), each copy with its own id, code and a short search text (the
search text is not what is measured here); on PostgreSQL the table is then vacuumed as autovacuum
would have done to customers imported earlier. Only ``enable`` is timed: set-based batches of
``INSERT ... SELECT`` of the customers without an account, one transaction per batch, the position
saved with each batch, the ``accounts.enabled`` event in the last one. Afterwards every customer must
have exactly one account and the event must be in the outbox once.

Not a test: figures go to docs/performance.md (section "Accounts") and benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bigledger_customers import Actor, connect

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PG_ADMIN = os.environ.get("BLC_BENCH_PG", "host=127.0.0.1 user=postgres dbname=postgres")
ADMIN = Actor(id="bench", roles={"admin"})
SEED_CUSTOMERS = 100
_COLUMNS = "status, customer_type, category, level, region, sales_rep, branch, version, created_at, updated_at"


def _pg_url(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1/{name}"


def seed(url: str, count: int) -> float:
    """``count`` customers: ``SEED_CUSTOMERS`` through the library, the rest copied in the engine; seconds."""
    began = time.perf_counter()
    with connect(url) as book:
        for i in range(SEED_CUSTOMERS):
            book.customers.create({"code": f"EN-{i:04d}", "name": {"en": f"Enable {i}"}, "country": "MY"}, actor=ADMIN)
    engine = sa.create_engine(url)
    copies = max(0, count // SEED_CUSTOMERS - 1)
    with engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        recursive = f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {copies})"  # noqa: S608
        series = f"generate_series(1, {copies}) AS g(n)" if pg else f"({recursive} SELECT n FROM s) AS g"  # noqa: S608
        cast, back = ("::text", "::json") if pg else ("", "")
        conn.exec_driver_sql(  # numbers and fixed names only
            f"""INSERT INTO customers (id, code, code_key, name_key, search_text, search_grams, doc, {_COLUMNS})
            SELECT c.id || '-r' || g.n, c.code || '-R' || g.n, c.code_key || '-r' || g.n, c.name_key,
                   c.code_key || '-r' || g.n, '',
                   replace(replace(c.doc{cast}, c.id, c.id || '-r' || g.n),
                           '"code": "' || c.code || '"', '"code": "' || c.code || '-R' || g.n || '"'){back},
                   {", ".join("c." + name.strip() for name in _COLUMNS.split(","))}
            FROM customers c CROSS JOIN {series}"""  # noqa: S608
        )
        if not pg:
            conn.exec_driver_sql("ANALYZE")
    if engine.dialect.name == "postgresql":
        # What autovacuum does to a table of long-standing customers: statistics and the visibility
        # map (without it, reading the ids in order fetches every heap page of a fresh table).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE customers")
    engine.dispose()
    return time.perf_counter() - began


def run(engine_name: str, count: int, batch: int) -> dict[str, Any]:
    """Seed ``count`` customers on ``engine_name`` and time enabling their accounts."""
    tmp = None
    if engine_name == "sqlite":
        tmp = tempfile.mkdtemp(prefix="blc_enable_")
        url = f"sqlite:///{tmp}/enable.db"
    else:
        url = _pg_url("blc_bench_enable")
    seeded = seed(url, count)
    progress: list[tuple[int, int]] = []
    with connect(url) as book:
        began = time.perf_counter()
        report = book.accounts.enable(batch_size=batch, on_progress=lambda d, t: progress.append((d, t)), actor=ADMIN)
        elapsed = time.perf_counter() - began
        again = book.accounts.enable(actor=ADMIN)  # safe to run twice: creates nothing
        events = [e for e in book.events.read(after=0, limit=10_000) if e.type == "accounts.enabled"]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        customers = conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one()
        accounts = conn.exec_driver_sql("SELECT count(*) FROM accounts").scalar_one()
        missing = conn.exec_driver_sql(
            "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = c.id)"
        ).scalar_one()
    engine.dispose()
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "engine": engine_name,
        "customers": int(customers),
        "batch_size": batch,
        "seed_s": round(seeded, 1),
        "enable_s": round(elapsed, 1),
        "accounts_per_s": round(report.created / elapsed),
        "created": report.created,
        "accounts": int(accounts),
        "missing": int(missing),
        "batches": len(progress),
        "second_run_created": again.created,
        "enabled_events": len(events),
        "target_s": 60 if engine_name == "sqlite" else 90,
        "load": _uptime(),
    }


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S607


def main() -> None:
    """Seed, enable, check and write one JSON file per engine."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for engine_name in args.engines.split(","):
        result = run(engine_name, args.count, args.batch)
        print(json.dumps(result))
        (RESULTS / f"enable-{engine_name}-{args.count}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
