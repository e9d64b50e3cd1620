"""The contract suite on the in-memory adapter (the reference implementation)."""

from __future__ import annotations

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


@pytest.fixture
def book() -> Book:
    return connect("memory://", clock=FrozenClock())


class TestMemoryCustomers(CustomerContract):
    pass


class TestMemoryReference(ReferenceContract):
    pass


class TestMemoryEvents(EventContract):
    pass


class TestMemoryConcurrency(ConcurrencyContract):
    pass


class TestMemorySearch(SearchContract):
    pass


class TestMemoryAccounts(AccountContract):
    pass


class TestMemoryAccountConcurrency(AccountConcurrencyContract):
    pass


class TestMemoryAccountCrash(AccountCrashContract):
    pass


class TestMemoryAccountStateMachine(AccountStateMachineContract):
    pass


class TestMemoryCredit(CreditContract):
    pass


class TestMemoryCreditConcurrency(CreditConcurrencyContract):
    pass


class TestMemoryCheckout(CheckoutContract):
    pass


class TestMemoryAccessMatrix(AccessMatrixContract):
    pass


class TestMemoryDataScope(DataScopeContract):
    pass


class TestMemoryCustomerSettings(CustomerSettingsContract):
    pass


class TestMemoryMultiCurrencyCredit(MultiCurrencyCreditContract):
    pass


class TestMemoryPrepaidCover(PrepaidCoverContract):
    pass


class TestMemoryCreditNotification(CreditNotificationContract):
    pass
