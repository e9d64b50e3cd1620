"""How the batch duplicate report scales: blocking, pairs compared, seconds and peak memory.

Run: ``.venv/bin/python benchmarks/duplicates_scale.py 100000 [--baseline] [--workers 2]`` (the
customers of ``bigledger_customers.testing.generate``, the bulk benchmarks' data, as match records;
no database).

Stages, wall-clock seconds: normalise (match records), blocking (build the block index and list
every candidate pair), then the report as ``book.duplicates.report`` runs it (blocks built again,
pairs that cannot reach the threshold skipped after their cheap fields, spread over ``--workers``
processes). ``--baseline`` also times, in the same run, scoring every candidate pair in full in one
process (the previous report), and prints the ratio. ``--cpu`` instead compares CPU seconds of
this process, twice each: scoring every precomputed candidate pair in full against the pruned
``find_matches`` over a prebuilt index (which also lists the pairs), and the blocking alone.
"""

from __future__ import annotations

import argparse
import resource
import time
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from bigledger_customers.domain.duplicates import DEFAULT_WEIGHTS, BlockIndex, _score, find_matches, match_record
from bigledger_customers.services.duplicates import matches_in_parallel
from bigledger_customers.testing.generate import customers


def _view(i: int, row: dict[str, Any]) -> Any:
    contacts = [
        SimpleNamespace(email=c.get("email"), phone=c.get("phone"), mobile=c.get("mobile"))
        for c in row.get("contacts", [])
    ]
    addresses = [
        SimpleNamespace(
            lines=tuple(a.get("lines", ())),
            city=a.get("city", ""),
            state=a.get("state", ""),
            postcode=a.get("postcode", ""),
            country=a.get("country", ""),
        )
        for a in row.get("addresses", [])
    ]
    names = row.get("name") or row.get("names") or {}
    return SimpleNamespace(
        id=str(i),
        code=row.get("code", str(i)),
        legal_name=row.get("legal_name", ""),
        names=names if isinstance(names, dict) else {"en": names},
        tax_numbers=row.get("tax_numbers", {}),
        contacts=contacts,
        addresses=addresses,
    )


def main(count: int, *, workers: int, baseline: bool) -> None:
    started = time.perf_counter()
    records = [match_record(_view(i, row)) for i, row in enumerate(customers(count))]
    built = time.perf_counter()
    index = BlockIndex(records)
    pairs = sum(1 for _ in index.pairs())
    blocked = time.perf_counter()
    found = sum(1 for _ in matches_in_parallel(records, threshold=Decimal("0.5"), workers=workers, min_records=0))
    done = time.perf_counter()
    line = (
        f"customers {count}  normalise {built - started:.1f} s  blocking {blocked - built:.1f} s  "
        f"pairs compared {pairs} ({pairs / max(count, 1):.1f} per customer; "
        f"all pairs would be {count * (count - 1) // 2})  "
        f"report ({workers} worker(s), blocking included) {done - blocked:.1f} s  likely pairs {found}"
    )
    if baseline:
        floor = 0.499
        full = sum(1 for i, j in index.pairs() if _score(records[i], records[j], DEFAULT_WEIGHTS)[0] >= floor)
        base = time.perf_counter() - done
        line += f"  | baseline: every pair scored in full, 1 process {base:.1f} s ({full} pairs >= 0.499)"
        line += f"  ratio baseline/(report - blocking) {base / max(done - blocked - (blocked - built), 1e-9):.2f}"
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{line}  peak RSS {peak_mib:.0f} MiB")


def cpu(count: int) -> None:
    records = [match_record(_view(i, row)) for i, row in enumerate(customers(count))]
    index = BlockIndex(records)
    pairs = list(index.pairs())

    def timed(label: str, run: Any) -> None:
        started = time.process_time()
        result = run()
        print(f"{label}: {time.process_time() - started:.1f} CPU s ({result})", flush=True)

    print(f"customers {count}  pairs {len(pairs)}")
    for _ in range(2):
        timed(
            "every pair scored in full",
            lambda: sum(1 for i, j in pairs if _score(records[i], records[j], DEFAULT_WEIGHTS)[0] >= 0.499),
        )
        timed("pruned find_matches, pairs listed included", lambda: sum(1 for _ in find_matches(records, index=index)))
        timed("blocking: build the index and list the pairs", lambda: sum(1 for _ in BlockIndex(records).pairs()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int, nargs="?", default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args()
    if args.cpu:
        cpu(args.count)
    else:
        main(args.count, workers=args.workers, baseline=args.baseline)
