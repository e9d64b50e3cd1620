"""A sales rep's search and export against the same query without a scope (issue 8).

The data scope is an equality on the indexed ``sales_rep`` column inside the query, so a rep's
search should cost what the host's own search with ``sales_rep=`` costs for the same rows. This
times both, side by side, on the generator's customers (seed 1), for a rep with a median book
(about 190 customers at 100,000) and for the largest book (REP001, about 6 % of all customers)::

    .venv/bin/python -m benchmarks.scoped_search --count 100000 --engines sqlite,postgresql

Each case runs ``--repeat`` times after one warm-up, the scoped and the unscoped call alternating
(so load on a shared machine hits both alike); p50/p95 in milliseconds. "same SQL" says whether
both calls sent byte-for-byte the same statements (parameters aside): then the plans are the same. Results go to
``benchmarks/results/scoped-<engine>-<count>.json`` and a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.scale import RESULTS, SEED, _pg_database, _setup, _summary, machine, time_import


def _cases(book: Any, rep: str) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """name -> (scoped call as the rep, the same query unscoped with an explicit ``sales_rep=`` filter)."""
    from bigledger_customers import Actor

    actor = Actor(id=f"bench-{rep}", roles={"sales_rep"}, sales_rep=rep)
    host = Actor(id="bench-admin", roles={"admin"})
    s = book.customers
    return {
        "first page by name": (
            lambda: s.search(sort="name", actor=actor),
            lambda: s.search(sort="name", sales_rep=rep, actor=host),
        ),
        "active, by code, page 1": (
            lambda: s.search(status="active", actor=actor),
            lambda: s.search(status="active", sales_rep=rep, actor=host),
        ),
        "text 'trading'": (
            lambda: s.search("trading", actor=actor),
            lambda: s.search("trading", sales_rep=rep, actor=host),
        ),
        "export (every row)": (
            lambda: sum(1 for _ in s.export(actor=actor)),
            lambda: sum(1 for _ in s.export(sales_rep=rep, actor=host)),
        ),
    }


def _time_pair(a: Callable[[], Any], b: Callable[[], Any], repeat: int) -> tuple[list[float], list[float]]:
    """Milliseconds per call of ``a`` and ``b``, alternating so that load on the machine hits both alike."""
    a(), b()  # warm-up
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for call, out in ((a, samples[0]), (b, samples[1])):
            started = time.perf_counter()
            call()
            out.append((time.perf_counter() - started) * 1000)
    return samples


def _statements(book: Any, call: Callable[[], Any]) -> list[str]:
    """The SQL text ``call`` sends (parameters left out)."""
    import sqlalchemy as sa

    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(book.store.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa.event.remove(book.store.engine, "before_cursor_execute", record)
    return seen


def run(engine: str, count: int, repeat: int) -> dict[str, Any]:
    """Import ``count`` customers on ``engine`` and time every case for two reps."""
    from bigledger_customers import connect
    from bigledger_customers.testing.generate import customers

    books = Counter(row.get("sales_rep") for row in customers(count, seed=SEED))
    ranked = [rep for rep, _ in books.most_common() if rep]
    reps = {"median book": ranked[len(ranked) // 2], "largest book": ranked[0]}
    tmp = Path(tempfile.mkdtemp(prefix="blc-scoped-"))
    url = f"sqlite:///{tmp / 'bench.db'}" if engine == "sqlite" else _pg_database("blc_bench_scoped")
    result: dict[str, Any] = {"engine": engine, "count": count, "machine": machine(), "cases": []}
    with connect(url) as book:
        _setup(book)
        result["import"] = time_import(book, count)
        for label, rep in reps.items():
            for name, (scoped, unscoped) in _cases(book, rep).items():
                a, b = _time_pair(scoped, unscoped, repeat)
                result["cases"].append(
                    {
                        "rep": f"{label} ({rep}, {books[rep]} customers)",
                        "case": name,
                        "same_sql": _statements(book, scoped) == _statements(book, unscoped),
                        "scoped": _summary(a),
                        "unscoped_same_filter": _summary(b),
                    }
                )
    if engine == "postgresql":
        _pg_database("blc_bench_scoped", drop_only=True)
    return result


def table(results: list[dict[str, Any]]) -> str:
    """The Markdown table of docs/performance.md."""
    lines = [
        "| engine | rep | case | scoped p50 / p95 ms | unscoped, same filter p50 / p95 ms | same SQL |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        for c in r["cases"]:
            s, u = c["scoped"], c["unscoped_same_filter"]
            lines.append(
                f"| {r['engine']} {r['count']:,} | {c['rep']} | {c['case']} | "
                f"{s['p50_ms']} / {s['p95_ms']} | {u['p50_ms']} / {u['p95_ms']} | "
                f"{'yes' if c.get('same_sql') else 'no'} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    results = []
    for engine in args.engines.split(","):
        result = run(engine, args.count, args.repeat)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"scoped-{engine}-{args.count}.json").write_text(json.dumps(result, indent=2) + "\n")
        results.append(result)
    print(table(results))


if __name__ == "__main__":
    main()
