"""Bulk import and export of customers (DESIGN.md section 3, Bulk), and their file formats.

``book.customers.import_rows(rows, mode=..., batch_size=5000, on_progress=..., actor=...)`` reads
mappings shaped like :meth:`CustomerService.create`'s ``data`` (a :func:`read_csv` or
:func:`read_jsonl` gives them from a file) and upserts by code:

- a row whose code is new creates a customer, with exactly the checks :meth:`create` makes (plus an
  initial ``status``, as a migration from another system needs: any but merged);
- a row whose code exists changes the profile fields it gives (e.g. category, region, tags), with the
  normal validation and audit of :meth:`update`; its contacts, addresses and attachments are left
  alone (they have their own commands), so an export can be edited and imported back;
- ``mode="commit_good_rows"`` stores every good row; ``mode="all_or_nothing"`` stores a batch only
  when all its rows are good. Either way the report lists every bad row (row number, field, code).

Row numbers count data rows from 1 (a CSV file's header is not a row). Validation (phone numbers,
e-mail, reference data) is the expensive part of an import; with ``workers`` (default: the machine's
cores, for imports of more than one batch) it runs in worker processes while the previous batch is
written, so both cores work. Reference data and custom-field definitions are read once at the start.

``export(...)`` streams customers as JSON-ready mappings page by page (keyset pagination, constant
memory); :func:`write_jsonl` and :func:`write_csv` write them. A customer that is created by an
import gets one compact audit entry (``customer.import``: its code and the import id, not every
field) and the usual ``customer.created`` event.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import csv
import datetime as dt
import functools
import gc
import io
import itertools
import json
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import IO, Any, Final, Literal

import attrs

from bigledger_customers.domain import customer as rules
from bigledger_customers.domain.convert import structure_as, unstructure
from bigledger_customers.domain.customer import AddressKind, Customer, CustomerStatus, Problems
from bigledger_customers.domain.records import Actor, AuditEntry
from bigledger_customers.domain.reference import CustomFieldDefinition, ReferenceKind
from bigledger_customers.domain.validation import code_key, normalise_code
from bigledger_customers.errors import BigLedgerError, Conflict, ImportReport, RowApproval, RowError, ValidationError
from bigledger_customers.ports import UnitOfWork
from bigledger_customers.services._base import Services, load_customer
from bigledger_customers.services.approvals import governed_update

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CSV_COLUMNS",
    "READ_ONLY_FIELDS",
    "ImportMode",
    "export_customers",
    "flatten",
    "import_rows",
    "read_csv",
    "read_jsonl",
    "unflatten",
    "write_csv",
    "write_jsonl",
]

ImportMode = Literal["commit_good_rows", "all_or_nothing"]
DEFAULT_BATCH_SIZE: Final = 5000
#: Fields an export writes that an import leaves alone (the library manages them).
READ_ONLY_FIELDS: Final = frozenset(
    {"id", "status", "status_reason", "merged_into", "ordering_enabled", "version", "created_at", "updated_at"}
)
#: Columns :func:`write_csv` writes by default (nested fields as dotted paths, lists joined by ``;``).
DEFAULT_CSV_COLUMNS: Final = (
    "code",
    "status",
    "legal_name",
    "names.en",
    "names.zh",
    "names.ms",
    "customer_type",
    "partner_role",
    "category",
    "level",
    "region",
    "sales_rep",
    "branch",
    "priority",
    "country",
    "currency",
    "preferred_language",
    "tax_numbers.sst",
    "tax_numbers.brn",
    "website",
    "tags",
    "notes",
    "contacts.0.name",
    "contacts.0.title",
    "contacts.0.email",
    "contacts.0.phone",
    "contacts.0.mobile",
    "addresses.0.kind",
    "addresses.0.lines",
    "addresses.0.city",
    "addresses.0.state",
    "addresses.0.postcode",
    "addresses.0.country",
)
#: Given on create only: an update by import leaves an existing customer's code, contacts, addresses
#: and attachments alone (a CSV holds one contact; replacing a list from it would lose the others).
_CREATE_ONLY: Final = frozenset({"code", "contacts", "addresses", "attachments"})
_LIST_FIELDS: Final = frozenset({"tags", "roles", "lines"})
_BOOL_FIELDS: Final = frozenset(
    {
        "primary",
        "marketing_email",
        "marketing_sms",
        "is_default",
        "registration_approved",
        "ordering_enabled",
        "exempt",
        "partial_allowed",
    }
)
#: Whole-number columns (an attachment's size): structuring takes ints only, so the cell is parsed here.
_INT_FIELDS: Final = frozenset({"size"})
_TRUE: Final = frozenset({"true", "1", "yes", "y", "t"})
_FALSE: Final = frozenset({"false", "0", "no", "n", "f"})
#: Rows handed to a worker process at a time.
_CHUNK: Final = 500


# -- validation of new rows (runs in worker processes too: only picklable inputs, no storage) ---------


@attrs.frozen
class _Context:
    """What validating a new row needs besides the row: a snapshot of reference data."""

    references: Mapping[str, Mapping[str, str]]  # kind -> code key -> canonical code
    definitions: Mapping[str, CustomFieldDefinition]
    #: The repository's ``encode_new`` (a picklable pure function): new customers leave the workers
    #: as the rows the writer inserts, so the writer process only executes (see ``_Importer._add``).
    encode: Callable[[Customer], Any] | None = None


#: A checked new customer: (id, code, the Customer when the writer must finish it, encoded rows).
_New = tuple[str, str, Customer | None, Any]


def _items(fields: dict[str, Any], customer_id: str, now: dt.datetime) -> None:
    """Ids for contacts, addresses and attachments, and the first primary contact / default address
    (as :meth:`CustomerService.create` does). Item ids derive from the customer id: unique, and no id
    generator is needed in a worker process."""
    given = fields.get("contacts", ())
    contacts = [x if x.id else attrs.evolve(x, id=f"{customer_id}.c{i}") for i, x in enumerate(given)]
    if contacts and not any(c.primary for c in contacts):
        contacts[0] = attrs.evolve(contacts[0], primary=True)
    addresses = []
    kinds = {a.kind for a in fields.get("addresses", ()) if a.is_default}
    for i, address in enumerate(fields.get("addresses", ())):
        changes: dict[str, Any] = {} if address.id else {"id": f"{customer_id}.a{i}"}
        if address.kind not in kinds:
            kinds.add(address.kind)
            changes["is_default"] = True
        addresses.append(attrs.evolve(address, **changes) if changes else address)
    attachments = [
        attrs.evolve(x, id=x.id or f"{customer_id}.f{i}", added_at=x.added_at or now)
        for i, x in enumerate(fields.get("attachments", ()))
    ]
    fields.update(contacts=tuple(contacts), addresses=tuple(addresses), attachments=tuple(attachments))


def _defaults_before_structuring(data: dict[str, Any]) -> None:
    """What :func:`_items` would set after structuring (the first contact primary when none is, the
    first address of each kind its default when none is), set on the raw rows instead, so that no
    contact or address is evolved. Only where every such flag is a bool or absent (structuring takes
    those as they are); anything else is left for structuring to refuse. Rows are copied, not changed."""
    contacts = data.get("contacts")
    if isinstance(contacts, list) and contacts and all(isinstance(x, dict) for x in contacts):
        flags = [x.get("primary", False) for x in contacts]
        if all(type(f) is bool for f in flags) and not any(flags):
            contacts[0] = {**contacts[0], "primary": True}
    addresses = data.get("addresses")
    if isinstance(addresses, list) and addresses and all(isinstance(x, dict) for x in addresses):
        flags = [x.get("is_default", False) for x in addresses]
        given = [x.get("kind", AddressKind.BILLING) for x in addresses]
        if all(type(f) is bool for f in flags) and all(isinstance(k, str) for k in given):
            kinds = {k for k, f in zip(given, flags, strict=True) if f}
            for i, (x, kind) in enumerate(zip(addresses, given, strict=True)):
                if kind not in kinds:
                    kinds.add(kind)
                    addresses[i] = {**x, "is_default": True}


def _new_customer(data: Mapping[str, Any], customer_id: str, now: dt.datetime, ctx: _Context) -> Customer:
    """The customer a row creates, checked as :meth:`CustomerService.create` checks it (the code may be
    empty: generated when written). Built in one step: evolving a 37-field aggregate costs more than
    the checks."""
    status = data.get("status")
    data = rules.normalise_keys({k: v for k, v in data.items() if k not in READ_ONLY_FIELDS}, rules.CREATE_FIELDS)
    given_code = data.pop("code", None)
    for key, tag in (("contacts", "c"), ("addresses", "a")):  # ids given before structuring: no evolve after
        items = data.get(key)
        if isinstance(items, list | tuple):
            data[key] = [
                {**x, "id": f"{customer_id}.{tag}{i}"} if isinstance(x, dict) and x.get("id", "") == "" else x
                for i, x in enumerate(items)
            ]
    _defaults_before_structuring(data)
    problems = Problems()
    fields = rules._structure_fields(data, problems)  # the same structuring as apply_fields
    problems.raise_any()
    _items(fields, customer_id, now)
    code = problems.check(lambda: normalise_code(given_code)) if given_code is not None else None
    if status is not None:  # a migration from another system may create customers in any status but merged
        to = problems.check(functools.partial(structure_as, status, CustomerStatus, field="status"))
        if to is CustomerStatus.MERGED:
            problems.add(
                ValidationError("customers become merged only by a merge", code="invalid_status", field="status")
            )
        elif to is not None:
            fields["status"] = to
    for field, kind in rules.REFERENCE_FIELDS.items():
        value = fields.get(field)
        if value is not None:
            found = ctx.references.get(kind, {}).get(code_key(value.strip()))
            if found is None:
                problems.add(ValidationError(f"no {kind} {value!r}", code=f"unknown_{kind}", field=field, value=value))
            else:
                fields[field] = found
    draft = Customer(id=customer_id, code=code or "", created_at=now, updated_at=now, version=1, **fields)
    checked = problems.check(lambda: rules.check(draft, definitions=ctx.definitions))
    problems.raise_any()
    assert isinstance(checked, Customer)
    return checked


_WORKER_CONTEXT: _Context | None = None


def _init_worker(ctx: _Context) -> None:
    global _WORKER_CONTEXT  # noqa: PLW0603 - one context per worker process, set once
    _WORKER_CONTEXT = ctx
    # A forked worker inherits the caller's whole heap (the rows read so far, the caller's own data):
    # left to the cyclic collector, every full collection would walk it all and copy the pages it
    # touches. Nothing the worker builds refers into it, so it is put out of the collector's reach.
    gc.freeze()


def _prepare(
    rows: Sequence[tuple[int, Mapping[str, Any], str]], now: dt.datetime, ctx: _Context | None = None
) -> list[_New | list[RowError]]:
    """Validate new rows ``(row number, data, customer id)``: a :data:`_New` or the row's errors each.
    A customer with its code is encoded here (in the worker) when the repository can encode."""
    context = ctx or _WORKER_CONTEXT
    assert context is not None
    encode = context.encode
    out: list[_New | list[RowError]] = []
    for row_no, data, customer_id in rows:
        try:
            customer = _new_customer(data, customer_id, now, context)
        except BigLedgerError as error:
            out.append(RowError.from_error(row_no, error))
            continue
        if encode is not None and customer.code:
            out.append((customer.id, customer.code, None, encode(customer)))
        else:  # the code is generated by the writer (or the repository has no encoder)
            out.append((customer.id, customer.code, customer, None))
    return out


# -- the import -------------------------------------------------------------------------------------


@attrs.define
class _Batch:
    rows: list[tuple[int, Any]]
    now: dt.datetime
    creates: list[tuple[int, Mapping[str, Any], str]] = attrs.field(factory=list)
    updates: list[tuple[int, Mapping[str, Any]]] = attrs.field(factory=list)
    errors: list[RowError] = attrs.field(factory=list)
    prepared: list[Future[list[_New | list[RowError]]]] = attrs.field(factory=list)


class _Importer:
    def __init__(self, services: Services, *, mode: ImportMode, actor: Actor, workers: int) -> None:
        self.s = services
        self.mode = mode
        self.actor = actor
        self.workers = workers
        self.import_id = services.new_id()
        self.seen_codes: set[str] = set()  # code keys created by this import so far
        self.rows_ok = 0
        self.rows_seen = 0
        self.errors: list[RowError] = []
        self.approvals: list[RowApproval] = []
        self.pool: ProcessPoolExecutor | None = None
        with services.uow(write=False) as uow:
            encode = getattr(uow.customers, "encode_new", None)
            self.add_encoded = encode is not None and hasattr(uow.customers, "add_encoded")
            self.ctx = _Context(
                references={
                    kind.value: {code_key(e.code): e.code for e in uow.reference.list(kind.value)}
                    for kind in ReferenceKind
                },
                definitions=dict(uow.reference.field_definitions()),
                encode=encode if self.add_encoded else None,
            )

    # classification: new code -> create (validated, maybe in a worker); known code -> update
    def classify(self, rows: list[tuple[int, Any]]) -> _Batch:
        batch = _Batch(rows=rows, now=self.s.clock.now())
        keys: dict[int, str] = {}
        for row_no, data in rows:
            if not isinstance(data, Mapping):
                batch.errors.append(RowError(row_no, None, "invalid_type", "a row must be a mapping of fields"))
                continue
            code = data.get("code")
            if isinstance(code, str) and code.strip():
                keys[row_no] = code_key(code.strip())
        existing = self._existing(set(keys.values()) - self.seen_codes)
        for row_no, data in rows:
            if not isinstance(data, Mapping):
                continue
            key = keys.get(row_no)
            if key is not None and (key in existing or key in self.seen_codes):
                batch.updates.append((row_no, data))
            else:
                if key is not None:
                    self.seen_codes.add(key)
                batch.creates.append((row_no, data, self.s.new_id()))
        if self.pool is not None:
            batch.prepared = [
                self.pool.submit(_prepare, batch.creates[i : i + _CHUNK], batch.now)
                for i in range(0, len(batch.creates), _CHUNK)
            ]
        return batch

    def _existing(self, keys: set[str]) -> set[str]:
        if not keys:
            return set()
        with self.s.uow(write=False) as uow:
            find = getattr(uow.customers, "existing_codes", None)
            if find is not None:
                return set(find(keys))
            return {k for k in keys if uow.customers.get_by_code(k) is not None}

    def results(self, batch: _Batch) -> list[_New | list[RowError]]:
        if self.pool is None:
            return _prepare(batch.creates, batch.now, self.ctx)
        return [r for future in batch.prepared for r in future.result()]

    def write(self, batch: _Batch) -> None:
        from bigledger_customers.services.customers import CustomerService

        errors = list(batch.errors)
        good: list[_New] = []
        for _, result in zip(batch.creates, self.results(batch), strict=True):
            if isinstance(result, list):
                errors.extend(result)
            else:
                good.append(result)
        stored = 0
        with self.s.uow() as uow:
            if good and not (errors and self.mode == "all_or_nothing"):
                stored += self._add(uow, self._finish(uow, good), batch, errors)
            service = CustomerService(self.s)
            requests: list[RowApproval] = []
            for row_no, data in batch.updates:
                try:
                    # governed fields (credit limit, settlement method) may become approval requests
                    governed_update(
                        self.s, uow, row_no, data, self.actor, requests, lambda d: self._update(uow, service, d)
                    )
                    stored += 1
                except BigLedgerError as error:
                    errors.extend(RowError.from_error(row_no, error))
            if errors and self.mode == "all_or_nothing":
                uow.rollback()
                stored = 0
            else:
                # planner statistics that lag far behind the table (PostgreSQL, see the SQL adapter)
                refresh = getattr(uow.customers, "refresh_statistics", None)
                if stored and refresh is not None:
                    refresh()
                uow.commit()
                self.approvals.extend(requests)
        self.rows_seen += len(batch.rows)
        self.rows_ok += stored
        self.errors.extend(sorted(errors, key=lambda e: e.row))

    def _finish(self, uow: UnitOfWork, good: list[_New]) -> list[_New]:
        """Generate the codes not given, and encode what the workers could not."""
        from bigledger_customers.services.customers import CustomerService

        out: list[_New] = []
        for item in good:
            customer = item[2]
            if customer is not None:
                if not customer.code:
                    customer = attrs.evolve(customer, code=CustomerService(self.s)._next_code(uow))
                encoded = self.ctx.encode(customer) if self.ctx.encode is not None else None
                item = (customer.id, customer.code, customer, encoded)  # noqa: PLW2901
            out.append(item)
        return out

    def _add(self, uow: UnitOfWork, good: list[_New], batch: _Batch, errors: list[RowError]) -> int:
        row_of = {c: row for (row, _, c) in batch.creates}
        if self.ctx.encode is not None:  # the repository's bulk path, fed the workers' rows
            add_encoded: Any = getattr(uow.customers, "add_encoded")  # noqa: B009 - checked at start
            added = good
            try:
                add_encoded([encoded for *_, encoded in good])
            except Conflict:  # a code taken since the batch was classified: one by one, to name it
                added = []
                for item in good:
                    try:
                        add_encoded([item[3]])
                        added.append(item)
                    except Conflict:
                        error = Conflict(
                            f"code {item[1]!r} is already taken", code="duplicate_code", field="code", value=item[1]
                        )
                        errors.extend(RowError.from_error(row_of[item[0]], error))
        else:
            customers = [c for *_, c, _ in good if c is not None]
            add_many = getattr(uow.customers, "add_many", None)
            added = good
            try:
                if add_many is None:
                    raise Conflict("no bulk insert")  # take the one-by-one path below
                add_many(customers)
            except Conflict:
                added = []
                for item, customer in zip(good, customers, strict=True):
                    try:
                        uow.customers.add(customer)
                        added.append(item)
                    except Conflict as error:
                        errors.extend(RowError.from_error(row_of[customer.id], error))
        entries = [
            AuditEntry(
                id=self.s.new_id(),
                at=batch.now,
                actor_id=self.actor.id,
                action="customer.import",
                entity_type="customer",
                entity_id=customer_id,
                changes={"code": [None, code], "import": [None, self.import_id]},
            )
            for customer_id, code, *_ in added
        ]
        events: list[dict[str, Any]] = [
            {
                "id": self.s.new_id(),
                "type": "customer.created",
                "aggregate_type": "customer",
                "aggregate_id": customer_id,
                "occurred_at": batch.now,
                "payload": {"customer_id": customer_id, "code": code},
            }
            for customer_id, code, *_ in added
        ]
        audit_many = getattr(uow.audit, "add_many", None)
        if audit_many is not None:
            audit_many(entries)
        else:
            for entry in entries:
                uow.audit.add(entry)
        append_many = getattr(uow.events, "append_many", None)
        if append_many is not None:
            append_many(events)
        else:
            for event in events:
                uow.events.append(**event)
        return len(added)

    def _update(self, uow: UnitOfWork, service: Any, data: Mapping[str, Any]) -> None:
        customer = load_customer(uow, str(data["code"]), follow_merge=False)
        rules.ensure_editable(customer)
        skip = READ_ONLY_FIELDS | _CREATE_ONLY
        changes = rules.normalise_keys({k: v for k, v in data.items() if k not in skip}, rules.PROFILE_FIELDS)
        draft = rules.apply_fields(customer, changes, rules.PROFILE_FIELDS)
        after = service._validated(uow, draft, Problems(), changes.keys())
        service._save(uow, customer, after, self.actor, "customer.update", "customer.updated")

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def report(self) -> ImportReport:
        return ImportReport(
            rows_ok=self.rows_ok, errors=tuple(self.errors), rows_seen=self.rows_seen, approvals=tuple(self.approvals)
        )


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork when this process runs a single thread (fast, and the caller's script needs no
    ``if __name__ == "__main__"`` guard); spawn otherwise, as forking a threaded process is unsafe."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _heap_left_alone() -> Iterator[None]:
    """While importing, keep the cyclic garbage collector off the objects that existed before.

    An import allocates millions of objects, so the collector runs often, and each full collection
    walks every tracked object of the process: the caller's own data included (measured: a fifth of
    the writing process's CPU with 10,000 rows held by the caller). ``gc.freeze`` puts the objects
    that exist now out of its reach until ``gc.unfreeze``; objects made during the import are
    collected as usual. Left alone when the caller has frozen objects itself (it may fork workers
    and rely on them staying frozen)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[tuple[int, Any]]]:
    numbered = enumerate(rows, start=1)
    while batch := list(itertools.islice(numbered, size)):
        yield batch


