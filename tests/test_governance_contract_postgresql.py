"""The governance contract suite on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

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
from tests.servers import reset_database

pytestmark = pytest.mark.postgresql


@pytest.fixture
def book(postgresql_url: str) -> Iterator[Book]:
    reset_database(postgresql_url)
    with connect(postgresql_url, clock=FrozenClock()) as book:
        yield book


class TestPostgreSQLDuplicates(DuplicateContract):
    pass


class TestPostgreSQLMerge(MergeContract):
    pass


class TestPostgreSQLPrivacy(PrivacyContract):
    pass


class TestPostgreSQLHierarchy(HierarchyContract):
    pass


class TestPostgreSQLApprovals(ApprovalContract):
    pass
