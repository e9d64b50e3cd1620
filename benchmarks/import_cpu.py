"""CPU per imported row, for comparing two source trees in the same minutes (issue 4).

Run with ``PYTHONPATH`` pointing at the tree to measure (e.g. a copy of HEAD made with
``git archive HEAD | tar -x -C /tmp/old``), alternating old and new:

- ``.venv/bin/python benchmarks/import_cpu.py import 10000``: ``import_rows`` of the generator's
  rows (seed 1) into a fresh SQLite file, workers included; CPU is ``time.process_time()`` plus the
  children's user+system time (``resource.getrusage(RUSAGE_CHILDREN)``).
- ``.venv/bin/python benchmarks/import_cpu.py import 10000 0``: the same with ``workers=0`` (all in
  one process: no second core, so less noise from the neighbours sharing it).
- ``.venv/bin/python benchmarks/import_cpu.py encode 10000``: the workers' encoding step alone
  (``encode_new_customer``) over the same customers built once, median of 5 passes, one process.
- ``.venv/bin/python benchmarks/import_cpu.py build 10000``: the workers' whole step (``_prepare``:
  validate, build and encode each new row) in one process, per-value caches cleared before each of
  5 passes, median.

Prints one JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run_import(count: int, workers: int | None = None) -> dict[str, Any]:
    from bigledger_customers import Actor, connect
    from bigledger_customers.testing.generate import customers, reference_data

    tmp = Path(tempfile.mkdtemp(prefix="blc-cpu-"))
    try:
        with connect(f"sqlite:///{tmp / 'bench.db'}") as book:
            admin = Actor(id="bench", roles={"admin"})
            for kind, code in reference_data():
                book.reference.add(kind, code, actor=admin)
            rows = list(customers(count, seed=1))
            cpu, children, wall = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            report = book.customers.import_rows(rows, actor=admin, workers=workers)
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            child = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    finally:
        for path in tmp.glob("*"):
            path.unlink()
        tmp.rmdir()
    return {
        "workers": workers,
        "rows_ok": report.rows_ok,
        "self_s": round(cpu, 3),
        "children_s": round(child, 3),
        "cpu_ms_per_row": round((cpu + child) / count * 1000, 4),
        "wall_s": round(wall, 2),
    }


def run_encode(count: int) -> dict[str, Any]:
    from bigledger_customers.adapters.sql._repositories import encode_new_customer
    from bigledger_customers.domain import duplicates
    from bigledger_customers.services import bulk
    from bigledger_customers.testing.generate import customers, reference_data

    references: dict[str, dict[str, str]] = {}
    for kind, code in reference_data():
        references.setdefault(kind, {})[code.casefold()] = code
    context = bulk._Context(references=references, definitions={})
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    built = [bulk._new_customer(row, f"c{i}", now, context) for i, row in enumerate(customers(count, seed=1))]
    passes = []
    for _ in range(5):
        duplicates.normalise_name.cache_clear()
        started = time.process_time()
        for customer in built:
            encode_new_customer(customer)
        passes.append(time.process_time() - started)
    passes.sort()
    return {"rows": len(built), "median_us_per_row": round(passes[2] / len(built) * 1e6, 1)}


def run_build(count: int) -> dict[str, Any]:
    from bigledger_customers.adapters.sql._repositories import encode_new_customer
    from bigledger_customers.domain import duplicates, validation
    from bigledger_customers.services import bulk
    from bigledger_customers.testing.generate import customers, reference_data

    references: dict[str, dict[str, str]] = {}
    for kind, code in reference_data():
        references.setdefault(kind, {})[code.casefold()] = code
    context = bulk._Context(references=references, definitions={}, encode=encode_new_customer)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [(i, row, f"c{i}") for i, row in enumerate(customers(count, seed=1), start=1)]
    passes = []
    for _ in range(5):
        for cache in (validation._phone, validation._email_domain, duplicates.normalise_name):
            cache.cache_clear()
        started = time.process_time()
        for i in range(0, len(rows), 500):  # the chunks a worker gets
            bulk._prepare(rows[i : i + 500], now, context)
        passes.append(time.process_time() - started)
    passes.sort()
    return {"rows": len(rows), "median_us_per_row": round(passes[2] / len(rows) * 1e6, 1)}


def main() -> None:
    mode, count = sys.argv[1], int(sys.argv[2])
    if mode == "import":
        result = run_import(count, int(sys.argv[3]) if len(sys.argv) > 3 else None)
    elif mode == "build":
        result = run_build(count)
    else:
        result = run_encode(count)
    print(json.dumps({"tree": os.environ.get("PYTHONPATH", ""), "mode": mode, **result}))


if __name__ == "__main__":
    main()
