"""The contract suite on PostgreSQL (one database per session, emptied before each test)."""

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

pytestmark = pytest.mark.postgresql


@pytest.fixture
def book(postgresql_url: str) -> Iterator[Book]:
    reset_database(postgresql_url)
    with connect(postgresql_url, clock=FrozenClock(), create=False) as book:
        yield book


class TestPostgreSQLCustomers(CustomerContract):
    pass


class TestPostgreSQLReference(ReferenceContract):
    pass


class TestPostgreSQLEvents(EventContract):
    pass


class TestPostgreSQLConcurrency(ConcurrencyContract):
    pass


class TestPostgreSQLSearch(SearchContract):
    pass


class TestPostgreSQLAccounts(AccountContract):
    pass


class TestPostgreSQLAccountConcurrency(AccountConcurrencyContract):
    pass


class TestPostgreSQLAccountCrash(AccountCrashContract):
    pass


class TestPostgreSQLAccountStateMachine(AccountStateMachineContract):
    pass


class TestPostgreSQLCredit(CreditContract):
    pass


class TestPostgreSQLCreditConcurrency(CreditConcurrencyContract):
    pass


class TestPostgreSQLCheckout(CheckoutContract):
    pass


class TestPostgreSQLAccessMatrix(AccessMatrixContract):
    pass


class TestPostgreSQLDataScope(DataScopeContract):
    pass


class TestPostgreSQLCustomerSettings(CustomerSettingsContract):
    pass


class TestPostgreSQLMultiCurrencyCredit(MultiCurrencyCreditContract):
    pass


class TestPostgreSQLPrepaidCover(PrepaidCoverContract):
    pass


class TestPostgreSQLCreditNotification(CreditNotificationContract):
    pass
