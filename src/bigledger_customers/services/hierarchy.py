"""Customer groups (``book.hierarchy``): descendants, ancestors, the group of a customer, safe moves.

DESIGN.md section 3 (Hierarchy) and section 4 (group exposure). A group is the tree a customer
belongs to, from its top-most ancestor down. :meth:`HierarchyService.group_ids` is the roll-up hook
for credit: the customer ids whose exposure a group limit sums.
"""

from __future__ import annotations

from typing import Final, Literal

from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.records import Actor
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer

__all__ = ["HIERARCHY_LOCK", "HierarchyService", "descendant_ids", "group_ids", "lock_hierarchy"]


#: The sequence whose row every hierarchy change takes first (see :func:`lock_hierarchy`).
HIERARCHY_LOCK: Final = "customer.hierarchy"


def lock_hierarchy(uow: UnitOfWork) -> None:
    """Serialise hierarchy changes until the unit of work ends.

    Moving A under B and B under A at the same moment would each pass the cycle check on the
    other's old parent. Taking the next number of a dedicated sequence is an atomic upsert that
    row-locks on PostgreSQL and MariaDB (READ COMMITTED, so the checks after it see the other move);
    SQLite and memory units of work are serial already.
    """
    uow.reference.next_number(HIERARCHY_LOCK)


def descendant_ids(uow: UnitOfWork, customer_id: str, *, include_self: bool = False) -> list[str]:
    """Ids of every customer below ``customer_id``, level by level (breadth first)."""
    found = [customer_id] if include_self else []
    level, seen = [customer_id], {customer_id}
    while level:
        below = [c for node in level for c in uow.customers.children(node) if c not in seen]
        seen.update(below)
        found.extend(below)
        level = below
    return found


def ancestor_ids(uow: UnitOfWork, customer: Customer) -> list[str]:
    """Ids from the parent up to the top-most ancestor (a damaged chain stops at the first repeat)."""
    found: list[str] = []
    seen = {customer.id}
    node = customer
    while node.parent_id and node.parent_id not in seen:
        parent = uow.customers.get(node.parent_id)
        if parent is None:
            break
        found.append(parent.id)
        seen.add(parent.id)
        node = parent
    return found


def group_ids(uow: UnitOfWork, customer: Customer) -> list[str]:
    """Ids of the whole group the customer belongs to: its top-most ancestor and everything below."""
    ancestors = ancestor_ids(uow, customer)
    root = ancestors[-1] if ancestors else customer.id
    return descendant_ids(uow, root, include_self=True)


class HierarchyService:
    """Read and rearrange customer groups.

    >>> from bigledger_customers import connect, Actor
    >>> book = connect("memory://")
    >>> admin = Actor(id="u1", roles={"sales_admin"})
    >>> hq = book.customers.create({"name": "ABC Holdings", "country": "MY"}, actor=admin)
    >>> br = book.customers.create({"name": "ABC Penang", "country": "MY", "parent_id": hq.code}, actor=admin)
    >>> [c.code for c in book.hierarchy.descendants(hq.code)]
    ['CUS-000002']
    >>> len(book.hierarchy.group_ids(br.code))
    2
    """

    def __init__(self, services: Services) -> None:
        self._s = services

    def descendants(self, ref: str) -> list[Customer]:
        """Every customer below this one (children, their children...), level by level, by code."""
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref)
            found = [uow.customers.get(i) for i in descendant_ids(uow, customer.id)]
        return [c for c in found if c is not None]

    def ancestors(self, ref: str) -> list[Customer]:
        """The parent, its parent... up to the top of the group."""
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref)
            found = [uow.customers.get(i) for i in ancestor_ids(uow, customer)]
        return [c for c in found if c is not None]

    def root(self, ref: str) -> Customer:
        """The top-most ancestor (the customer itself when it has no parent)."""
        ancestors = self.ancestors(ref)
        return ancestors[-1] if ancestors else self.get(ref)

    def get(self, ref: str) -> Customer:
        """The customer (merged ones resolve to the survivor)."""
        with self._s.uow(write=False) as uow:
            return load_customer(uow, ref)

    def group_ids(self, ref: str, *, scope: Literal["group", "subtree"] = "group") -> list[str]:
        """Customer ids whose credit exposure rolls up (DESIGN.md section 4): the whole group the
        customer belongs to, or (``scope="subtree"``) the customer and everything below it."""
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref)
            if scope == "subtree":
                return descendant_ids(uow, customer.id, include_self=True)
            return group_ids(uow, customer)

    def move(
        self, ref: str, parent: str | None, *, expected_version: int | None = None, actor: Actor | None = None
    ) -> Customer:
        """Move the customer, with its whole subtree, under ``parent`` (or to the top with None).

        Refused when it would make a cycle or a group deeper than ``Settings.max_hierarchy_depth``
        (the checks of :meth:`CustomerService.set_parent`, which this is).
        """
        from bigledger_customers.services.customers import CustomerService

        return CustomerService(self._s).set_parent(ref, parent, expected_version=expected_version, actor=actor)
