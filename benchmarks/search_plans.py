"""The search mix of ``benchmarks.scale`` with HEAD's PostgreSQL plans or this version's, one process each.

    python -m benchmarks.search_plans postgresql+psycopg://postgres@127.0.0.1/<kept db> 1000000 old
    python -m benchmarks.search_plans postgresql+psycopg://postgres@127.0.0.1/<kept db> 1000000 new
    python -m benchmarks.search_plans sqlite:////tmp/<kept dir>/bench.db 1000000 old

``old`` switches off the plan changes of migrations 0008_search and 0009_search_sqlite
(docs/performance.md, "How search stays fast"): the index-only bigram scan (``_gram_scan_tokens``
returns None, on PostgreSQL and SQLite) and PostgreSQL's ``strpos`` term check (an escaped ``LIKE``
again). Run old and new alternately in the same minutes on the same database: one JSON line each,
wall p50 / p95 ms by query kind, then this process's CPU p50 / p95 ms (``cpu``), and the load average.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import sqlalchemy as sa

from benchmarks.scale import time_search


def _old_plans() -> None:
    from bigledger_customers.adapters.sql import _search
    from bigledger_customers.domain.search import is_identifier

    c, k = _search._c, _search._k

    def like_term(dialect: str, term: str) -> sa.ColumnElement[bool]:
        found = (
            sa.func.instr(c.search_text, term) > 0
            if dialect == "sqlite"
            else c.search_text.contains(term, autoescape=True)
        )
        if is_identifier(term):
            return sa.and_(found, sa.exists().where(k.customer_id == c.id, *_search._key_range(term)))
        return found

    def no_gram_scan(*_: Any) -> None:
        return None

    _search._gram_scan_tokens = no_gram_scan  # type: ignore[assignment]
    _search._term_condition = like_term


def main(argv: list[str]) -> None:
    from bigledger_customers import connect

    url, count, which = argv[0], int(argv[1]), argv[2]
    if which == "old":
        _old_plans()
    load = os.getloadavg()
    with connect(url, create=False) as book:
        search = time_search(book, count)
    print(
        json.dumps(
            {
                "plans": which,
                "load": load,
                "load_after": os.getloadavg(),
                **{k: [v["p50_ms"], v["p95_ms"]] for k, v in search.items()},
                "cpu": {k: [v["cpu_p50_ms"], v["cpu_p95_ms"]] for k, v in search.items()},
            },
            ensure_ascii=False,
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