def import_rows(
    services: Services,
    rows: Iterable[Mapping[str, Any]],
    *,
    mode: ImportMode = "commit_good_rows",
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[ImportReport], None] | None = None,
    actor: Actor,
    workers: int | None = None,
) -> ImportReport:
    """Upsert customers by code from ``rows``; see the module docstring. Returns the report."""
    if mode not in ("commit_good_rows", "all_or_nothing"):
        raise ValidationError(
            "mode must be commit_good_rows or all_or_nothing", code="invalid_mode", field="mode", value=mode
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError("batch_size must be at least 1", field="batch_size", value=batch_size)
    if not isinstance(actor, Actor):
        raise ValidationError("actor must be an Actor", code="invalid_actor", field="actor", value=actor)
    batches = _batches(rows, batch_size)
    first = next(batches, None)
    if first is None:
        return ImportReport(rows_ok=0)
    second = next(batches, None)
    if workers is None:
        workers = (os.cpu_count() or 1) if second is not None else 0
    importer = _Importer(services, mode=mode, actor=actor, workers=workers)
    if workers > 0:
        importer.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_pool_context(),
            initializer=_init_worker,
            initargs=(importer.ctx,),
        )
    with _heap_left_alone():
        try:
            pending: collections.deque[_Batch] = collections.deque()
            for rows_of_batch in itertools.chain([first], [second] if second else [], batches):
                pending.append(importer.classify(rows_of_batch))
                # Keep one batch validating in the workers while the one before is written.
                if len(pending) > 1 or importer.pool is None:
                    importer.write(pending.popleft())
                    if on_progress is not None:
                        on_progress(importer.report())
            while pending:
                importer.write(pending.popleft())
                if on_progress is not None:
                    on_progress(importer.report())
        finally:
            importer.close()
    return importer.report()


