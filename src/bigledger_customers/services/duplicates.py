"""Duplicate detection use cases (``book.duplicates``) and the check run on every create.

The scoring rules are in :mod:`bigledger_customers.domain.duplicates`. Two ways in:

- **one customer** (on create, :meth:`DuplicateService.find`): candidates come from the match-key
  index every repository keeps (each tax number, e-mail and phone; name-word prefixes) and are scored;
- **the whole book** (:meth:`DuplicateService.report`): every customer is read page by page, blocked
  and scored in memory, and the pairs stream out as they are found.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from bigledger_customers.domain import customer as rules
from bigledger_customers.domain.access import DataScope, Permission
from bigledger_customers.domain.customer import Customer, CustomerStatus
from bigledger_customers.domain.duplicates import (
    BlockIndex,
    DuplicateMatch,
    MatchRecord,
    best_matches,
    find_matches,
    index_keys,
    match_record,
)
from bigledger_customers.domain.merge import MergeRecord
from bigledger_customers.domain.records import Actor
from bigledger_customers.domain.search import CustomerQuery, SortKey
from bigledger_customers.errors import Conflict, ValidationError
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services import merge as _merge
from bigledger_customers.services._base import Services, load_customer
from bigledger_customers.services.access import ReadAccess, out_of_scope
from bigledger_customers.services.merge import MergeHook

__all__ = ["DuplicateService", "Progress", "find_candidates", "matches_in_parallel", "screen_new_customer"]

#: ``on_progress(stage, done, total)``: stage ``"read"`` while customers are loaded, then ``"compare"``.
Progress = Callable[[str, int, int], None]

#: Customers fetched per key group by the create-time check; customers per page of the batch report.
_CANDIDATES: Final = 10
_PAGE: Final = 1000


def find_candidates(
    uow: UnitOfWork, customer: Customer, *, threshold: Decimal, limit: int = 10, scope: DataScope | None = None
) -> list[DuplicateMatch]:
    """The best-scoring existing customers that may be ``customer`` (merged ones are left out).

    Candidates come from the repository's match-key index (:func:`index_keys`: identifiers and
    name-word prefixes), one indexed look-up, so the check costs the same with a million customers.
    With ``scope`` (a reader's data scope) only customers inside it are candidates, filtered in the look-up.
    """
    keys = sorted(index_keys(customer))
    found: dict[str, Customer] = {}
    # Identifiers first (selective, and decisive), then names with a budget of their own, so a
    # common name cannot crowd out a customer with the same tax number.
    for group in ([k for k in keys if not k.startswith("n:")], [k for k in keys if k.startswith("n:")]):
        if group:
            found.update((c.id, c) for c in uow.customers.match_candidates(group, _CANDIDATES, scope=scope))
    others = [match_record(c) for c in found.values() if c.id != customer.id and c.status is not CustomerStatus.MERGED]
    return best_matches(match_record(customer), others, threshold=threshold, limit=limit)


def screen_new_customer(services: Services, uow: UnitOfWork, customer: Customer, *, allow: bool = False) -> None:
    """The create-time check (``Settings.duplicate_check``), run inside the creating unit of work.

    ``block`` raises :class:`Conflict` ``possible_duplicate`` (``value``: the matches) unless
    ``allow``; otherwise likely duplicates are announced by a ``customer.duplicate_suspected`` event
    written with the customer, so a data steward's queue or the host's UI can pick them up.
    """
    mode = services.settings.duplicate_check
    if mode == "off":
        return
    matches = find_candidates(uow, customer, threshold=services.settings.duplicate_threshold)
    if not matches:
        return
    if mode == "block" and not allow:
        codes = ", ".join(m.right_code for m in matches)
        raise Conflict(
            f"customer looks like an existing one ({codes}); pass allow_duplicate=True to create it anyway",
            code="possible_duplicate",
            field="customer",
            value=tuple(matches),
        )
    uow.events.append(
        id=services.new_id(),
        type="customer.duplicate_suspected",
        aggregate_type="customer",
        aggregate_id=customer.id,
        occurred_at=services.clock.now(),
        payload={
            "customer_id": customer.id,
            "code": customer.code,
            "candidates": [
                {"customer_id": m.right_id, "code": m.right_code, "score": str(m.score), "matched": list(m.matched)}
                for m in matches
            ],
        },
    )


class DuplicateService:
    """Find likely duplicates of one customer, or of every customer in a batch report.

    >>> from bigledger_customers import connect, Actor
    >>> book = connect("memory://")
    >>> admin = Actor(id="u1", roles={"sales_admin"})
    >>> _ = book.customers.create({"name": "ABC Manufacturing Sdn Bhd", "country": "MY"}, actor=admin)
    >>> [(m.right_code, m.matched) for m in book.duplicates.find({"name": "abc MANUFACTURING"})]
    [('CUS-000001', ('name',))]

    Queries are read access (``customer.read``): with an actor (given or from ``acting_as``) only
    customers in its data scope are candidates, and a customer named outside it is NotFound.

    >>> rep = Actor(id="u7", roles={"sales_rep"}, sales_rep="REP-9")
    >>> book.duplicates.find({"name": "abc MANUFACTURING"}, actor=rep)
    []
    """

    def __init__(self, services: Services) -> None:
        self._s = services
        #: Other modules' part in merges (accounts: balances, grants, open items); see :class:`MergeHook`.
        self.merge_hooks: list[MergeHook] = []

    def merge(
        self,
        survivor: str,
        duplicate: str,
        *,
        choices: Mapping[str, Any] | None = None,
        survivor_version: int | None = None,
        duplicate_version: int | None = None,
        actor: Actor | None = None,
    ) -> MergeRecord:
        """Merge ``duplicate`` into ``survivor`` (codes or ids) in one transaction; returns the merge record.

        Contacts, addresses, attachments, custom values and interactions move to the survivor (and,
        through :attr:`merge_hooks`, account balances, grants and open items). ``choices`` picks
        profile fields: ``{"legal_name": "duplicate", "region": {"value": "SEL"}, "custom_values.tier":
        "survivor"}``; unnamed fields keep the survivor's value, gaps filled from the duplicate. The
        duplicate becomes ``merged`` with ``merged_into`` set, and lookups by its code find the
        survivor. With ``survivor_version``/``duplicate_version`` (or whenever another writer commits
        a change to either in between) a stale version raises ConcurrencyError and nothing is written.
        """
        return _merge.merge(
            self._s,
            self.merge_hooks,
            survivor,
            duplicate,
            choices=choices,
            survivor_version=survivor_version,
            duplicate_version=duplicate_version,
            actor=actor,
        )

    def unmerge(self, merge_id: str, *, actor: Actor | None = None) -> MergeRecord:
        """Put both customers of a merge back exactly as they were (all fields but version and
        updated_at), with their interactions; refused (NotAllowed ``changed_since_merge``) once
        either customer changed or something was posted to the survivor."""
        return _merge.unmerge(self._s, self.merge_hooks, merge_id, actor=actor)

    def merges(self, ref: str, *, actor: Actor | None = None) -> list[MergeRecord]:
        """Merge records naming the customer (survivor or duplicate), oldest first.

        With an actor: ``customer.read`` over the customer (NotFound outside its scope); the
        customers' snapshots are masked without ``customer.view_sensitive``.
        """
        access = self._s.read_access(actor)
        with self._s.uow(write=False) as uow:
            customer = load_customer(uow, ref, follow_merge=False)
        self._check_covers(access, customer, ref)
        records = _merge.merges_of(self._s, ref)
        if access.sensitive:
            return records
        return [
            attrs.evolve(
                r, survivor_before=access.show(r.survivor_before), duplicate_before=access.show(r.duplicate_before)
            )
            for r in records
        ]

    def _check_covers(self, access: ReadAccess, customer: Customer, ref: str) -> None:
        if not access.covers(customer):
            raise out_of_scope(self._s, access, Permission.CUSTOMER_READ, ref)

    def _threshold(self, threshold: Decimal | float | str | None) -> Decimal:
        value = self._s.settings.duplicate_threshold if threshold is None else Decimal(str(threshold))
        if not 0 <= value <= 1:
            raise ValidationError("threshold must be between 0 and 1", field="threshold", value=threshold)
        return value

    def find(
        self,
        customer: str | Mapping[str, Any],
        *,
        threshold: Decimal | float | str | None = None,
        limit: int = 10,
        actor: Actor | None = None,
    ) -> list[DuplicateMatch]:
        """Likely duplicates of an existing customer (code or id) or of customer data not yet saved.

        Data is read as :meth:`CustomerService.create` reads it, but need not be complete: a form
        half filled in can be checked before it is saved. Best first; ``left`` is the customer asked about.
        With an actor (``customer.read``) candidates come from its data scope only, in the look-up;
        a customer named outside the scope is NotFound (audited ``out_of_scope``).
        """
        access = self._s.read_access(actor)
        limit_ = self._threshold(threshold)
        if isinstance(customer, str):
            with self._s.uow(write=False) as uow:
                subject = load_customer(uow, customer)
            self._check_covers(access, subject, customer)  # outside the read: a refusal is audited
        else:
            subject = _draft(customer, self._s.clock.now())
        with self._s.uow(write=False) as uow:
            return find_candidates(uow, subject, threshold=limit_, limit=limit, scope=access.scope_or_none())

    def report(
        self,
        *,
        threshold: Decimal | float | str | None = None,
        include_voided: bool = False,
        on_progress: Progress | None = None,
        actor: Actor | None = None,
        workers: int = 1,
    ) -> Iterator[DuplicateMatch]:
        """Every likely duplicate pair in the book, streamed as found (left code sorts before right).

        Customers are read a page at a time (each page its own read transaction, so writers are not
        held up), then compared by blocking: never all pairs. Merged customers are left out, and
        voided ones unless ``include_voided``. With an actor (``customer.read``, checked when called)
        only the customers of its data scope are read (the scope is part of each page's query).
        ``workers > 1`` scores in that many forked processes (:func:`matches_in_parallel`); it is off
        by default because forking a host's threaded process is unsafe and, on the shared 2-core
        machine of docs/data-quality.md, two workers were slower than one process.
        """
        access = self._s.read_access(actor)
        limit = self._threshold(threshold)
        return self._report(limit, include_voided, on_progress, access.scope_or_none(), workers)

    def _report(
        self,
        limit: Decimal,
        include_voided: bool,
        on_progress: Progress | None,
        scope: DataScope | None,
        workers: int = 1,
    ) -> Iterator[DuplicateMatch]:
        records = self._records(include_voided, on_progress, scope)

        def progress(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress("compare", done, total)

        for match in matches_in_parallel(records, threshold=limit, workers=workers, on_progress=progress):
            yield match if match.left_code <= match.right_code else _swap(match)

    def _records(
        self, include_voided: bool, on_progress: Progress | None, scope: DataScope | None
    ) -> list[MatchRecord]:
        records: list[MatchRecord] = []
        cursor: str | None = None
        with self._s.uow(write=False) as uow:
            total = uow.customers.count() if scope is None else 0  # a scoped reader is not told the book's size
        skip = {CustomerStatus.MERGED} if include_voided else {CustomerStatus.MERGED, CustomerStatus.VOIDED}
        seen = 0
        while True:
            with self._s.uow(write=False) as uow:
                page = uow.customers.search(
                    CustomerQuery(sort=SortKey.CODE, limit=_PAGE, cursor=cursor, count_limit=0, scope=scope)
                )
            seen += len(page.items)
            records.extend(match_record(c) for c in page.items if c.status not in skip)
            if on_progress is not None:
                on_progress("read", seen, max(total, seen))
            cursor = page.next_cursor
            if cursor is None:
                return records


#: Below this many records the batch report scores in this process (starting workers costs more).
PARALLEL_FROM: Final = 20_000
_CHUNK: Final = 2_000
#: What the worker processes score: set before they are forked, so they inherit it without copying.
_JOB: list[tuple[Sequence[MatchRecord], BlockIndex, Decimal]] = []


def _score_chunk(lefts: range) -> list[DuplicateMatch]:
    records, index, threshold = _JOB[0]
    return list(find_matches(records, threshold=threshold, index=index, lefts=lefts))


def matches_in_parallel(
    records: Sequence[MatchRecord],
    *,
    threshold: Decimal,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    min_records: int = PARALLEL_FROM,
    chunk: int = _CHUNK,
) -> Iterator[DuplicateMatch]:
    """:func:`~bigledger_customers.domain.duplicates.find_matches` spread over ``workers`` processes
    (default: one per processor), in the same order; in this process below ``min_records`` records,
    with one processor, or where processes cannot be forked.

    The blocks are built once here; forked workers inherit them and the records, and score
    consecutive chunks of left records each (``imap`` keeps the chunks in order).
    """
    count = workers if workers is not None else (os.cpu_count() or 1)
    total = len(records)
    if count < 2 or total < min_records or "fork" not in mp.get_all_start_methods() or _JOB:
        yield from find_matches(records, threshold=threshold, on_progress=on_progress)
        return
    _JOB.append((records, BlockIndex(records), threshold))
    try:
        chunks = [range(lo, min(lo + chunk, total)) for lo in range(0, total, chunk)]
        with mp.get_context("fork").Pool(count) as pool:
            for lefts, found in zip(chunks, pool.imap(_score_chunk, chunks), strict=True):
                yield from found
                if on_progress is not None:
                    on_progress(lefts.stop, total)
    finally:
        _JOB.clear()


def _draft(data: Mapping[str, Any], now: Any) -> Customer:
    draft = Customer(id="", code="", created_at=now, updated_at=now, version=0)
    draft = rules.apply_fields(draft, data, rules.CREATE_FIELDS)
    try:
        return rules.check(draft)  # phones to E.164, e-mails normalised
    except ValidationError:
        return draft  # an unfinished form still gets the comparisons it can


def _swap(m: DuplicateMatch) -> DuplicateMatch:
    return attrs.evolve(m, left_id=m.right_id, right_id=m.left_id, left_code=m.right_code, right_code=m.left_code)
