"""An ERP sales-order module: the order row and our credit reservation commit in one transaction.

The host keeps its own ``sales_orders`` table in the same database as the customer book. Placing an
order opens *the host's* SQLAlchemy transaction, inserts the order row, and runs our credit check
and reservation on the same connection (``connect(connection)`` joins the host's transaction
through a savepoint, docs/checkout.md). Either both are committed or neither is:

- an order within the credit limit commits the row and the credit hold together;
- an order over the limit is refused before anything is written;
- a failure in the host's own code after the reservation (here: no stock) rolls back both.

Run: ``python examples/erp_sales_order.py [path/to/erp.db]`` (a temporary file by default).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from bigledger_customers import Actor, Money, NotAllowed, Order, connect
from bigledger_customers.adapters.sql import prepare_sqlite_engine

CLERK = Actor(id="sales-clerk", roles=frozenset({"admin"}))

metadata = sa.MetaData()
sales_orders = sa.Table(
    "sales_orders",
    metadata,
    sa.Column("number", sa.String(30), primary_key=True),
    sa.Column("customer", sa.String(50), nullable=False),
    sa.Column("amount", sa.Numeric(18, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reservation_id", sa.String(64), nullable=False),
)


class OutOfStock(Exception):
    """The host's own error, raised after our reservation: the whole order must roll back."""


def place_order(engine: sa.Engine, customer: str, number: str, amount: Money, *, in_stock: bool = True) -> str:
    """Insert the order and reserve its credit in one host transaction; return the reservation id."""
    with engine.begin() as connection:  # the host's transaction: commit on success, rollback on error
        book = connect(connection, create=False)  # our units of work join it
        quote = book.checkout.quote(Order(customer=customer, number=number, amount=amount))
        if not quote.ok:
            raise NotAllowed(
                "; ".join(r.message for r in quote.reasons), code="checkout_blocked", field="order", value=number
            )
        reservation = book.checkout.reserve(quote, key=f"so-{number}", actor=CLERK)
        connection.execute(
            sa.insert(sales_orders).values(
                number=number,
                customer=customer,
                amount=amount.amount,
                currency=amount.currency,
                reservation_id=reservation.id,
            )
        )
        if not in_stock:
            raise OutOfStock(f"{number}: not enough stock")
        return reservation.id


def main(path: Path) -> None:
    url = f"sqlite:///{path}"
    with connect(url) as book:  # creates our tables; set up a credit customer with an open invoice
        book.customers.create(
            {"code": "CUS-ERP", "name": {"en": "ABC Manufacturing Sdn Bhd"}, "country": "MY", "currency": "MYR"},
            actor=CLERK,
        )
        book.accounts.set_settlement_method("CUS-ERP", "credit", actor=CLERK)
        book.credit.set_profile("CUS-ERP", "MYR", limit=Money("10000", "MYR"), actor=CLERK)
        today = dt.datetime.now(dt.UTC).date()
        book.credit.post_invoice("CUS-ERP", "INV-1", Money("6000", "MYR"), issued=today, actor=CLERK)

    engine = prepare_sqlite_engine(sa.create_engine(url))
    metadata.create_all(engine)

    place_order(engine, "CUS-ERP", "SO-1", Money("3000", "MYR"))
    print("SO-1 3000.00 MYR: committed with its credit reservation")

    try:
        place_order(engine, "CUS-ERP", "SO-2", Money("2000", "MYR"))
    except NotAllowed as error:
        print(f"SO-2 2000.00 MYR: refused ({error})")

    try:
        place_order(engine, "CUS-ERP", "SO-3", Money("500", "MYR"), in_stock=False)
    except OutOfStock as error:
        print(f"SO-3 500.00 MYR: rolled back ({error})")

    with engine.connect() as connection:
        rows = connection.execute(sa.select(sales_orders.c.number).order_by(sales_orders.c.number)).scalars().all()
    engine.dispose()
    with connect(url) as book:
        exposure = book.credit.exposure("CUS-ERP", "MYR")
    print(f"orders: {', '.join(rows)}; credit exposure: {exposure.total}")
    assert rows == ["SO-1"], rows
    assert exposure.total == Money("9000", "MYR"), exposure


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(Path(folder) / "erp.db")