# -- export -----------------------------------------------------------------------------------------


def export_customers(search: Callable[..., Any], *, page_size: int = 1000, **filters: Any) -> Iterator[dict[str, Any]]:
    """Every customer matching ``filters`` (the arguments of ``search``) as a JSON-ready mapping,
    fetched a page at a time with the cursor so memory stays constant."""
    cursor = None
    while True:
        page = search(**filters, limit=page_size, cursor=cursor, count_limit=0)
        for customer in page.items:
            yield unstructure(customer)
        cursor = page.next_cursor
        if cursor is None:
            return


# -- file formats -----------------------------------------------------------------------------------


def _text_stream(source: str | os.PathLike[str] | IO[str] | IO[bytes]) -> tuple[IO[str], bool]:
    """A text stream (BOM stripped) and whether we opened it (and must close it)."""
    if isinstance(source, str | os.PathLike):
        return open(source, encoding="utf-8-sig", newline=""), True
    if isinstance(source, io.TextIOBase):
        return source, False
    return codecs.getreader("utf-8-sig")(source), False  # type: ignore[arg-type, return-value]


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested mapping as flat text columns: ``names.en``, ``contacts.0.phone``, lists of text joined by ``;``.

    >>> flatten({"code": "C-1", "names": {"en": "ABC"}, "tags": ["a", "b"], "contacts": [{"phone": "+6012"}]})
    {'code': 'C-1', 'names.en': 'ABC', 'tags': 'a;b', 'contacts.0.phone': '+6012'}
    """
    out: dict[str, str] = {}
    for key, value in row.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{path}."))
        elif isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):
                out.update(flatten(item, f"{path}.{i}."))
        elif isinstance(value, list | tuple | frozenset | set):
            out[path] = ";".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[path] = "true" if value else "false"
        elif value is not None:
            out[path] = str(value)
    return out


def _cell(name: str, text: str) -> Any:
    if name in _LIST_FIELDS:
        return [part.strip() for part in text.split(";") if part.strip()]
    if name in _BOOL_FIELDS and text.strip().lower() in _TRUE | _FALSE:
        return text.strip().lower() in _TRUE
    if name in _INT_FIELDS and text.strip().removeprefix("-").isdecimal():
        return int(text)
    return text  # anything else stays text: a cell of the wrong kind is structuring's invalid_type


def unflatten(columns: Mapping[str, str | None]) -> dict[str, Any]:
    """The nested row of flat columns (the inverse of :func:`flatten`); empty cells are left out.

    >>> unflatten({"code": "C-1", "names.en": "ABC", "tags": "a; b", "contacts.0.phone": "+6012", "level": ""})
    {'code': 'C-1', 'names': {'en': 'ABC'}, 'tags': ['a', 'b'], 'contacts': [{'phone': '+6012'}]}
    """
    root: dict[str, Any] = {}
    for column, text in columns.items():
        if column is None or text is None or text == "":
            continue
        parts = column.strip().split(".")
        node: Any = root
        for part, following in itertools.pairwise(parts):
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append({} if not following.isdigit() else [])
                node = node[index]
            else:
                node = node.setdefault(part, [] if following.isdigit() else {})
        last = parts[-1]
        if isinstance(node, list):
            index = int(last)
            while len(node) <= index:
                node.append(None)
            node[index] = _cell(last, text)
        else:
            node[last] = _cell(last, text)
    for key in ("contacts", "addresses", "attachments"):
        if isinstance(root.get(key), list):
            root[key] = [item for item in root[key] if item]
    return root


def read_csv(
    source: str | os.PathLike[str] | IO[str] | IO[bytes], *, dialect: str | type[csv.Dialect] = "excel", **fmt: Any
) -> Iterator[dict[str, Any]]:
    """Rows of a CSV file (header row first; UTF-8, a BOM is skipped) as nested mappings for
    :func:`import_rows`. ``dialect`` and ``fmt`` are the csv module's (``dialect="excel-tab"``,
    ``delimiter=";"``)."""
    stream, opened = _text_stream(source)
    try:
        reader = csv.DictReader(stream, dialect=dialect, **fmt)
        if reader.fieldnames:
            reader.fieldnames = [name.lstrip("\ufeff") for name in reader.fieldnames]
        for row in reader:
            yield unflatten(row)
    finally:
        if opened:
            stream.close()


def read_jsonl(source: str | os.PathLike[str] | IO[str] | IO[bytes]) -> Iterator[Any]:
    """Rows of a JSON Lines file (one JSON object a line; blank lines skipped)."""
    stream, opened = _text_stream(source)
    try:
        for line in stream:
            if line.strip():
                yield json.loads(line)
    finally:
        if opened:
            stream.close()


def write_jsonl(rows: Iterable[Mapping[str, Any]], target: IO[str]) -> int:
    """Write one JSON object a line; returns the number of rows."""
    count = 0
    for row in rows:
        target.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        target.write("\n")
        count += 1
    return count


def write_csv(
    rows: Iterable[Mapping[str, Any]],
    target: IO[str],
    *,
    columns: Sequence[str] = DEFAULT_CSV_COLUMNS,
    dialect: str | type[csv.Dialect] = "excel",
    bom: bool = False,
    **fmt: Any,
) -> int:
    """Write ``rows`` (flattened) as CSV with a header of ``columns``; other fields are left out.
    ``bom`` writes a UTF-8 byte order mark first (spreadsheet programs want one)."""
    if bom:
        target.write("\ufeff")
    writer = csv.DictWriter(target, fieldnames=list(columns), dialect=dialect, extrasaction="ignore", **fmt)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(flatten(row))
        count += 1
    return count
