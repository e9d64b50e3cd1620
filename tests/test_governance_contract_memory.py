"""The governance contract suite on the in-memory adapter."""

from __future__ import annotations

import pytest

from bigledger_customers import Book, connect
from bigledger_customers.testing import FrozenClock
from bigledger_customers.testing.contract_governance import (
    ApprovalContract,
    DuplicateContract,
    HierarchyContract,
    MergeContract,
    PrivacyContract,
)


@pytest.fixture
def book() -> Book:
    return connect("memory://", clock=FrozenClock())


class TestMemoryDuplicates(DuplicateContract):
    pass


class TestMemoryMerge(MergeContract):
    pass


class TestMemoryPrivacy(PrivacyContract):
    pass


class TestMemoryHierarchy(HierarchyContract):
    pass


class TestMemoryApprovals(ApprovalContract):
    pass
