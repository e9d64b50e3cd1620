"""The ``account`` and ``checkout`` commands against a temporary SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bigledger_customers import Actor, Money, connect
from bigledger_customers.cli import app

runner = CliRunner()
ADMIN = Actor(id="setup", roles={"admin"})


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with customer CUS-1 (CNY), copied per test (migrating once keeps the module fast)."""
    path = tmp_path_factory.mktemp("template") / "customers.db"
    with connect(f"sqlite:///{path}") as book:
        book.customers.create({"code": "CUS-1", "name": {"en": "ABC"}, "country": "CN", "currency": "CNY"}, actor=ADMIN)
    return path


@pytest.fixture
def db(initialised: Path, tmp_path: Path) -> Path:
    path = tmp_path / "customers.db"
    path.write_bytes(initialised.read_bytes())
    return path


def cli(db: Path, *args: str, actor: str = "tester", roles: str = "sales_admin") -> Result:
    return runner.invoke(app, ["--db", str(db), "--actor", actor, "--roles", roles, *args])


def ok(db: Path, *args: str, **who: str) -> Result:
    result = cli(db, *args, **who)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def assert_one_error_line(result: Result, code: str) -> None:
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {code}: ")
    assert "Traceback" not in result.output


def balance(db: Path) -> dict[str, str]:
    shown = json.loads(ok(db, "account", "show", "CUS-1", "--currency", "CNY", "--json").stdout)
    (only,) = shown["balances"]
    return {k: only[k]["amount"] for k in ("actual", "available", "locked", "rebate_available")}


def test_top_up_prints_the_platform_fee(db: Path) -> None:
    result = ok(db, "account", "top-up", "CUS-1", "257.50", "CNY", "--key", "tp-1")

    assert "credited 257.50 CNY; fee 1.55 CNY" in result.stdout
    assert balance(db)["available"] == "257.50"


def test_top_up_replayed_with_the_same_key_prints_the_same_result(db: Path) -> None:
    first = ok(db, "account", "top-up", "CUS-1", "257.50", "CNY", "--key", "tp-1")

    again = ok(db, "account", "top-up", "CUS-1", "257.50", "CNY", "--key", "tp-1")

    assert again.stdout == first.stdout
    assert balance(db)["actual"] == "257.50"


def test_a_key_reused_with_another_amount_exits_1_with_the_error_code(db: Path) -> None:
    ok(db, "account", "top-up", "CUS-1", "257.50", "CNY", "--key", "tp-1")

    result = cli(db, "account", "top-up", "CUS-1", "300.00", "CNY", "--key", "tp-1")

    assert_one_error_line(result, "idempotency_key_reused")
    assert balance(db)["actual"] == "257.50"


def test_a_payment_beyond_the_balance_exits_1_with_one_line(db: Path) -> None:
    ok(db, "account", "top-up", "CUS-1", "100", "CNY", "--key", "tp-1")

    result = cli(
        db, "account", "pay", "CUS-1", "--prepayment", "130", "--currency", "CNY", "--order", "SO-1", "--key", "p-1"
    )

    assert_one_error_line(result, "insufficient_funds")
    assert balance(db)["available"] == "100.00"


def test_an_amount_is_a_decimal_string_and_bad_ones_are_refused(db: Path) -> None:
    result = cli(db, "account", "top-up", "CUS-1", "1.234", "CNY", "--key", "tp-1")

    assert_one_error_line(result, "invalid_precision")


def test_pay_then_confirm_part_settles_part_and_releases_the_rest(db: Path) -> None:
    ok(db, "account", "top-up", "CUS-1", "100", "CNY", "--key", "tp-1")
    paid = ok(
        db, "account", "pay", "CUS-1", "--prepayment", "30", "--currency", "CNY", "--order", "SO-1", "--key", "p-1",
        "--json",
    )  # fmt: skip
    hold = json.loads(paid.stdout)["id"]
    assert balance(db) == {"actual": "100.00", "available": "70.00", "locked": "30.00", "rebate_available": "0.00"}

    ok(db, "account", "confirm", hold, "--key", "c-1", "--amount", "20")

    assert balance(db) == {"actual": "80.00", "available": "80.00", "locked": "0.00", "rebate_available": "0.00"}


def test_reject_releases_the_hold(db: Path) -> None:
    ok(db, "account", "top-up", "CUS-1", "100", "CNY", "--key", "tp-1")
    paid = ok(
        db, "account", "pay", "CUS-1", "--prepayment", "30", "--currency", "CNY", "--order", "SO-1", "--key", "p-1",
        "--json",
    )  # fmt: skip

    result = ok(db, "account", "reject", json.loads(paid.stdout)["id"], "--key", "r-1")

    assert ": rejected;" in result.stdout
    assert balance(db)["available"] == "100.00"


