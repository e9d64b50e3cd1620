"""The contract suite on MariaDB (one database per session, emptied before each test)."""

from __future__ import annotations

from collections.abc import Iterator

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
from tests.servers import reset_database

pytestmark = pytest.mark.mariadb


@pytest.fixture
def book(mariadb_url: str) -> Iterator[Book]:
    reset_database(mariadb_url)
    with connect(mariadb_url, clock=FrozenClock(), create=False) as book:
        yield book


class TestMariaDBCustomers(CustomerContract):
    pass


class TestMariaDBReference(ReferenceContract):
    pass


class TestMariaDBEvents(EventContract):
    pass


class TestMariaDBConcurrency(ConcurrencyContract):
    pass


class TestMariaDBSearch(SearchContract):
    pass


class TestMariaDBAccounts(AccountContract):
    pass


class TestMariaDBAccountConcurrency(AccountConcurrencyContract):
    pass


class TestMariaDBAccountCrash(AccountCrashContract):
    pass


class TestMariaDBAccountStateMachine(AccountStateMachineContract):
    pass


class TestMariaDBCredit(CreditContract):
    pass


class TestMariaDBCreditConcurrency(CreditConcurrencyContract):
    pass


class TestMariaDBCheckout(CheckoutContract):
    pass


class TestMariaDBAccessMatrix(AccessMatrixContract):
    pass


class TestMariaDBDataScope(DataScopeContract):
    pass


class TestMariaDBCustomerSettings(CustomerSettingsContract):
    pass


class TestMariaDBMultiCurrencyCredit(MultiCurrencyCreditContract):
    pass


class TestMariaDBPrepaidCover(PrepaidCoverContract):
    pass


class TestMariaDBCreditNotification(CreditNotificationContract):
    pass
