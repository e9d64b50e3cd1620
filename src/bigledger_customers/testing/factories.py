"""Factories for tests: customer data, created customers, funded accounts, rebate grants and invoices.

Every factory has sensible defaults and takes keyword overrides; the ones that write go through the
public services of the :class:`~bigledger_customers.Book` they are given (so they work on any
adapter), with an actor that may do everything (:data:`FACTORY_ACTOR`) unless told otherwise, and
with idempotency keys of their own.

>>> from bigledger_customers import Money, connect
>>> book = connect("memory://")
>>> customer = create_customer(book, currency="CNY")
>>> customer.code, customer.currency
('CUS-000001', 'CNY')
>>> str(fund_account(book, customer, Money("500", "CNY")).available)
'500.00 CNY'
>>> grant = rebate_grant(book, customer, Money("80", "CNY"))
>>> grant.status, str(book.accounts.balance(customer.code, "CNY").rebate_available)
(<GrantStatus.APPROVED: 'approved'>, '80.00 CNY')
>>> doc = invoice(book, customer, Money("1200", "CNY"))
>>> doc.number, str(doc.amount)
('INV-...', '1200.00 CNY')
>>> book.close()
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, Final

from bigledger_customers._book import Book
from bigledger_customers.domain.accounts import RecordStatus
from bigledger_customers.domain.credit import CreditProfile, PostedDocument
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.rebates import GrantStatus, RebateGrant
from bigledger_customers.domain.records import Actor
from bigledger_customers.money import Money
from bigledger_customers.services.accounts import AccountBalance

__all__ = [
    "APPROVER",
    "FACTORY_ACTOR",
    "create_customer",
    "credit_customer",
    "customer_data",
    "fund_account",
    "invoice",
    "rebate_grant",
]

#: The actor factories act as by default: an administrator (may do everything).
FACTORY_ACTOR: Final = Actor(id="factory", roles=frozenset({"admin"}))
#: The second person who approves what :data:`FACTORY_ACTOR` submits (maker-checker).
APPROVER: Final = Actor(id="factory-approver", roles=frozenset({"finance_approver"}))

_numbers = itertools.count(1)


def _next() -> int:
    return next(_numbers)


def customer_data(**overrides: Any) -> dict[str, Any]:
    """A mapping :meth:`~bigledger_customers.services.customers.CustomerService.create` accepts.

    A Malaysian wholesale customer in MYR with one contact and a billing address; every key can be
    overridden (``None`` removes it). Names are numbered so that each call gives a new customer.

    >>> data = customer_data(country="CN", currency="CNY", contacts=None)
    >>> data["country"], data["currency"], "contacts" in data
    ('CN', 'CNY', False)
    """
    n = _next()
    data: dict[str, Any] = {
        "name": {"en": f"Test Trading {n} Sdn Bhd"},
        "type": "wholesale",
        "country": "MY",
        "currency": "MYR",
        "contacts": [{"name": f"Contact {n}", "email": f"buyer{n}@example.com", "phone": "+60 12-345 6789"}],
        "addresses": [{"kind": "billing", "lines": [f"{n} Jalan Ampang"], "city": "Kuala Lumpur", "country": "MY"}],
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def create_customer(book: Book, *, actor: Actor = FACTORY_ACTOR, **overrides: Any) -> Customer:
    """Create a customer from :func:`customer_data` with ``overrides`` and return it."""
    return book.customers.create(customer_data(**overrides), actor=actor)


def fund_account(
    book: Book,
    customer: Customer | str,
    amount: Money,
    *,
    key: str | None = None,
    actor: Actor = FACTORY_ACTOR,
) -> AccountBalance:
    """Put ``amount`` on the customer's prepayment account and return the balance after it.

    Uses an offline income (bank transfer) approved by :data:`APPROVER`, so no platform fee is
    charged and the balance grows by exactly ``amount``.
    """
    ref = customer if isinstance(customer, str) else customer.code
    income = book.accounts.record_income(
        ref, amount, method="bank_transfer", key=key or f"factory-income-{_next()}", actor=actor
    )
    if income.approval_id is not None and income.status is RecordStatus.PENDING:
        book.accounts.approve(income.approval_id, actor=APPROVER)
    return book.accounts.balance(ref, amount.currency)


def rebate_grant(
    book: Book,
    customer: Customer | str,
    amount: Money,
    *,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    approve: bool = True,
    key: str | None = None,
    actor: Actor = FACTORY_ACTOR,
) -> RebateGrant:
    """A manual rebate grant, valid from the book's now for a year unless told otherwise.

    ``approve=True`` (the default) has :data:`APPROVER` approve it, so it can be spent at once;
    ``approve=False`` leaves it pending.
    """
    ref = customer if isinstance(customer, str) else customer.code
    start = valid_from or book.services.clock.now()
    grant = book.accounts.grant_rebate(
        ref,
        amount,
        valid_from=start,
        valid_until=valid_until or start + dt.timedelta(days=365),
        key=key or f"factory-grant-{_next()}",
        actor=actor,
    )
    if approve and grant.status is GrantStatus.PENDING and grant.approval_id is not None:
        book.accounts.approve(grant.approval_id, actor=APPROVER)
        grant = next(g for g in book.accounts.grants(ref) if g.id == grant.id)
    return grant


def credit_customer(
    book: Book,
    limit: Money,
    *,
    actor: Actor = FACTORY_ACTOR,
    **overrides: Any,
) -> tuple[Customer, CreditProfile]:
    """A customer settled on credit with a credit profile of ``limit`` in the limit's currency."""
    overrides.setdefault("currency", limit.currency)
    customer = create_customer(book, actor=actor, **overrides)
    book.accounts.set_settlement_method(customer.code, "credit", actor=actor)
    profile = book.credit.set_profile(customer.code, limit.currency, limit=limit, actor=actor)
    return customer, profile


def invoice(
    book: Book,
    customer: Customer | str,
    amount: Money,
    *,
    number: str | None = None,
    issued: dt.date | None = None,
    due: dt.date | None = None,
    actor: Actor = FACTORY_ACTOR,
) -> PostedDocument:
    """Post an invoice (numbered ``INV-000001``... per call unless ``number`` is given).

    Issued on the book's today and due 30 days later unless told otherwise.
    """
    ref = customer if isinstance(customer, str) else customer.code
    day = issued or book.services.clock.now().date()
    return book.credit.post_invoice(
        ref,
        number or f"INV-{_next_invoice():06d}",
        amount,
        issued=day,
        due=due or day + dt.timedelta(days=30),
        actor=actor,
    )


_invoice_numbers = itertools.count(1)


def _next_invoice() -> int:
    return next(_invoice_numbers)
