"""Access-control contract (issue 8): roles x commands, data scopes and masking, on every adapter.

For every command and every role of the default policy: the command succeeds for a role that holds
its permissions and leaves an audit entry naming the actor; for any other role it raises
PermissionDenied, writes nothing (customers, audit trail of the customer, events, reference data
are as before) and leaves exactly one ``access.denied`` audit entry on the actor.
Scopes: a sales rep and branch staff find, read, edit and export only their customers, in the query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from bigledger_customers._book import Book
from bigledger_customers.domain.access import DEFAULT_ACCESS_POLICY, Grant, Permission, Role, Scope
from bigledger_customers.domain.accounts import HoldStatus
from bigledger_customers.domain.checkout import Order
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.records import Actor
from bigledger_customers.domain.terms import PaymentTerms
from bigledger_customers.errors import NotFound, PermissionDenied, ValidationError
from bigledger_customers.integrations import Integrations
from bigledger_customers.money import Money
from bigledger_customers.services._base import Settings
from bigledger_customers.services.access import acting_as
from bigledger_customers.testing.fakes import FakeCreditBureau

__all__ = ["ACCESS_CONTRACTS", "AccessMatrixContract", "CustomerSettingsContract", "DataScopeContract"]

ADMIN = Actor(id="root", roles=frozenset({"admin"}))
P = Permission


def role_actor(role: str) -> Actor:
    """An actor holding only ``role``, whose identities match the test customers' (REP-1, KUL)."""
    return Actor(id=f"u-{role}", roles=frozenset({role}), sales_rep="REP-1", branch="KUL")


#: Every role of the default policy except the library's own ``system``.
ROLES = tuple(r.value for r in Role if r is not Role.SYSTEM)


def _setup(book: Book) -> None:
    for kind, code in (("sales_rep", "REP-1"), ("sales_rep", "REP-2"), ("branch", "KUL"), ("branch", "PEN")):
        book.reference.add(kind, code, name=code, actor=ADMIN)


def _customer(book: Book, code: str, *, rep: str = "REP-1", branch: str = "KUL") -> Customer:
    return book.customers.create(
        {
            "code": code,
            "name": {"en": f"{code} Trading Sdn Bhd"},
            "country": "MY",
            "sales_rep": rep,
            "branch": branch,
            "tax_numbers": {"sst": "W10-1808-32000001"},
            "bank_accounts": [{"bank": "Maybank", "account_number": "5140-1234-5678", "swift": "MBBEMYKL"}],
            "addresses": [{"kind": "billing", "lines": ["1 Jalan Ampang"], "postcode": "50450", "country": "MY"}],
        },
        actor=ADMIN,
    )


@attrs.frozen
class Command:
    """One command of the matrix: the permissions it needs and how to run it on customer ``code``.

    ``run`` returns the (entity type, entity id) its audit entry is written on.
    """

    name: str
    permissions: tuple[str, ...]
    run: Callable[[Book, Actor, Customer], tuple[str, str]]
    #: What the command needs beforehand, done by an admin before the snapshot is taken.
    setup: Callable[[Book, Customer], object] | None = None


def _on_customer(result: Any, customer: Customer) -> tuple[str, str]:
    return ("customer", customer.id)


