"""Meta-test: every adapter's governance test module runs every governance contract class."""

from __future__ import annotations

import importlib
import inspect

import pytest

from bigledger_customers.testing.contract_governance import GOVERNANCE_CONTRACTS


@pytest.mark.parametrize("adapter", ["memory", "sqlite", "postgresql", "mariadb"])
def test_adapter_module_subclasses_every_governance_contract(adapter: str) -> None:
    module = importlib.import_module(f"tests.test_governance_contract_{adapter}")
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass) if c.__name__.startswith("Test")]
    for contract in GOVERNANCE_CONTRACTS:
        assert any(issubclass(c, contract) for c in classes), f"{adapter} does not run {contract.__name__}"
