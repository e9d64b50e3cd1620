"""Meta-test: every adapter's test module runs every class of the contract suite."""

from __future__ import annotations

import importlib
import inspect

import pytest

from bigledger_customers.testing.contract import ALL_CONTRACTS

ADAPTER_MODULES = [
    "tests.test_contract_memory",
    "tests.test_contract_sqlite",
    "tests.test_contract_postgresql",
    "tests.test_contract_mariadb",
]


@pytest.mark.parametrize("module_name", ADAPTER_MODULES)
def test_adapter_module_subclasses_every_contract(module_name: str) -> None:
    module = importlib.import_module(module_name)
    test_classes = [c for _, c in inspect.getmembers(module, inspect.isclass) if c.__name__.startswith("Test")]
    for contract in ALL_CONTRACTS:
        assert any(issubclass(c, contract) for c in test_classes), f"{module_name} does not run {contract.__name__}"


def test_contract_classes_are_not_collected_directly() -> None:
    assert all(not c.__name__.startswith("Test") for c in ALL_CONTRACTS)
