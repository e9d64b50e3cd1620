"""How the batch duplicate report scales: blocking, pairs compared, seconds and peak memory.

Run: ``.venv/bin/python benchmarks/duplicates_scale.py 100000`` (the customers of
``bigledger_customers.testing.generate``, the bulk benchmarks' data, as match records; no database).
"""

from __future__ import annotations

import resource
import sys
import time
from types import SimpleNamespace
from typing import Any

from bigledger_customers.domain.duplicates import candidate_pairs, find_matches, match_record
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


def main(count: int) -> None:
    started = time.perf_counter()
    records = [match_record(_view(i, row)) for i, row in enumerate(customers(count))]
    built = time.perf_counter()
    pairs = sum(1 for _ in candidate_pairs(records))
    blocked = time.perf_counter()
    found = sum(1 for _ in find_matches(records))
    done = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"customers {count}  normalise {built - started:.1f} s  blocking {blocked - built:.1f} s  "
        f"pairs compared {pairs} ({pairs / max(count, 1):.1f} per customer; "
        f"all pairs would be {count * (count - 1) // 2})  "
        f"report {done - blocked:.1f} s  likely pairs {found}  peak RSS {peak_mib:.0f} MiB"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
