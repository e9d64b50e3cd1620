"""Client CPU of the scale benchmark's search mix and of point reads, old tree against new (issue 4).

On PostgreSQL most of a search call's time is this process's CPU (building the statements,
psycopg, decoding the JSON and structuring 20 customers), not the server's: this times
``time.process_time()`` of each call of :func:`benchmarks.scale._queries` (the page-N paging is not
timed, as there) and of ``book.customers.get(code)`` / ``get(id)`` for 200 customers, on an
existing database that it only reads (``connect(url, create=False)``). A round is one pass after
one untimed warm-up pass; the figure of a kind is the median over every call of every round.

Compare two source trees in the same minutes, rounds alternating (old, new, old, new...) so that
load from the neighbours on a shared machine hits both alike::

    git archive HEAD | tar -x -C /tmp/a_old
    .venv/bin/python -m benchmarks.search_cpu postgresql+psycopg://postgres@127.0.0.1/blc_bench_7364 \\
        --count 100000 --old /tmp/a_old/src --new src --rounds 6

``--count`` is the count the database was built with (the phone and tax-number terms come from
the generator's customers of that count). Each round runs in a fresh subprocess with
``PYTHONPATH=<tree>:<this repository>``; without ``--old`` one round runs in this process.
Prints a Markdown table (median ms per call, new/old) and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _codes(count: int, n: int = 200) -> list[str]:
    """Codes of ``n`` of the generator's customers (as ``benchmarks.scale.time_gets`` picks them)."""
    rng = random.Random(7)
    return [f"GEN-{rng.randrange(1, count + 1):07d}" for _ in range(n)]


def one_round(url: str, count: int) -> dict[str, list[float]]:
    """CPU milliseconds of every timed call, by kind, after one untimed warm-up pass."""
    from benchmarks.scale import _queries
    from bigledger_customers import connect

    queries = list(_queries(count))
    codes = _codes(count)
    with connect(url, create=False) as book:
        ids = [book.customers.get(code).id for code in codes]
        cpu: dict[str, list[float]] = {}
        for timed in (False, True):
            for kind, args, page_no in queries:
                cursor = None
                for _ in range(page_no - 1):
                    cursor = book.customers.search(**args, cursor=cursor, count_limit=0).next_cursor
                started = time.process_time()
                page = book.customers.search(**args, cursor=cursor)
                if timed:
                    cpu.setdefault(kind, []).append((time.process_time() - started) * 1000)
                if kind in ("exact phone", "exact tax number"):
                    assert page.items, (kind, args)
            for code, customer_id in zip(codes, ids, strict=True):
                for kind, ref in (("get by code", code), ("get by id", customer_id)):
                    started = time.process_time()
                    book.customers.get(ref)
                    if timed:
                        cpu.setdefault(kind, []).append((time.process_time() - started) * 1000)
    return cpu


def _subprocess_round(tree: str, url: str, count: int) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": f"{Path(tree).resolve()}{os.pathsep}{ROOT}"}
    command = [sys.executable, "-m", "benchmarks.search_cpu", url, "--count", str(count), "--calls"]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd="/")  # noqa: S603 - this script
    result: dict[str, list[float]] = json.loads(out.stdout.splitlines()[-1])
    return result


def _medians(calls: dict[str, list[float]]) -> dict[str, float]:
    every = [ms for kind, values in calls.items() if not kind.startswith("get") for ms in values]
    return {"search (all)": statistics.median(every), **{k: statistics.median(v) for k, v in calls.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a database built by benchmarks.scale (read only)")
    parser.add_argument("--count", type=int, required=True, help="the count it was built with")
    parser.add_argument("--old", help="src/ of the baseline tree")
    parser.add_argument("--new", default=str(ROOT / "src"), help="src/ of the tree to measure (default: this one)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", action="store_true", help="one round here, every call's ms as JSON")
    args = parser.parse_args(argv)
    if args.calls:
        print(json.dumps(one_round(args.url, args.count)))
        return
    if args.old is None:
        new = _medians(one_round(args.url, args.count))
        print(json.dumps({"url": args.url, "cpu_median_ms": {k: round(v, 4) for k, v in new.items()}}))
        return
    calls: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    for _ in range(args.rounds):
        for side, tree in (("old", args.old), ("new", args.new)):
            for kind, values in _subprocess_round(tree, args.url, args.count).items():
                calls[side].setdefault(kind, []).extend(values)
    old, new = _medians(calls["old"]), _medians(calls["new"])
    print("| kind | old ms | new ms | new/old |\n| --- | ---: | ---: | ---: |")
    for kind in old:
        print(f"| {kind} | {old[kind]:.3f} | {new[kind]:.3f} | {new[kind] / old[kind]:.2f} |")
    summary = {k: {"old": round(old[k], 4), "new": round(new[k], 4), "ratio": round(new[k] / old[k], 3)} for k in old}
    print(json.dumps({"url": args.url, "rounds": args.rounds, "cpu_median_ms": summary}))


if __name__ == "__main__":
    main()