def _import(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    report = book.customers.import_rows([{"code": f"IMP-{actor.id}", "name": "Imported Co"}], actor=actor)
    assert report.ok, report.errors
    return ("customer", book.customers.get(f"IMP-{actor.id}").id)


def _create(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    new = book.customers.create({"name": "New Co", "sales_rep": "REP-1", "branch": "KUL"}, actor=actor)
    return ("customer", new.id)


def _reference(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    book.reference.add("category", f"CAT-{c.code}", actor=actor)
    return ("reference.category", f"CAT-{c.code}")


def _define_field(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    book.reference.define_field("since", "date", actor=actor)
    return ("custom_field", "since")


def _numbering(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    book.reference.set_numbering(prefix="C-", actor=actor)
    return ("numbering", "customer")


def _credit(result: Any, customer: Customer) -> tuple[str, str]:
    return ("credit", customer.id)


def _terms(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    return ("payment_terms", book.credit.define_terms(PaymentTerms.net(45, code=f"N45-{c.code}"), actor=actor).code)


def _configure_credit(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    book.credit.configure(dso_days=60, actor=actor)
    return ("config", "credit")


def _hold(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    later = book.services.clock.now() + dt.timedelta(hours=1)
    book.credit.hold(c.code, Money("10", "MYR"), reference="SO-1", expires_at=later, key=f"h-{c.code}", actor=actor)
    return ("credit", c.id)


def _overdue(book: Book, c: Customer) -> object:
    day = book.services.clock.now().date()
    return book.credit.post_invoice(c.code, f"OLD-{c.code}", Money("5", "MYR"), issued=day, due=day, actor=ADMIN)


def _dunning(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    assert book.credit.run_dunning(book.services.clock.now().date() + dt.timedelta(days=2), actor=actor)
    return ("credit", c.id)


# Money commands leave their trail in the account ledger (who, when, why: DESIGN.md section 5) or,
# while they wait for approval, in the approval request; the matrix reads the actor from there.
def _funded(book: Book, c: Customer) -> object:
    return book.accounts.top_up(c.code, Money("100", "MYR"), key=f"fund-{c.code}", actor=ADMIN)


def _top_up(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    book.accounts.top_up(c.code, Money("50", "MYR"), key=f"t-{c.code}", actor=actor)
    return ("ledger", c.code)


def _pay(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    book.accounts.submit_payment(c.code, prepayment=Money("10", "MYR"), key=f"p-{c.code}", actor=actor)
    return ("ledger", c.code)


def _income(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    income = book.accounts.record_income(c.code, Money("20", "MYR"), method="cash", key=f"i-{c.code}", actor=actor)
    assert income.approval_id is not None
    return ("approval", income.approval_id)


def _expense(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    book.accounts.submit_expense(c.code, Money("5", "MYR"), reason="stationery", key=f"e-{c.code}", actor=actor)
    return ("ledger", c.code)


def _grant(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    now = book.services.clock.now()
    grant = book.accounts.grant_rebate(
        c.code,
        Money("15", "MYR"),
        valid_from=now,
        valid_until=now + dt.timedelta(days=30),
        key=f"g-{c.code}",
        actor=actor,
    )
    assert grant.approval_id is not None
    return ("approval", grant.approval_id)


def _settlement(book: Book, actor: Actor, c: Customer) -> tuple[str, str]:
    book.accounts.set_settlement_method(c.code, "prepaid", actor=actor)
    return ("account", book.accounts.account(c.code).id)


COMMANDS: tuple[Command, ...] = (
    Command("create", (P.CUSTOMER_CREATE,), _create),
    Command(
        "update",
        (P.CUSTOMER_EDIT,),
        lambda b, a, c: _on_customer(b.customers.update(c.code, {"notes": "called"}, actor=a), c),
    ),
    Command(
        "reassign",
        (P.CUSTOMER_EDIT, P.CUSTOMER_ASSIGN),
        lambda b, a, c: _on_customer(b.customers.update(c.code, {"sales_rep": "REP-2"}, actor=a), c),
    ),
    Command(
        "suspend",
        (P.CUSTOMER_SET_STATUS,),
        lambda b, a, c: _on_customer(b.customers.set_status(c.code, "suspended", actor=a), c),
    ),
    Command(
        "void",
        (P.CUSTOMER_SET_STATUS, P.CUSTOMER_VOID),
        lambda b, a, c: _on_customer(b.customers.set_status(c.code, "voided", actor=a), c),
    ),
    Command("delete", (P.CUSTOMER_DELETE,), lambda b, a, c: _on_customer(b.customers.delete(c.code, actor=a), c)),
    Command(
        "add_contact",
        (P.CUSTOMER_EDIT,),
        lambda b, a, c: _on_customer(b.customers.add_contact(c.code, {"name": "Siti"}, actor=a), c),
    ),
    Command(
        "add_address",
        (P.CUSTOMER_EDIT,),
        lambda b, a, c: _on_customer(b.customers.add_address(c.code, {"country": "MY"}, actor=a), c),
    ),
    Command(
        "record_interaction",
        (P.CUSTOMER_EDIT,),
        lambda b, a, c: _on_customer(
            b.customers.record_interaction(c.code, channel="phone", summary="called", actor=a), c
        ),
    ),
    Command("import_rows", (P.CUSTOMER_IMPORT,), _import),
    Command("reference.add", (P.REFERENCE_MANAGE,), _reference),
    Command("reference.define_field", (P.REFERENCE_MANAGE,), _define_field),
    Command("reference.set_numbering", (P.REFERENCE_MANAGE,), _numbering),
    Command(
        "credit.change_limit",
        (P.CREDIT_CHANGE_LIMIT,),
        lambda b, a, c: _credit(b.credit.set_profile(c.code, "MYR", limit=Money("500", "MYR"), actor=a), c),
    ),
    Command(
        "credit.set_terms",
        (P.CREDIT_MANAGE,),
        lambda b, a, c: _credit(b.credit.set_profile(c.code, "MYR", terms="COD", actor=a), c),
    ),
    Command("credit.define_terms", (P.CREDIT_MANAGE,), _terms),
    Command("credit.configure", (P.CREDIT_MANAGE,), _configure_credit),
    Command(
        "credit.post_invoice",
        (P.RECEIVABLES_POST,),
        lambda b, a, c: _credit(
            b.credit.post_invoice(c.code, f"INV-{c.code}", Money("10", "MYR"), issued=dt.date(2026, 1, 1), actor=a), c
        ),
    ),
    Command(
        "credit.hold",
        (P.ACCOUNTS_PAY,),
        _hold,
        lambda b, c: b.credit.set_profile(c.code, "MYR", limit=Money("1000", "MYR"), actor=ADMIN),
    ),
    Command("credit.run_dunning", (P.CREDIT_MANAGE,), _dunning, _overdue),
    Command("accounts.top_up", (P.ACCOUNTS_TOP_UP,), _top_up),
    Command("accounts.record_income", (P.ACCOUNTS_INCOME_SUBMIT,), _income),
    Command("accounts.submit_payment", (P.ACCOUNTS_PAY,), _pay, _funded),
    Command("accounts.submit_expense", (P.ACCOUNTS_EXPENSE_SUBMIT,), _expense, _funded),
    Command("accounts.grant_rebate", (P.REBATE_GRANT_SUBMIT,), _grant),
    Command("accounts.set_settlement_method", (P.ACCOUNTS_SETTLEMENT,), _settlement),
)


@attrs.frozen
class Query:
    """One read of the matrix: the permission it needs and how to run it on customer ``c``."""

    name: str
    permission: str
    run: Callable[[Book, Actor, Customer], object]
    #: Run once (as the admin) before the matrix, e.g. to give the customer an account and a hold.
    setup: Callable[[Book, Customer], object] | None = None


def _with_account(book: Book, c: Customer) -> object:
    """Accounts enabled, MYR 100 topped up, MYR 10 of it held for a payment."""
    book.accounts.enable(actor=ADMIN)
    book.accounts.top_up(c.code, Money("100", "MYR"), key=f"t-{c.code}", actor=ADMIN)
    return book.accounts.submit_payment(c.code, prepayment=Money("10", "MYR"), key=f"p-{c.code}", actor=ADMIN)


def _hold_id(book: Book, c: Customer) -> str:
    """The open payment hold of :func:`_with_account` (read without any actor)."""
    with book.unit_of_work(write=False) as uow:
        (hold,) = uow.holds.overdue(book.services.clock.now() + dt.timedelta(days=365), account_id=c.id)
    return hold.id


def _quote(book: Book, actor: Actor, c: Customer) -> object:
    return book.checkout.quote(Order(customer=c.code, number="SO-Q", amount=Money("5", "MYR")), actor=actor)


QUERIES: tuple[Query, ...] = (
    Query("customers.get", P.CUSTOMER_READ, lambda b, a, c: b.customers.get(c.code, actor=a)),
    Query("customers.search", P.CUSTOMER_READ, lambda b, a, c: b.customers.search(actor=a)),
    Query("customers.export", P.CUSTOMER_EXPORT, lambda b, a, c: list(b.customers.export(actor=a))),
    Query("duplicates.find", P.CUSTOMER_READ, lambda b, a, c: b.duplicates.find(c.code, actor=a)),
    Query("duplicates.find_draft", P.CUSTOMER_READ, lambda b, a, c: b.duplicates.find({"name": "x"}, actor=a)),
    Query("duplicates.report", P.CUSTOMER_READ, lambda b, a, c: list(b.duplicates.report(actor=a))),
    Query("duplicates.merges", P.CUSTOMER_READ, lambda b, a, c: b.duplicates.merges(c.code, actor=a)),
    Query("customers.find_duplicates", P.CUSTOMER_READ, lambda b, a, c: b.customers.find_duplicates(c.code, actor=a)),
    Query("events.read", P.EVENTS_READ, lambda b, a, c: b.events.read(actor=a)),
    Query("credit.check", P.CREDIT_VIEW, lambda b, a, c: b.credit.check(c.code, Money("1", "MYR"), actor=a)),
    Query("credit.exposure", P.CREDIT_VIEW, lambda b, a, c: b.credit.exposure(c.code, "MYR", actor=a)),
    Query("credit.profiles", P.CREDIT_VIEW, lambda b, a, c: b.credit.profiles(c.code, actor=a)),
    Query("credit.open_items", P.CREDIT_VIEW, lambda b, a, c: b.credit.open_items(c.code, actor=a)),
    Query("credit.aging", P.CREDIT_VIEW, lambda b, a, c: b.credit.aging(customer=c.code, actor=a)),
    Query("credit.dunning", P.CREDIT_VIEW, lambda b, a, c: b.credit.dunning(customer=c.code, actor=a)),
    Query("credit.dso", P.CREDIT_VIEW, lambda b, a, c: b.credit.dso("MYR", customer=c.code, actor=a)),
    Query("accounts.account", P.ACCOUNTS_VIEW, lambda b, a, c: b.accounts.account(c.code, actor=a), _with_account),
    Query("accounts.balance", P.ACCOUNTS_VIEW, lambda b, a, c: b.accounts.balance(c.code, "MYR", actor=a)),
    Query("accounts.grants", P.ACCOUNTS_VIEW, lambda b, a, c: b.accounts.grants(c.code, actor=a)),
    Query("accounts.hold", P.ACCOUNTS_VIEW, lambda b, a, c: b.accounts.hold(_hold_id(b, c), actor=a), _with_account),
    Query("accounts.ledger", P.ACCOUNTS_VIEW, lambda b, a, c: b.accounts.ledger(c.code, actor=a)),
    Query("accounts.expenses", P.ACCOUNTS_VIEW, lambda b, a, c: b.accounts.expenses(c.code, actor=a)),
    Query("accounts.top_ups", P.ACCOUNTS_VIEW, lambda b, a, c: b.accounts.top_ups(c.code, actor=a)),
    Query("accounts.incomes", P.ACCOUNTS_VIEW, lambda b, a, c: b.accounts.incomes(c.code, actor=a)),
    Query(
        "accounts.allowed_rebate",
        P.ACCOUNTS_VIEW,
        lambda b, a, c: b.accounts.allowed_rebate(c.code, Money("5", "MYR"), actor=a),
    ),
    Query("accounts.reconcile", P.ACCOUNTS_VIEW, lambda b, a, c: b.accounts.reconcile(c.code, actor=a)),
    Query("checkout.quote", P.ACCOUNTS_VIEW, _quote, _with_account),
    Query("hierarchy.descendants", P.CUSTOMER_READ, lambda b, a, c: b.hierarchy.descendants(c.code, actor=a)),
    Query("hierarchy.ancestors", P.CUSTOMER_READ, lambda b, a, c: b.hierarchy.ancestors(c.code, actor=a)),
    Query("hierarchy.root", P.CUSTOMER_READ, lambda b, a, c: b.hierarchy.root(c.code, actor=a)),
    Query("hierarchy.get", P.CUSTOMER_READ, lambda b, a, c: b.hierarchy.get(c.code, actor=a)),
    Query("hierarchy.group_ids", P.CUSTOMER_READ, lambda b, a, c: b.hierarchy.group_ids(c.code, actor=a)),
    Query("privacy.consents", P.CUSTOMER_READ, lambda b, a, c: b.privacy.consents(c.code, actor=a)),
)


def _account_trail(uow: Any, customer: Customer) -> tuple[Any, ...]:
    """The customer's account, its ledger, grants, holds and records (empty without an account)."""
    account = uow.accounts.get(customer.id)  # an account's id is its customer's
    if account is None:
        return ()
    return (
        account,
        uow.balances.get(account.id, "MYR"),
        tuple(uow.ledger.for_account(account.id)),
        tuple(uow.grants.for_account(account.id)),
        tuple(uow.account_records.incomes(account.id)),
        tuple(uow.account_records.top_ups(account.id)),
    )


def _snapshot(book: Book, customer: Customer) -> tuple[Any, ...]:
    with book.unit_of_work(write=False) as uow:
        return (
            uow.customers.count(),
            uow.customers.get(customer.id),
            tuple(uow.audit.for_entity("customer", customer.id)),
            tuple(uow.events.read(0, 100_000)),
            tuple(uow.reference.list("category")),
            dict(uow.reference.field_definitions()),
            uow.reference.numbering("customer"),
            tuple(uow.approvals.pending(limit=100_000)),
            _account_trail(uow, customer),
        )


def _trail_actor(book: Book, entity_type: str, entity_id: str) -> str | None:
    """Who the newest trail entry of a command names: its audit entry, or for money commands the
    newest ledger entry of the customer's account, or the approval request it waits in."""
    if entity_type == "ledger":
        entries = book.accounts.ledger(entity_id)
        return entries[-1].actor_id if entries else None
    with book.unit_of_work(write=False) as uow:
        if entity_type == "approval":
            request = uow.approvals.get(entity_id)
            return None if request is None else request.requested_by
        audit = uow.audit.for_entity(entity_type, entity_id)
        return audit[-1].actor_id if audit else None


def _expected(actor: Actor, command: Command) -> str | None:
    """The first permission the actor lacks (None: allowed). The test customers are in every scope."""
    return next((p for p in command.permissions if not DEFAULT_ACCESS_POLICY.permits(actor, p)), None)


class AccessMatrixContract:
    """Every command allowed for the right roles, refused (and audited, nothing written) for the others."""

    @pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
    def test_command_by_role(self, book: Book, command: Command) -> None:
        _setup(book)
        allowed_somewhere = refused_somewhere = False
        for role in ROLES:
            actor = role_actor(role)
            customer = _customer(book, f"C-{role}")
            if command.setup is not None:
                command.setup(book, customer)
            before = _snapshot(book, customer)
            refusals = len(book.access.refusals(actor.id))
            missing = _expected(actor, command)
            if missing is None:
                entity_type, entity_id = command.run(book, actor, customer)
                assert _trail_actor(book, entity_type, entity_id) == actor.id, (role, command.name)
                allowed_somewhere = True
            else:
                with pytest.raises(PermissionDenied) as caught:
                    command.run(book, actor, customer)
                assert (caught.value.code, caught.value.field, caught.value.value) == (
                    "permission_denied",
                    missing,
                    actor.id,
                ), role
                assert _snapshot(book, customer) == before, f"{role} was refused {command.name} but something changed"
                found = book.access.refusals(actor.id)
                assert len(found) == refusals + 1, role
                assert found[-1].changes["permission"] == missing
                assert found[-1].actor_id == actor.id
                refused_somewhere = True
        assert allowed_somewhere, f"{command.name}: no role of the default policy may run it"
        assert refused_somewhere, f"{command.name}: every role may run it"

    @pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
    def test_query_by_role(self, book: Book, query: Query) -> None:
        _setup(book)
        customer = _customer(book, "C-QUERY")
        if query.setup is not None:
            query.setup(book, customer)
        allowed_somewhere = refused_somewhere = False
        for role in (*ROLES, "no_role"):  # an actor whose role the policy does not know holds nothing
            actor = role_actor(role)
            before = _snapshot(book, customer)
            refusals = len(book.access.refusals(actor.id))
            if DEFAULT_ACCESS_POLICY.permits(actor, query.permission):
                query.run(book, actor, customer)
                assert len(book.access.refusals(actor.id)) == refusals, (role, query.name)
                allowed_somewhere = True
            else:
                with pytest.raises(PermissionDenied) as caught:
                    query.run(book, actor, customer)
                assert (caught.value.code, caught.value.field, caught.value.value) == (
                    "permission_denied",
                    query.permission,
                    actor.id,
                ), role
                found = book.access.refusals(actor.id)
                assert len(found) == refusals + 1, role
                assert found[-1].changes["permission"] == query.permission
                refused_somewhere = True
            assert _snapshot(book, customer) == before, f"{role} ran {query.name} and something changed"
        assert allowed_somewhere, f"{query.name}: no role of the default policy may run it"
        assert refused_somewhere, f"{query.name}: every role may run it"

    def test_a_command_without_any_actor_is_refused(self, book: Book) -> None:
        with pytest.raises(ValidationError) as caught:
            book.customers.create({"name": "Nobody's Co"})
        assert caught.value.code == "invalid_actor"
        assert book.customers.search().items == []

    def test_acting_as_supplies_the_actor(self, book: Book) -> None:
        _setup(book)
        with acting_as(role_actor("sales_admin")):
            created = book.customers.create({"name": "Context Co"})
        assert book.customers.history(created.code)[-1].actor_id == "u-sales_admin"
        with acting_as(role_actor("auditor")), pytest.raises(PermissionDenied):
            book.customers.update(created.code, {"notes": "x"})
        assert book.customers.get(created.code).notes == ""

    def test_unknown_roles_hold_nothing(self, book: Book) -> None:
        with pytest.raises(PermissionDenied):
            book.reference.add("category", "X1", actor=Actor(id="ghost", roles={"wizard"}))
        assert book.reference.list("category") == []


class DataScopeContract:
    """Sales reps and branch staff see and change only their customers; the scope is part of the query."""

    @pytest.fixture
    def scoped(self, book: Book) -> Book:
        _setup(book)
        for i in range(3):
            _customer(book, f"MINE-{i}", rep="REP-1", branch="PEN")
            _customer(book, f"THEIRS-{i}", rep="REP-2", branch="PEN")
        _customer(book, "BRANCH-0", rep="REP-2", branch="KUL")
        return book

    def test_sales_rep_search_returns_only_their_customers(self, scoped: Book) -> None:
        rep = role_actor("sales_rep")
        page = scoped.customers.search(actor=rep, limit=2)
        codes = [c.code for c in page.items]
        while page.next_cursor:
            page = scoped.customers.search(actor=rep, limit=2, cursor=page.next_cursor)
            codes += [c.code for c in page.items]
        assert codes == ["MINE-0", "MINE-1", "MINE-2"]
        assert scoped.customers.search(actor=rep).total == 3
        assert scoped.customers.search("theirs", actor=rep).items == []
        assert scoped.customers.search(sales_rep="REP-2", actor=rep).items == []

    def test_branch_staff_search_returns_only_their_branch(self, scoped: Book) -> None:
        staff = role_actor("branch_staff")
        assert [c.code for c in scoped.customers.search(actor=staff).items] == ["BRANCH-0"]

    def test_out_of_scope_customer_is_not_found_and_the_attempt_audited(self, scoped: Book) -> None:
        rep = role_actor("sales_rep")
        assert scoped.customers.get("MINE-0", actor=rep).code == "MINE-0"
        for call in (
            lambda: scoped.customers.get("THEIRS-0", actor=rep),
            lambda: scoped.customers.history("THEIRS-0", actor=rep),
            lambda: scoped.customers.update("THEIRS-0", {"notes": "x"}, actor=rep),
        ):
            with pytest.raises(NotFound) as caught:
                call()
            assert caught.value.code == "customer_not_found"
        with pytest.raises(NotFound) as missing:
            scoped.customers.get("NO-SUCH", actor=rep)
        assert missing.value.code == "customer_not_found"  # the same answer: existence is not revealed
        assert scoped.customers.get("THEIRS-0").notes == ""
        reasons = [e.changes["reason"] for e in scoped.access.refusals(rep.id)]
        assert reasons == ["out_of_scope"] * 3

    def test_sales_rep_edits_own_customer_but_cannot_reassign_it(self, scoped: Book) -> None:
        rep = role_actor("sales_rep")
        assert scoped.customers.update("MINE-0", {"notes": "visited"}, actor=rep).notes == "visited"
        with pytest.raises(PermissionDenied) as caught:
            scoped.customers.update("MINE-0", {"sales_rep": "REP-2"}, actor=rep)
        assert caught.value.field == "customer.assign"
        assert scoped.customers.get("MINE-0").sales_rep == "REP-1"

    def test_export_is_scoped_and_masks_sensitive_fields(self, scoped: Book) -> None:
        rows = list(scoped.customers.export(actor=role_actor("sales_rep"), page_size=2))
        assert [r["code"] for r in rows] == ["MINE-0", "MINE-1", "MINE-2"]
        assert {r["tax_numbers"]["sst"] for r in rows} == {"****0001"}
        full = list(scoped.customers.export(actor=role_actor("auditor")))
        assert len(full) == 7
        assert full[0]["tax_numbers"]["sst"] == "W10-1808-32000001"

    def test_export_needs_the_export_permission(self, scoped: Book) -> None:
        with pytest.raises(PermissionDenied) as caught:
            scoped.customers.export(actor=role_actor("finance_approver"))
        assert caught.value.field == "customer.export"

    def test_duplicate_lookups_see_only_the_scope(self, scoped: Book) -> None:
        rep = role_actor("sales_rep")
        draft = {"name": "Trading Sdn Bhd", "tax_numbers": {"sst": "W10-1808-32000001"}}
        everyone = {m.right_code for m in scoped.duplicates.find(draft, limit=20)}
        assert {"THEIRS-0", "MINE-0"} <= everyone
        mine = [m.right_code for m in scoped.duplicates.find(draft, limit=20, actor=rep)]
        assert sorted(mine) == ["MINE-0", "MINE-1", "MINE-2"]
        assert {m.right_code for m in scoped.duplicates.find("MINE-0", actor=rep)} == {"MINE-1", "MINE-2"}
        with acting_as(rep):
            assert {m.right_code for m in scoped.customers.find_duplicates(draft, limit=20)} == set(mine)
        pairs = list(scoped.duplicates.report(actor=rep))
        assert pairs
        assert {p.left_code for p in pairs} | {p.right_code for p in pairs} <= {"MINE-0", "MINE-1", "MINE-2"}

    def test_duplicate_lookup_of_a_customer_outside_the_scope_is_not_found(self, scoped: Book) -> None:
        rep = role_actor("sales_rep")
        for call in (
            lambda: scoped.duplicates.find("THEIRS-0", actor=rep),
            lambda: scoped.duplicates.merges("THEIRS-0", actor=rep),
        ):
            with pytest.raises(NotFound) as caught:
                call()
            assert caught.value.code == "customer_not_found"
        reasons = [e.changes["reason"] for e in scoped.access.refusals(rep.id)]
        assert reasons == ["out_of_scope"] * 2

    def test_credit_reports_are_scoped(self, scoped: Book) -> None:
        rep = role_actor("sales_rep")
        assert scoped.credit.aging(customer="MINE-0", actor=rep).totals == ()
        with pytest.raises(NotFound):
            scoped.credit.check("THEIRS-0", Money("1", "MYR"), actor=rep)
        for whole_book in (
            lambda: scoped.credit.aging(actor=rep),
            lambda: scoped.credit.dunning(actor=rep),
            lambda: scoped.credit.dso("MYR", actor=rep),
        ):
            with pytest.raises(PermissionDenied) as caught:
                whole_book()
            assert caught.value.code == "out_of_scope"
        assert scoped.credit.dunning(actor=role_actor("credit_controller")) == []
        reasons = [e.changes["reason"] for e in scoped.access.refusals(rep.id)]
        assert reasons == ["out_of_scope"] * 4

    def test_account_reads_are_scoped(self, scoped: Book) -> None:
        rep = role_actor("sales_rep")
        scoped.accounts.enable(actor=ADMIN)
        for code in ("MINE-0", "THEIRS-0"):
            scoped.accounts.top_up(code, Money("100", "MYR"), key=f"t-{code}", actor=ADMIN)
        theirs = scoped.accounts.submit_payment("THEIRS-0", prepayment=Money("10", "MYR"), key="p-t", actor=ADMIN)
        assert scoped.accounts.balance("MINE-0", "MYR", actor=rep).available == Money("100", "MYR")
        assert len(scoped.accounts.top_ups("MINE-0", actor=rep)) == 1
        order = Order(customer="THEIRS-0", number="SO-1", amount=Money("5", "MYR"))
        calls = (
            lambda: scoped.accounts.account("THEIRS-0", actor=rep),
            lambda: scoped.accounts.balance("THEIRS-0", "MYR", actor=rep),
            lambda: scoped.accounts.grants("THEIRS-0", actor=rep),
            lambda: scoped.accounts.ledger("THEIRS-0", actor=rep),
            lambda: scoped.accounts.expenses("THEIRS-0", actor=rep),
            lambda: scoped.accounts.top_ups("THEIRS-0", actor=rep),
            lambda: scoped.accounts.incomes("THEIRS-0", actor=rep),
            lambda: scoped.accounts.allowed_rebate("THEIRS-0", Money("5", "MYR"), actor=rep),
            lambda: scoped.accounts.reconcile("THEIRS-0", actor=rep),
            lambda: scoped.checkout.quote(order, actor=rep),
        )
        for call in calls:
            with pytest.raises(NotFound) as caught:
                call()
            assert caught.value.code == "customer_not_found"
        with pytest.raises(NotFound) as hold:
            scoped.accounts.hold(theirs.id, actor=rep)
        assert hold.value.code == "hold_not_found"
        for whole_book in (
            lambda: scoped.accounts.pending_approvals(actor=rep),
            lambda: scoped.accounts.reconcile(actor=rep),
        ):
            with pytest.raises(PermissionDenied) as refused:
                whole_book()
            assert (refused.value.code, refused.value.field) == ("out_of_scope", "accounts.view")
        reasons = [e.changes["reason"] for e in scoped.access.refusals(rep.id)]
        assert reasons == ["out_of_scope"] * (len(calls) + 3)
        approver = role_actor("finance_approver")
        assert scoped.accounts.reconcile(actor=approver).ok
        assert scoped.accounts.pending_approvals(actor=approver) == []
        assert scoped.accounts.hold(theirs.id, actor=approver).id == theirs.id
        assert scoped.checkout.quote(order).customer_id == scoped.customers.get("THEIRS-0").id  # the host's own call

    def test_holds_are_settled_only_within_the_scope(self, scoped: Book) -> None:
        # confirm/reject find the hold's customer only for an actor whose answer depends on it.
        rep, auditor = role_actor("sales_rep"), role_actor("auditor")
        scoped.accounts.enable(actor=ADMIN)
        for code in ("MINE-0", "THEIRS-0"):
            scoped.accounts.top_up(code, Money("100", "MYR"), key=f"t-{code}", actor=ADMIN)
        mine = scoped.accounts.submit_payment("MINE-0", prepayment=Money("10", "MYR"), key="p-m", actor=ADMIN)
        theirs = scoped.accounts.submit_payment("THEIRS-0", prepayment=Money("10", "MYR"), key="p-t", actor=ADMIN)
        settle: tuple[Callable[[], object], ...] = (
            lambda: scoped.accounts.confirm(theirs.id, key="c-t", actor=rep),
            lambda: scoped.accounts.reject(theirs.id, key="r-t", actor=rep),
        )
        for call in settle:
            with pytest.raises(NotFound) as caught:
                call()
            assert caught.value.code == "customer_not_found"
        with pytest.raises(PermissionDenied) as refused:
            scoped.accounts.confirm(theirs.id, key="c-a", actor=auditor)  # no accounts.pay at all
        assert (refused.value.code, refused.value.field) == ("permission_denied", "accounts.pay")
        (denial,) = scoped.access.refusals(auditor.id)
        assert denial.changes["customer"] == theirs.customer_id  # the audit names whose hold it was
        assert [e.changes["reason"] for e in scoped.access.refusals(rep.id)] == ["out_of_scope"] * 2
        assert scoped.accounts.hold(theirs.id).status is HoldStatus.OPEN
        assert scoped.accounts.confirm(mine.id, key="c-m", actor=rep).status is HoldStatus.CONFIRMED
        assert scoped.accounts.confirm(theirs.id, key="c-t2", actor=ADMIN).status is HoldStatus.CONFIRMED

    def test_hierarchy_and_consent_reads_are_scoped(self, scoped: Book) -> None:
        rep = role_actor("sales_rep")
        scoped.hierarchy.move("MINE-0", "THEIRS-0", actor=ADMIN)
        scoped.hierarchy.move("MINE-1", "MINE-0", actor=ADMIN)
        scoped.hierarchy.move("THEIRS-1", "MINE-0", actor=ADMIN)
        ids = {c.code: c.id for c in scoped.customers.search(limit=20).items}
        assert {c.code for c in scoped.hierarchy.descendants("MINE-0")} == {"MINE-1", "THEIRS-1"}
        assert [c.code for c in scoped.hierarchy.descendants("MINE-0", actor=rep)] == ["MINE-1"]
        assert [c.code for c in scoped.hierarchy.ancestors("MINE-1", actor=rep)] == ["MINE-0"]
        assert set(scoped.hierarchy.group_ids("MINE-1", actor=rep)) == {ids["MINE-0"], ids["MINE-1"]}
        assert len(scoped.hierarchy.group_ids("MINE-1")) == 4
        assert scoped.hierarchy.get("MINE-0", actor=rep).tax_numbers == {"sst": "****0001"}
        assert scoped.hierarchy.root("MINE-1").code == "THEIRS-0"
        assert scoped.privacy.consents("MINE-0", actor=rep) == {}
        calls = (
            lambda: scoped.hierarchy.root("MINE-1", actor=rep),  # the top of the group is not theirs
            lambda: scoped.hierarchy.descendants("THEIRS-0", actor=rep),
            lambda: scoped.hierarchy.ancestors("THEIRS-1", actor=rep),
            lambda: scoped.hierarchy.get("THEIRS-0", actor=rep),
            lambda: scoped.hierarchy.group_ids("THEIRS-0", actor=rep),
            lambda: scoped.privacy.consents("THEIRS-0", actor=rep),
        )
        for call in calls:
            with pytest.raises(NotFound) as caught:
                call()
            assert caught.value.code == "customer_not_found"
        reasons = [e.changes["reason"] for e in scoped.access.refusals(rep.id)]
        assert reasons == ["out_of_scope"] * len(calls)

    def test_events_are_read_by_unrestricted_readers_only(self, scoped: Book) -> None:
        assert [e.type for e in scoped.events.read(actor=role_actor("auditor"), limit=1000)] == [
            e.type for e in scoped.events.read(limit=1000)
        ]
        rep_events = DEFAULT_ACCESS_POLICY.with_role("rep_events", _scoped_grant(P.EVENTS_READ))
        scoped_book = Book(scoped.store, clock=scoped.services.clock, settings=Settings(access=rep_events))
        reader = Actor(id="scoped-reader", roles=frozenset({"rep_events"}), sales_rep="REP-1")
        with pytest.raises(PermissionDenied) as caught:
            scoped_book.events.read(actor=reader)
        assert (caught.value.code, caught.value.field) == ("out_of_scope", "events.read")
        assert [e.changes["reason"] for e in scoped.access.refusals(reader.id)] == ["out_of_scope"]

    def test_bank_details_are_masked_in_reads_exports_and_history_without_the_permission(self, scoped: Book) -> None:
        rep, auditor = role_actor("sales_rep"), role_actor("auditor")
        (shown,) = scoped.customers.get("MINE-0", actor=rep).bank_accounts
        assert (shown.bank, shown.account_number, shown.swift) == ("Maybank", "****5678", "MBBEMYKL")
        assert scoped.customers.get("MINE-0", actor=auditor).bank_accounts[0].account_number == "514012345678"
        assert [r["bank_accounts"][0]["account_number"] for r in scoped.customers.export(actor=rep)] == ["****5678"] * 3
        assert {r["bank_accounts"][0]["account_number"] for r in scoped.customers.export(actor=auditor)} == {
            "514012345678"
        }
        assert scoped.customers.search(actor=rep).items[0].bank_accounts[0].account_number == "****5678"
        created = scoped.customers.history("MINE-0", actor=rep)[0].changes["bank_accounts"]
        assert created[1][0]["account_number"] == "****5678"
        assert created[1][0]["bank"] == "Maybank"
        assert (
            scoped.customers.history("MINE-0", actor=auditor)[0].changes["bank_accounts"][1][0]["account_number"]
            == "514012345678"
        )

    def test_a_masked_bank_account_is_never_written_back(self, scoped: Book) -> None:
        rep = role_actor("sales_rep")
        shown = scoped.customers.get("MINE-0", actor=rep)
        data = [{"bank": a.bank, "account_number": a.account_number} for a in shown.bank_accounts]
        with pytest.raises(ValidationError) as caught:
            scoped.customers.update("MINE-0", {"bank_accounts": data}, actor=rep)
        assert (caught.value.code, caught.value.field) == ("masked_value", "bank_accounts")
        assert scoped.customers.get("MINE-0").bank_accounts[0].account_number == "514012345678"

    def test_bank_details_are_validated(self, scoped: Book) -> None:
        for account, code in (
            ({"bank": "Maybank", "account_number": "12"}, "invalid_account_number"),
            ({"bank": "HSBC", "account_number": "12345678", "iban": "GB00WEST12345698765432"}, "invalid_iban"),
            ({"bank": "", "account_number": "12345678"}, "required"),
        ):
            with pytest.raises(ValidationError) as caught:
                scoped.customers.update("MINE-0", {"bank_accounts": [account]}, actor=ADMIN)
            assert caught.value.code == code, account
        updated = scoped.customers.update(
            "MINE-0",
            {"bank_accounts": [{"bank": "HSBC", "account_number": "12345678", "iban": "GB82 WEST 1234 5698 7654 32"}]},
            actor=ADMIN,
        )
        assert scoped.customers.get("MINE-0").bank_accounts == updated.bank_accounts
        assert updated.bank_accounts[0].iban == "GB82WEST12345698765432"

    def test_masked_values_are_never_written_back(self, scoped: Book) -> None:
        rep = role_actor("sales_rep")
        shown = scoped.customers.get("MINE-0", actor=rep)
        assert shown.tax_numbers == {"sst": "****0001"}
        with pytest.raises(ValidationError) as caught:
            scoped.customers.update("MINE-0", {"tax_numbers": dict(shown.tax_numbers)}, actor=rep)
        assert caught.value.code == "masked_value"
        assert scoped.customers.get("MINE-0").tax_numbers == {"sst": "W10-1808-32000001"}

    def test_history_masks_sensitive_values_without_the_permission(self, scoped: Book) -> None:
        rep_view = scoped.customers.history("MINE-0", actor=role_actor("sales_rep"))
        admin_view = scoped.customers.history("MINE-0", actor=role_actor("sales_admin"))
        assert rep_view[0].changes["tax_numbers"] == [None, {"sst": "****0001"}]
        assert admin_view[0].changes["tax_numbers"] == [None, {"sst": "W10-1808-32000001"}]


class CustomerSettingsContract:
    """Tax, accounting and preference settings and provider results persist on every adapter."""

    def test_tax_and_preferences_round_trip(self, book: Book) -> None:
        created = book.customers.create(
            {
                "name": "Exempt Co",
                "tax": {
                    "category": "zero_rated",
                    "exempt": True,
                    "certificate": "EX-2026-0042",
                    "valid_from": "2026-01-01",
                    "valid_until": "2026-12-31",
                    "receivable_category": "related_party",
                },
                "preferences": {
                    "payment_methods": ["bank_transfer", "cheque"],
                    "delivery": {"method": "courier", "instructions": "Loading bay 3", "partial_allowed": False},
                },
            },
            actor=ADMIN,
        )
        loaded = book.customers.get(created.code)
        assert loaded == created
        assert loaded.tax.is_exempt_on(dt.date(2026, 6, 30))
        assert not loaded.tax.is_exempt_on(dt.date(2027, 1, 1))
        assert loaded.tax.receivable_category == "related_party"
        assert [m.value for m in loaded.preferences.payment_methods] == ["bank_transfer", "cheque"]
        assert loaded.preferences.delivery is not None
        assert loaded.preferences.delivery.instructions == "Loading bay 3"

    def test_defaults_are_a_trade_debtor_without_exemption(self, book: Book) -> None:
        created = book.customers.create({"name": "Plain Co"}, actor=ADMIN)
        assert book.customers.get(created.code).tax.receivable_category == "trade_debtor"
        assert not created.tax.is_exempt_on(dt.date(2026, 1, 1))

    def test_an_exemption_needs_its_certificate(self, book: Book) -> None:
        with pytest.raises(ValidationError) as caught:
            book.customers.create({"name": "Exempt Co", "tax": {"exempt": True}}, actor=ADMIN)
        assert caught.value.field == "tax"
        assert book.customers.search().items == []

    def test_a_bureau_report_is_stored_with_its_date(self, book: Book) -> None:
        created = book.customers.create({"name": "Rated Co"}, actor=ADMIN)
        with_bureau = _with_integrations(book, Integrations(credit_bureau=FakeCreditBureau({created.code: (640, "B")})))
        with_bureau.integrations.refresh_credit_report(created.code, on=dt.date(2026, 4, 1), actor=ADMIN)
        report = book.customers.get(created.code).credit_report
        assert report is not None
        assert (report.score, report.rating, report.fetched_on) == (640, "B", dt.date(2026, 4, 1))

    def test_a_refused_bureau_refresh_asks_nobody_and_writes_nothing(self, book: Book) -> None:
        created = book.customers.create({"name": "Rated Co"}, actor=ADMIN)
        bureau = FakeCreditBureau({created.code: (640, "B")})
        with_bureau = _with_integrations(book, Integrations(credit_bureau=bureau))
        with pytest.raises(PermissionDenied):
            with_bureau.integrations.refresh_credit_report(created.code, actor=role_actor("sales_rep"))
        assert bureau.calls == []
        assert book.customers.get(created.code).version == 1


def _scoped_grant(permission: str) -> Grant:
    return Grant({permission}, Scope.OWN_CUSTOMERS)


def _with_integrations(book: Book, integrations: Integrations) -> Book:
    """A second book on the same store whose settings name ``integrations``."""
    return Book(book.store, clock=book.services.clock, settings=Settings(integrations=integrations))


ACCESS_CONTRACTS = (AccessMatrixContract, DataScopeContract, CustomerSettingsContract)
