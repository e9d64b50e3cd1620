"""What one approval decision and the accounts part of a merge cost, each against its raw baseline.

* approval: ``book.approvals.approve`` of a pending settlement-method request (decision, audit,
  event and the handler's change in one transaction) against the same change applied at once
  (no rule), per change.
* merge: ``book.duplicates.merge`` of a funded duplicate (two currencies and one grant moved by
  ledger entries) against the same merge with no merge hooks, per merge.

Run: ``.venv/bin/python -m benchmarks.approvals --url sqlite:///tmp/approvals.db --n 100 --rounds 5``
(each round uses a fresh database; medians of the rounds are printed, with the ratios).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from collections.abc import Callable

from bigledger_customers import Actor, Book, Money, connect
from bigledger_customers.domain.approvals import ApprovalRule

ADMIN = Actor(id="maker", roles=frozenset({"admin"}))
CHECKER = Actor(id="checker", roles=frozenset({"finance_approver"}))
VALID = (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


def _fresh(url: str) -> Book:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if os.path.exists(path):
            os.remove(path)
    return connect(url)


def _customers(book: Book, prefix: str, n: int) -> list[str]:
    codes = [f"{prefix}-{i:05d}" for i in range(n)]
    for code in codes:
        book.customers.create(
            {"code": code, "name": f"Bench {code}", "country": "MY"}, actor=ADMIN, allow_duplicate=True
        )
    return codes


def _timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def approval_round(url: str, n: int) -> tuple[float, float]:
    """(seconds per direct change, seconds per approved change)."""
    with _fresh(url) as book:
        codes = _customers(book, "APR", 2 * n)
        direct, governed = codes[:n], codes[n:]
        baseline = _timed(lambda: [book.accounts.set_settlement_method(c, "prepaid", actor=ADMIN) for c in direct])
        book.approvals.configure(
            book.approvals.policy().with_rules(ApprovalRule(command="account.settlement_method")), actor=ADMIN
        )
        ids = []
        for c in governed:
            request = book.accounts.set_settlement_method(c, "prepaid", actor=ADMIN).approval
            assert request is not None
            ids.append(request.id)
        approved = _timed(lambda: [book.approvals.approve(i, actor=CHECKER) for i in ids])
    return baseline / n, approved / n


def merge_round(url: str, n: int) -> tuple[float, float]:
    """(seconds per merge without hooks, seconds per merge moving balances and a grant)."""
    with _fresh(url) as book:
        codes = _customers(book, "MRG", 4 * n)
        for i, code in enumerate(codes):
            book.accounts.top_up(code, Money("40", "MYR"), key=f"t-{i}", actor=ADMIN)
            book.accounts.top_up(code, Money("7", "USD"), key=f"u-{i}", actor=ADMIN)
        grants = [
            book.accounts.grant_rebate(
                code, Money("15", "MYR"), valid_from=VALID[0], valid_until=VALID[1], key=f"g-{i}", actor=ADMIN
            )
            for i, code in enumerate(codes)
        ]
        for grant in grants:
            assert grant.approval_id is not None
            book.approvals.approve(grant.approval_id, actor=CHECKER)
        pairs = list(zip(codes[0::2], codes[1::2], strict=True))
        raw, hooked = pairs[:n], pairs[n:]
        hooks = list(book.duplicates.merge_hooks)
        book.duplicates.merge_hooks.clear()
        baseline = _timed(lambda: [book.duplicates.merge(s, d, actor=ADMIN) for s, d in raw])
        book.duplicates.merge_hooks.extend(hooks)
        moved = _timed(lambda: [book.duplicates.merge(s, d, actor=ADMIN) for s, d in hooked])
    return baseline / n, moved / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="sqlite:////tmp/bench-approvals.db")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for name, run in (("approval", approval_round), ("merge", merge_round)):
        results = [run(args.url, args.n) for _ in range(args.rounds)]
        base = statistics.median(r[0] for r in results)
        measured = statistics.median(r[1] for r in results)
        print(
            f"{name}: baseline {base * 1000:.2f} ms, measured {measured * 1000:.2f} ms per op, "
            f"ratio {measured / base:.2f} (median of {args.rounds} rounds, n={args.n}, {args.url.split(':')[0]})"
        )


if __name__ == "__main__":
    main()
