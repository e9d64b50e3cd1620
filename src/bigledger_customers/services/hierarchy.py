"""Customer groups (``book.hierarchy``): descendants, ancestors, the group of a customer, safe moves.

DESIGN.md section 3 (Hierarchy) and section 4 (group exposure). A group is the tree a customer
belongs to, from its top-most ancestor down. :meth:`HierarchyService.group_ids` is the roll-up hook
for credit: the customer ids whose exposure a group limit sums.
"""

from __future__ import annotations

from typing import Final, Literal

from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.records import Actor
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer
from bigledger_customers.services.access import ReadAccess, out_of_scope

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

    def _visible(self, uow: UnitOfWork, ref: str, access: ReadAccess) -> Customer | None:
        """The customer named by ``ref`` when ``access`` covers it, else None."""
        customer = load_customer(uow, ref)
        return customer if access.covers(customer) else None

    def _shown(self, access: ReadAccess, found: list[Customer | None]) -> list[Customer]:
        """The customers of ``found`` the reader may see, masked as it must see them."""
        return [access.show(c) for c in found if c is not None and access.covers(c)]

    def descendants(self, ref: str, *, actor: Actor | None = None) -> list[Customer]:
        """Every customer below this one (children, their children...), level by level, by code.

        Hierarchy queries are read access: with an actor (given or from ``acting_as``) they need
        ``customer.read`` over the named customer (NotFound outside its scope, audited) and list
        only the customers inside the reader's scope.
        """
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            customer = self._visible(uow, ref, access)
            if customer is not None:
                return self._shown(access, [uow.customers.get(i) for i in descendant_ids(uow, customer.id)])
        raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)

    def ancestors(self, ref: str, *, actor: Actor | None = None) -> list[Customer]:
        """The parent, its parent... up to the top of the group (a reader's: those in its scope)."""
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            customer = self._visible(uow, ref, access)
            if customer is not None:
                return self._shown(access, [uow.customers.get(i) for i in ancestor_ids(uow, customer)])
        raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)

    def root(self, ref: str, *, actor: Actor | None = None) -> Customer:
        """The top-most ancestor (the customer itself when it has no parent).

        A reader whose scope does not hold the top of the group gets NotFound (audited), as for
        a customer outside its scope.
        """
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            customer = self._visible(uow, ref, access)
            if customer is not None:
                ancestors = ancestor_ids(uow, customer)
                top = uow.customers.get(ancestors[-1]) if ancestors else customer
                if top is not None and access.covers(top):
                    return access.show(top)
        raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)

    def get(self, ref: str, *, actor: Actor | None = None) -> Customer:
        """The customer (merged ones resolve to the survivor)."""
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            customer = self._visible(uow, ref, access)
            if customer is not None:
                return access.show(customer)
        raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)

    def group_ids(
        self, ref: str, *, scope: Literal["group", "subtree"] = "group", actor: Actor | None = None
    ) -> list[str]:
        """Customer ids whose credit exposure rolls up (DESIGN.md section 4): the whole group the
        customer belongs to, or (``scope="subtree"``) the customer and everything below it.

        With an actor: ``customer.read`` over the customer, and only the ids inside its scope."""
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            customer = self._visible(uow, ref, access)
            if customer is not None:
                found = descendant_ids(uow, customer.id, include_self=True) if scope == "subtree" else None
                ids = found if found is not None else group_ids(uow, customer)
                if access.scope.unrestricted:
                    return ids
                return [c.id for c in (uow.customers.get(i) for i in ids) if c is not None and access.covers(c)]
        raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)

    def move(
        self, ref: str, parent: str | None, *, expected_version: int | None = None, actor: Actor | None = None
    ) -> Customer:
        """Move the customer, with its whole subtree, under ``parent`` (or to the top with None).

        Refused when it would make a cycle or a group deeper than ``Settings.max_hierarchy_depth``
        (the checks of :meth:`CustomerService.set_parent`, which this is).
        """
        from bigledger_customers.services.customers import CustomerService

        return CustomerService(self._s).set_parent(ref, parent, expected_version=expected_version, actor=actor)
