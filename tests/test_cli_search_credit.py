"""`customer search` filters and sorts by credit limit (--credit-limit-min/-max, --credit-currency)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bigledger_customers import Actor, Money, connect
from bigledger_customers.cli import app

runner = CliRunner()
ADMIN = Actor(id="root", roles={"admin"})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Three customers: limits MYR 1,000 and MYR 5,000, and one with no MYR limit (SGD 9,000)."""
    path = tmp_path / "customers.db"
    assert runner.invoke(app, ["--db", str(path), "init"]).exit_code == 0
    book = connect(f"sqlite:///{path}")
    for code, limit in (
        ("SMALL", Money("1000", "MYR")),
        ("BIG", Money("5000", "MYR")),
        ("ABROAD", Money("9000", "SGD")),
    ):
        book.customers.create({"code": code, "name": f"{code} Trading Sdn Bhd", "country": "MY"}, actor=ADMIN)
        book.credit.set_profile(code, limit.currency, limit=limit, actor=ADMIN)
    return path


def search(db: Path, *args: str) -> Result:
    return runner.invoke(app, ["--db", str(db), "--actor", "tester", "customer", "search", "trading", *args, "--json"])


def codes(result: Result) -> list[str]:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return [c["code"] for c in json.loads(result.stdout)["items"]]


def test_a_credit_limit_range_keeps_the_customers_inside_it(db: Path) -> None:
    assert codes(search(db, "--credit-limit-min", "2000", "--credit-currency", "MYR")) == ["BIG"]
    assert codes(search(db, "--credit-limit-max", "1000.00", "--credit-currency", "myr")) == ["SMALL"]
    both = search(db, "--credit-limit-min", "1000", "--credit-limit-max", "5000", "--credit-currency", "MYR")
    assert codes(both) == ["BIG", "SMALL"]
    assert codes(search(db)) == ["ABROAD", "BIG", "SMALL"]


def test_sorting_by_credit_limit_puts_customers_without_one_first(db: Path) -> None:
    result = search(db, "--sort", "credit_limit", "--credit-currency", "MYR")
    assert codes(result) == ["ABROAD", "SMALL", "BIG"]
    assert codes(search(db, "--sort", "credit_limit", "--credit-currency", "MYR", "--desc")) == [
        "BIG",
        "SMALL",
        "ABROAD",
    ]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--credit-limit-min", "1000"), "credit_currency_required"),
        (("--sort", "credit_limit"), "credit_currency_required"),
        (("--credit-limit-min", "lots", "--credit-currency", "MYR"), "invalid_amount"),
    ],
)
def test_bad_credit_options_are_one_error_line(db: Path, args: tuple[str, ...], code: str) -> None:
    result = search(db, *args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {code}: "), result.stderr
