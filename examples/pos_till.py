"""A point-of-sale till paying from the customer's prepayment and rebate: quote, reserve, confirm,
reject, and a retry with the same idempotency key after a timeout.

The till derives every idempotency key from the sale (``till-7/sale-1001/reserve``), so when the
network drops the answer to ``reserve`` the till can simply send the same request again: the book
replays the first outcome instead of holding the money twice.

Run: ``python examples/pos_till.py [path/to/till.db]`` (a temporary file by default).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bigledger_customers import Actor, Book, Money, Order, Reservation, connect

T = TypeVar("T")
CASHIER = Actor(id="till-7", roles=frozenset({"admin"}))
APPROVER = Actor(id="fiona", roles=frozenset({"finance_approver"}))


class FlakyNetwork:
    """Drops the answer of the first call it is asked to drop: the command ran, the till never heard."""

    def __init__(self) -> None:
        self.drop_next = False

    def call(self, command: Callable[[], T]) -> T:
        result = command()
        if self.drop_next:
            self.drop_next = False
            raise TimeoutError("no answer from the server")
        return result


def with_retry(network: FlakyNetwork, command: Callable[[], T], *, attempts: int = 3) -> T:
    """What a till does on a timeout: send the very same request (same key) again."""
    for attempt in range(1, attempts + 1):
        try:
            return network.call(command)
        except TimeoutError as error:
            print(f"  attempt {attempt}: {error}; retrying with the same key")
    raise TimeoutError("gave up")


def sell(book: Book, network: FlakyNetwork, customer: str, sale: str, amount: Money) -> Reservation:
    """Quote and reserve one sale; the cashier then confirms or rejects it."""
    quote = book.checkout.quote(Order(customer=customer, number=sale, amount=amount))
    plan = quote.plan
    print(f"{sale} {amount}: rebate {plan.rebate}, prepayment {plan.prepayment}, cash {plan.cash}")
    return with_retry(network, lambda: book.checkout.reserve(quote, key=f"till-7/{sale}/reserve", actor=CASHIER))


def main(path: Path) -> None:
    with connect(f"sqlite:///{path}") as book:
        book.customers.create(
            {"code": "CUS-POS", "name": {"en": "Lim Mei Ling"}, "type": "b2c", "country": "MY", "currency": "MYR"},
            actor=CASHIER,
        )
        book.accounts.top_up("CUS-POS", Money("200", "MYR"), key="tp-1", actor=CASHIER)
        now = dt.datetime.now(dt.UTC)
        grant = book.accounts.grant_rebate(
            "CUS-POS",
            Money("15", "MYR"),
            valid_from=now,
            valid_until=now + dt.timedelta(days=90),
            key="welcome-rebate",
            actor=CASHIER,
        )
        if grant.approval_id is not None:
            book.accounts.approve(grant.approval_id, actor=APPROVER)
        network = FlakyNetwork()

        # Sale 1: the answer to reserve is lost; the retry with the same key returns the same reservation.
        network.drop_next = True
        first = sell(book, network, "CUS-POS", "sale-1001", Money("80", "MYR"))
        balance = book.accounts.balance("CUS-POS", "MYR")
        print(f"  held once: locked {balance.locked}, rebate locked {balance.rebate_locked}")
        assert balance.locked == first.plan.prepayment, balance
        confirmed = book.checkout.confirm(first, key="till-7/sale-1001/confirm", actor=CASHIER)
        print(f"  {confirmed.state.value}")

        # Sale 2: the customer walks away; the cashier rejects and everything held is released.
        second = sell(book, network, "CUS-POS", "sale-1002", Money("50", "MYR"))
        rejected = book.checkout.reject(second, key="till-7/sale-1002/reject", reason="customer left", actor=CASHIER)
        print(f"  {rejected.state.value}")

        # A confirm that times out is retried too: the second answer is the first one, replayed.
        third = sell(book, network, "CUS-POS", "sale-1003", Money("30", "MYR"))
        network.drop_next = True
        done = with_retry(network, lambda: book.checkout.confirm(third, key="till-7/sale-1003/confirm", actor=CASHIER))
        print(f"  {done.state.value}")

        balance = book.accounts.balance("CUS-POS", "MYR")
        print(f"balance: {balance.actual} prepayment, {balance.rebate_actual} rebate, {balance.locked} locked")
        assert balance.locked.is_zero(), balance
        assert balance.rebate_locked.is_zero(), balance
        assert balance.actual + balance.rebate_actual == Money("105", "MYR"), balance  # 215 - 80 - 30


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(Path(folder) / "till.db")
