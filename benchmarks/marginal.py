"""The import rate at the size a database already has: the library against the bare driver, alternating.

    python -m benchmarks.marginal sqlite:////tmp/<kept>/bench.db --rows 10000 --rounds 2
    python -m benchmarks.marginal postgresql+psycopg://postgres@127.0.0.1/<kept db> --rows 10000 --rounds 2

Importing a whole million through the library and the raw driver takes most of an hour per engine
on this machine; what changes with size is the cost of each new row (index pages no longer in
cache, page splits and writes spread over gigabytes). This adds ``--rows`` new customers (codes and
ids numbered from ``--start``, so they are new to the database) to a kept database — e.g. the
million of ``benchmarks.scale --replicate 10`` — in turns: ``book.customers.import_rows`` (the
library: validation, workers, audit entries and events), then ``scale.raw_same_schema`` (the
library's rows, encoded untimed, written by ``sqlite3`` ``executemany`` / psycopg ``COPY`` into the
same tables), and so on for ``--rounds``. Prints one JSON line: rows per second of each turn, the
medians and their ratio. The database keeps the added rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics

from benchmarks.scale import machine, raw_same_schema, time_import


def library_turn(url: str, rows: int, start: int) -> float:
    """Rows per second of ``import_rows`` of ``rows`` generated customers numbered from ``start``."""
    from bigledger_customers import connect

    with connect(url, create=False) as book:
        result = time_import(book, rows, start=start)
    assert result["rows_ok"] == rows, result
    return float(result["rows_per_s"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--start", type=int, default=5_000_001, help="first row number (codes GEN-...)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    library: list[float] = []
    raw: list[float] = []
    start = args.start
    for _ in range(args.rounds):
        library.append(library_turn(args.url, args.rows, start))
        start += args.rows
        raw.append(raw_same_schema(args.url, args.rows, start=start)["rows_per_s"])
        start += args.rows
    with_counts = {
        "url": args.url,
        "rows_per_turn": args.rows,
        "library_rows_per_s": [round(x) for x in library],
        "raw_same_schema_rows_per_s": [round(x) for x in raw],
        "ratio_of_medians": round(statistics.median(library) / statistics.median(raw), 2),
        "load_avg": {"before": load_before, "after": os.getloadavg()},
        "run": machine(),
    }
    print(json.dumps(with_counts), flush=True)


if __name__ == "__main__":
    main()
