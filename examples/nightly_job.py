"""A nightly job: expire overdue holds and rebate grants, print the aging report, and work the
dunning list (who gets a reminder, a warning, or has supply stopped).

A host runs this from cron or its scheduler once a day, as the system actor. Here the book is set up
a few months earlier on a clock the example controls, so the output is the same on every run.

Run: ``python examples/nightly_job.py [path/to/ledger.db]`` (a temporary file by default).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from bigledger_customers import SYSTEM, Actor, Book, Money, connect
from bigledger_customers.testing import FrozenClock

CLERK = Actor(id="ar-clerk", roles=frozenset({"admin"}))
APPROVER = Actor(id="fiona", roles=frozenset({"finance_approver"}))


def nightly(book: Book, as_of: dt.datetime) -> dict[str, str]:
    """The job itself: returns the dunning action due per customer code."""
    expired = book.accounts.expire(as_of=as_of, actor=SYSTEM)
    print(f"expired: {expired.holds} hold(s), {expired.grants} rebate grant(s)")

    report = book.credit.aging(as_of.date())
    codes = {row.customer_id: book.customers.get(row.customer_id).code for row in report.rows if row.customer_id}
    print(f"aging as of {report.as_of}: " + " | ".join(report.bucket_names))
    for row in sorted(report.rows, key=lambda r: codes[r.customer_id or ""]):
        cells = " | ".join(str(row.buckets.get(name, Money.zero(row.currency)).amount) for name in report.bucket_names)
        print(f"  {codes[row.customer_id or '']:<8} {row.currency} {cells}")
    for total in report.totals:
        print(f"  total    {total.currency} {total.total}")

    actions: dict[str, str] = {}
    statuses = [(book.customers.get(s.customer_id).code, s) for s in book.credit.dunning(as_of.date())]
    for code, status in sorted(statuses, key=lambda pair: pair[0]):
        level = status.level.name if status.level else "-"
        action = status.next_action or "none"
        actions[code] = action
        print(f"dunning {code}: {status.oldest_overdue_days} days overdue, level {level}, action {action}")
    return actions


def main(path: Path) -> None:
    clock = FrozenClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    with connect(f"sqlite:///{path}", clock=clock) as book:
        for code, limit in (("CUS-A", "20000"), ("CUS-B", "5000"), ("CUS-C", "8000")):
            book.customers.create(
                {"code": code, "name": {"en": f"Customer {code[-1]} Sdn Bhd"}, "country": "MY", "currency": "MYR"},
                actor=CLERK,
            )
            book.accounts.set_settlement_method(code, "credit", actor=CLERK)
            book.credit.set_profile(code, "MYR", limit=Money(limit, "MYR"), actor=CLERK)
        day = dt.date(2026, 1, 5)
        book.credit.post_invoice(
            "CUS-A", "INV-100", Money("4000", "MYR"), issued=day, due=dt.date(2026, 3, 20), actor=CLERK
        )
        book.credit.post_invoice(
            "CUS-B", "INV-101", Money("1200", "MYR"), issued=day, due=dt.date(2026, 2, 4), actor=CLERK
        )
        book.credit.post_invoice(
            "CUS-C", "INV-102", Money("2500", "MYR"), issued=day, due=dt.date(2026, 1, 10), actor=CLERK
        )
        book.credit.post_payment("CUS-C", "PAY-1", Money("500", "MYR"), received=dt.date(2026, 1, 20), actor=CLERK)

        # A seasonal rebate that ends on 1 February, and an order hold nobody confirmed.
        start = clock.now()
        grant = book.accounts.grant_rebate(
            "CUS-A",
            Money("300", "MYR"),
            valid_from=start,
            valid_until=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
            key="promo-cny",
            actor=CLERK,
        )
        if grant.approval_id is not None:
            book.accounts.approve(grant.approval_id, actor=APPROVER)
        book.accounts.top_up("CUS-A", Money("1000", "MYR"), key="tp-a", actor=CLERK)
        book.accounts.submit_payment("CUS-A", prepayment=Money("250", "MYR"), order="SO-9", key="pay-so-9", actor=CLERK)

        run_at = clock.set(dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC))
        actions = nightly(book, run_at)

        balance = book.accounts.balance("CUS-A", "MYR")
        assert (balance.locked, balance.rebate_available) == (Money.zero("MYR"), Money.zero("MYR")), balance
        assert set(actions) == {"CUS-B", "CUS-C"}, actions
        again = book.accounts.expire(as_of=run_at, actor=SYSTEM)  # a second run the same night finds nothing
        assert (again.holds, again.grants) == (0, 0), again


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(Path(folder) / "ledger.db")