def test_income_waits_for_another_persons_approval(db: Path) -> None:
    income = json.loads(
        ok(db, "account", "income", "CUS-1", "500", "CNY", "--method", "cash", "--key", "in-1", "--json").stdout
    )
    assert income["status"] == "pending"
    assert balance(db)["actual"] == "0.00"

    # The maker may not approve: without the approve permission, and (holding it) not its own request.
    assert_one_error_line(cli(db, "account", "approve", income["approval_id"]), "permission_denied")
    maker_and_approver = "sales_admin,finance_approver"
    assert_one_error_line(
        cli(db, "account", "approve", income["approval_id"], roles=maker_and_approver), "self_approval"
    )
    assert balance(db)["actual"] == "0.00"
    ok(db, "account", "approve", income["approval_id"], actor="checker", roles="finance_approver")

    assert balance(db)["actual"] == "500.00"


def test_a_manual_grant_counts_once_approved(db: Path) -> None:
    period = ("--from", "2020-01-01", "--until", "2099-12-31")
    grant = json.loads(ok(db, "account", "grant", "CUS-1", "300", "CNY", *period, "--key", "g-1", "--json").stdout)
    assert grant["valid_until"].startswith("2100-01-01T00:00:00")  # a date counts in full

    ok(db, "account", "approve", grant["approval_id"], actor="checker", roles="finance_approver")

    assert balance(db)["rebate_available"] == "300.00"


def test_a_grant_with_a_bad_date_exits_1(db: Path) -> None:
    result = cli(db, "account", "grant", "CUS-1", "300", "CNY", "--from", "soon", "--until", "2099-12-31", "--key", "g")

    assert_one_error_line(result, "invalid_option")


def test_enable_reports_every_account(db: Path) -> None:
    result = ok(db, "account", "enable")

    assert "accounts enabled: 1 accounts for 1 customers" in result.stdout


def test_reconcile_passes_on_a_clean_ledger_and_fails_on_a_difference(db: Path) -> None:
    ok(db, "account", "top-up", "CUS-1", "100", "CNY", "--key", "tp-1")
    assert "0 differ" in ok(db, "account", "reconcile", "CUS-1").stdout

    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:  # tamper behind the ledger's back
        connection.execute(sa.text("UPDATE account_balances SET available = available + 1, actual = actual + 1"))
    engine.dispose()

    result = cli(db, "account", "reconcile")

    assert result.exit_code == 1
    assert "1 differ" in result.stdout


def test_checkout_quote_reserve_and_confirm_through_the_reservation_json(db: Path, tmp_path: Path) -> None:
    ok(db, "account", "top-up", "CUS-1", "100", "CNY", "--key", "tp-1")
    quote = json.loads(ok(db, "checkout", "quote", "CUS-1", "80", "CNY", "--order", "SO-9", "--json").stdout)
    assert quote["ok"] is True
    assert quote["plan"]["prepayment"]["amount"] == "80.00"

    handle = tmp_path / "reservation.json"
    printed = ok(db, "checkout", "reserve", "CUS-1", "80", "CNY", "--order", "SO-9", "--key", "r-1", "-o", str(handle))
    assert json.loads(printed.stdout)["state"] == "held"
    assert balance(db)["locked"] == "80.00"

    confirmed = ok(db, "checkout", "confirm", f"@{handle}", "--key", "c-1")

    assert "confirmed" in confirmed.stdout
    assert balance(db) == {"actual": "20.00", "available": "20.00", "locked": "0.00", "rebate_available": "0.00"}


def test_checkout_reject_takes_the_reservation_json_itself(db: Path) -> None:
    ok(db, "account", "top-up", "CUS-1", "100", "CNY", "--key", "tp-1")
    printed = ok(db, "checkout", "reserve", "CUS-1", "80", "CNY", "--order", "SO-9", "--key", "r-1").stdout

    ok(db, "checkout", "reject", printed, "--key", "x-1")

    assert balance(db)["available"] == "100.00"


def test_checkout_confirm_refuses_text_that_is_not_a_reservation(db: Path) -> None:
    assert_one_error_line(cli(db, "checkout", "confirm", "not json", "--key", "c-1"), "invalid_reservation")


def test_a_credit_block_is_one_line(db: Path) -> None:
    with connect(f"sqlite:///{db}") as book:
        book.accounts.set_settlement_method("CUS-1", "credit", actor=ADMIN)
        book.credit.set_profile("CUS-1", "CNY", limit=Money("1000", "CNY"), actor=ADMIN)

    result = cli(db, "checkout", "reserve", "CUS-1", "1500", "CNY", "--order", "SO-1", "--key", "r-1")

    assert_one_error_line(result, "checkout_blocked")
    assert "over limit by 500.00" in result.stderr
