"""The command line runs as --actor with the roles of --roles or BIGLEDGER_CUSTOMERS_ROLES."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bigledger_customers.cli import ROLES_ENV, app

runner = CliRunner()


def _db(tmp_path: Path) -> Path:
    path = tmp_path / "customers.db"
    assert runner.invoke(app, ["--db", str(path), "init"]).exit_code == 0
    added = runner.invoke(
        app,
        ["--db", str(path), "--actor", "ana", "customer", "add", "--name", "ABC Trading", "--country", "MY"],
    )
    assert added.exit_code == 0, added.output
    return path


def test_roles_from_the_environment_refuse_what_the_role_may_not_do(tmp_path: Path) -> None:
    db = _db(tmp_path)

    result = runner.invoke(
        app, ["--db", str(db), "--actor", "audrey", "customer", "add", "--name", "XYZ"], env={ROLES_ENV: "auditor"}
    )

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: permission_denied: audrey may not customer.create (field: customer.create)"


def test_an_auditor_reads_and_a_role_list_is_comma_separated(tmp_path: Path) -> None:
    db = _db(tmp_path)

    shown = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "--actor",
            "audrey",
            "--roles",
            "auditor, credit_controller",
            "customer",
            "show",
            "CUS-000001",
            "--json",
        ],
    )

    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["code"] == "CUS-000001"


def test_a_role_without_read_permission_cannot_list(tmp_path: Path) -> None:
    db = _db(tmp_path)

    listed = runner.invoke(app, ["--db", str(db), "--actor", "x", "--roles", "nobody", "customer", "list"])

    assert listed.exit_code == 1
    assert "permission_denied" in listed.stderr
