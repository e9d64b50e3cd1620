"""The ``duplicates`` command writes the batch duplicate report as CSV; ``approval`` lists and decides requests."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bigledger_customers.cli import app

runner = CliRunner()


def test_duplicates_writes_one_csv_row_per_likely_pair(tmp_path: Path) -> None:
    db = tmp_path / "customers.db"
    assert runner.invoke(app, ["--db", str(db), "init"]).exit_code == 0
    for name in ("ABC Manufacturing Sdn Bhd", "A.B.C. Manufacturing", "Delta Foods"):
        result = runner.invoke(app, ["--db", str(db), "customer", "add", "--name", name, "--country", "MY"])
        assert result.exit_code == 0, result.output
    out = tmp_path / "dups.csv"

    result = runner.invoke(app, ["--db", str(db), "duplicates", "--output", str(out)])

    assert result.exit_code == 0, result.output
    assert "1 likely duplicate pairs" in result.stdout
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["left_code"], r["right_code"], r["matched"]) for r in rows] == [("CUS-000001", "CUS-000002", "name")]
    assert float(rows[0]["score"]) >= 0.5


def test_duplicates_refuses_a_bad_threshold_with_one_error_line(tmp_path: Path) -> None:
    db = tmp_path / "customers.db"
    assert runner.invoke(app, ["--db", str(db), "init"]).exit_code == 0

    result = runner.invoke(app, ["--db", str(db), "duplicates", "-o", "-", "--threshold", "2"])

    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: invalid: threshold must be between 0 and 1")


def test_approval_list_shows_each_approver_what_they_may_sign_and_approve_applies_it(tmp_path: Path) -> None:
    db = tmp_path / "customers.db"

    def cli(*args: str, actor: str = "maker", roles: str = "sales_admin") -> Any:
        result = runner.invoke(app, ["--db", str(db), "--actor", actor, "--roles", roles, *args])
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    cli("init")
    cli("customer", "add", "--code", "CUS-1", "--name", "ABC", "--country", "CN", "--currency", "CNY")
    income = json.loads(
        cli("account", "income", "CUS-1", "500", "CNY", "--method", "cash", "--key", "i", "--json").stdout
    )
    checker = {"actor": "checker", "roles": "finance_approver"}

    assert "no pending approvals" in cli("approval", "list", "--mine").stdout  # the maker's own request
    listed = json.loads(cli("approval", "list", "--mine", "--json", **checker).stdout)
    assert [r["id"] for r in listed] == [income["approval_id"]]
    assert "finance_approver" in cli("approval", "list", **checker).stdout

    result = cli("approval", "approve", income["approval_id"], "--note", "ok", **checker)

    assert "prepayment.income): approved" in result.stdout
    assert json.loads(cli("approval", "show", income["approval_id"], "--json").stdout)["status"] == "approved"
    assert "no pending approvals" in cli("approval", "list", **checker).stdout
