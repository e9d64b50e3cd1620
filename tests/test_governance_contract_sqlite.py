"""The governance contract suite on Sqlite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
def book(tmp_path: Path) -> Iterator[Book]:
    with connect(f"sqlite:///{tmp_path / 'book.db'}", clock=FrozenClock()) as book:
        yield book


class TestSqliteDuplicates(DuplicateContract):
    pass


class TestSqliteMerge(MergeContract):
    pass


class TestSqlitePrivacy(PrivacyContract):
    pass


class TestSqliteHierarchy(HierarchyContract):
    pass


class TestSqliteApprovals(ApprovalContract):
    pass
