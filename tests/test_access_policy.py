"""The access policy: role unions, scopes, host policies, and the documented table."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from bigledger_customers import (
    DEFAULT_ACCESS_POLICY,
    AccessPolicy,
    Actor,
    DataScope,
    Grant,
    Permission,
    PermissionDenied,
    Role,
    Scope,
    Settings,
    acting_as,
    connect,
    current_actor,
)
from bigledger_customers.domain.access import mask_customer, mask_value

ROOT = Path(__file__).resolve().parent.parent


def test_permission_names_are_stable_dotted_lowercase() -> None:
    assert all(re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", p.value) for p in Permission)
    assert Permission.CUSTOMER_CREATE == "customer.create"
    assert Permission.ACCOUNTS_INCOME_APPROVE == "accounts.income.approve"


def test_a_role_held_over_all_customers_lifts_the_scope_of_another() -> None:
    actor = Actor(id="u", roles={"sales_rep", "auditor"}, sales_rep="REP-1")

    assert DEFAULT_ACCESS_POLICY.scope_for(actor, Permission.CUSTOMER_READ) == DataScope(unrestricted=True)
    assert DEFAULT_ACCESS_POLICY.scope_for(actor, Permission.CUSTOMER_EDIT) == DataScope(sales_rep="REP-1")


def test_two_scoped_roles_add_up() -> None:
    actor = Actor(id="u", roles={"sales_rep", "branch_staff"}, sales_rep="REP-1", branch="KUL")

    assert DEFAULT_ACCESS_POLICY.scope_for(actor, Permission.CUSTOMER_READ) == DataScope(
        sales_rep="REP-1", branch="KUL"
    )


def test_a_scoped_actor_without_its_identity_sees_nothing() -> None:
    scope = DEFAULT_ACCESS_POLICY.scope_for(Actor(id="u", roles={"sales_rep"}), Permission.CUSTOMER_READ)

    assert scope is not None
    assert not scope.covers(type("C", (), {"sales_rep": None, "branch": None})())


def test_unknown_roles_and_no_roles_hold_nothing() -> None:
    assert not DEFAULT_ACCESS_POLICY.permits(Actor(id="u"), Permission.CUSTOMER_READ)
    assert DEFAULT_ACCESS_POLICY.scope_for(Actor(id="u", roles={"wizard"}), Permission.CUSTOMER_READ) is None


def test_admin_and_system_hold_every_permission_including_a_hosts_own() -> None:
    for role in (Role.ADMIN, Role.SYSTEM):
        actor = Actor(id="u", roles={role})
        assert all(DEFAULT_ACCESS_POLICY.permits(actor, p) for p in Permission)
        assert DEFAULT_ACCESS_POLICY.permits(actor, "host.invoice.print")


def test_a_host_policy_replaces_the_default() -> None:
    policy = AccessPolicy({"clerk": Grant({"customer.create", "customer.read"})})
    book = connect("memory://", settings=Settings(access=policy))

    created = book.customers.create({"name": "Clerk Co"}, actor=Actor(id="c", roles={"clerk"}))
    assert created.code == "CUS-000001"
    with pytest.raises(PermissionDenied):
        book.customers.create({"name": "Admin Co"}, actor=Actor(id="a", roles={"sales_admin"}))


def test_a_host_grants_scoped_create_and_new_customers_must_fall_inside_the_scope() -> None:
    policy = DEFAULT_ACCESS_POLICY.with_role("rep_plus", Grant({"customer.create"}, scope=Scope.OWN_CUSTOMERS))
    book = connect("memory://", settings=Settings(access=policy))
    admin = Actor(id="a", roles={"admin"})
    for code in ("REP-1", "REP-2"):
        book.reference.add("sales_rep", code, actor=admin)
    rep = Actor(id="r", roles={"rep_plus"}, sales_rep="REP-1")

    assert book.customers.create({"name": "Mine", "sales_rep": "REP-1"}, actor=rep).sales_rep == "REP-1"
    with pytest.raises(PermissionDenied) as caught:
        book.customers.create({"name": "Theirs", "sales_rep": "REP-2"}, actor=rep)
    assert caught.value.code == "out_of_scope"
    assert book.customers.search(text="theirs").items == []


def test_the_permissions_page_shows_the_default_policy() -> None:
    page = (ROOT / "docs" / "permissions.md").read_text("utf-8")
    header = next(line for line in page.splitlines() if line.startswith("| permission |"))
    roles = [cell.strip() for cell in header.strip("|").split("|")][1:]
    rows = {
        m.group(1): [cell.strip() for cell in m.group(2).strip("|").split("|")]
        for m in re.finditer(r"^\| `([a-z_.]+)` \|(.*)$", page, re.MULTILINE)
    }
    assert set(rows) == {p.value for p in Permission}
    for permission, cells in rows.items():
        for role, cell in zip(roles, cells, strict=True):
            grant = DEFAULT_ACCESS_POLICY.roles[role]
            expected = grant.scope.value if grant.holds(permission) else ""
            assert cell == expected, (permission, role)


def test_acting_as_is_local_to_a_thread_and_nests() -> None:
    outer, inner = Actor(id="outer"), Actor(id="inner")
    seen: list[Actor | None] = []
    with acting_as(outer):
        with acting_as(inner):
            assert current_actor() == inner
        assert current_actor() == outer
        thread = threading.Thread(target=lambda: seen.append(current_actor()))
        thread.start()
        thread.join()
    assert seen == [None]
    assert current_actor() is None


def test_masking_keeps_the_last_four_characters_of_long_values_only() -> None:
    assert mask_value("W10-1808-32000001") == "****0001"
    assert mask_value("C1234567") == "****"
    assert mask_customer({"code": "C1", "tax_numbers": {"sst": "W10-1808-32000001"}}) == {
        "code": "C1",
        "tax_numbers": {"sst": "****0001"},
    }
