"""The contract suite on the in-memory adapter (the reference implementation)."""

from __future__ import annotations

import datetime as dt

import pytest

from bigledger_customers import Book, Money, connect
from bigledger_customers.adapters.memory import MemoryStore
from bigledger_customers.domain.credit import CreditHold
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


NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_a_memory_read_unit_of_work_is_shared_and_refuses_writes() -> None:
    store = MemoryStore()
    reader = store.unit_of_work(write=False)
    assert store.unit_of_work(write=False) is reader
    assert store.unit_of_work() is not store.unit_of_work()  # every write gets its own
    with reader as uow, pytest.raises(RuntimeError, match="write=False"):
        uow.config.put("x", 1)
    with reader as uow, pytest.raises(RuntimeError, match="write=False"):
        uow.credit.add_hold(
            CreditHold(id="h", customer_id="c", amount=Money("1", "MYR"), reference="r", created_at=NOW, expires_at=NOW)
        )
    with store.unit_of_work(write=False) as uow:
        assert uow.config.get("x") is None
        assert uow.credit.held_totals(["c"], NOW) == {}
    with store.unit_of_work() as uow:
        uow.config.put("x", 1)
        uow.commit()
    with reader as uow:
        assert uow.config.get("x") == 1
