"""The contract suite on SQLite (a fresh database file per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bigledger_customers import Book, connect
from bigledger_customers.testing import FrozenClock
from bigledger_customers.testing.contract import ConcurrencyContract, CustomerContract, EventContract, ReferenceContract
from bigledger_customers.testing.contract_access import (
    AccessMatrixContract,
    CustomerSettingsContract,
    DataScopeContract,
)
from bigledger_customers.testing.contract_accounts import (
    AccountConcurrencyContract,
    AccountContract,
    AccountCrashContract,
    AccountStateMachineContract,
)
from bigledger_customers.testing.contract_credit import (
    CheckoutContract,
    CreditConcurrencyContract,
    CreditContract,
)
from bigledger_customers.testing.contract_credit_currency import (
    CreditNotificationContract,
    MultiCurrencyCreditContract,
    PrepaidCoverContract,
)
from bigledger_customers.testing.contract_search import SearchContract
from tests.servers import fresh_sqlite


@pytest.fixture
def book(tmp_path: Path, sqlite_template: Path) -> Iterator[Book]:
    with connect(fresh_sqlite(sqlite_template, tmp_path), clock=FrozenClock(), create=False) as book:
        yield book


class TestSqliteCustomers(CustomerContract):
    pass


class TestSqliteReference(ReferenceContract):
    pass


class TestSqliteEvents(EventContract):
    pass


class TestSqliteConcurrency(ConcurrencyContract):
    pass


class TestSqliteSearch(SearchContract):
    pass


class TestSqliteAccounts(AccountContract):
    pass


class TestSqliteAccountConcurrency(AccountConcurrencyContract):
    pass


class TestSqliteAccountCrash(AccountCrashContract):
    pass


class TestSqliteAccountStateMachine(AccountStateMachineContract):
    pass


class TestSqliteCredit(CreditContract):
    pass


class TestSqliteCreditConcurrency(CreditConcurrencyContract):
    pass


class TestSqliteCheckout(CheckoutContract):
    pass


class TestSqliteAccessMatrix(AccessMatrixContract):
    pass


class TestSqliteDataScope(DataScopeContract):
    pass


class TestSqliteCustomerSettings(CustomerSettingsContract):
    pass


class TestSqliteMultiCurrencyCredit(MultiCurrencyCreditContract):
    pass


class TestSqlitePrepaidCover(PrepaidCoverContract):
    pass


class TestSqliteCreditNotification(CreditNotificationContract):
    pass
