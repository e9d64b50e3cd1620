"""The governance contract suite on MariaDB."""

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

pytestmark = pytest.mark.mariadb


@pytest.fixture
def book(mariadb_url: str) -> Iterator[Book]:
    reset_database(mariadb_url)
    with connect(mariadb_url, clock=FrozenClock()) as book:
        yield book


class TestMariaDBDuplicates(DuplicateContract):
    pass


class TestMariaDBMerge(MergeContract):
    pass


class TestMariaDBPrivacy(PrivacyContract):
    pass


class TestMariaDBHierarchy(HierarchyContract):
    pass


class TestMariaDBApprovals(ApprovalContract):
    pass
