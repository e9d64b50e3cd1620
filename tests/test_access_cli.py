"""The command line runs as --actor with roles and identities from options, environment or a config file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bigledger_customers import Actor, connect
from bigledger_customers._cli_identity import BRANCH_ENV, CONFIG_ENV, SALES_REP_ENV
from bigledger_customers.cli import ACTOR_ENV, ROLES_ENV, app

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


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "blc.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _scoped_db(tmp_path: Path) -> Path:
    """Two customers, one per sales rep and branch, added by the default (sales_admin) actor."""
    path = tmp_path / "scoped.db"
    assert runner.invoke(app, ["--db", str(path), "init"]).exit_code == 0
    for kind, code in (("sales_rep", "REP-1"), ("sales_rep", "REP-2"), ("branch", "KUL"), ("branch", "PEN")):
        done = runner.invoke(app, ["--db", str(path), "reference", "add", kind, code])
        assert done.exit_code == 0, done.output
    book = connect(f"sqlite:///{path}")
    admin = Actor(id="ana", roles={"sales_admin"})
    book.customers.create(
        {
            "code": "MINE",
            "name": "Mine Co",
            "sales_rep": "REP-1",
            "branch": "PEN",
            "bank_accounts": [{"bank": "Maybank", "account_number": "5140-1234-5678"}],
        },
        actor=admin,
    )
    book.customers.create({"code": "THEIRS", "name": "Theirs Co", "sales_rep": "REP-2", "branch": "KUL"}, actor=admin)
    book.close()
    return path


def _codes(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [row["code"] for row in json.loads(result.stdout)["items"]]


def test_sales_rep_option_scopes_what_the_cli_lists(tmp_path: Path) -> None:
    db = _scoped_db(tmp_path)
    args = ["--db", str(db), "--actor", "raj", "--roles", "sales_rep"]

    assert _codes(runner.invoke(app, [*args, "--sales-rep", "REP-1", "customer", "list", "--json"])) == ["MINE"]
    assert _codes(runner.invoke(app, [*args, "customer", "list", "--json"])) == []  # no identity: nothing


def test_branch_and_sales_rep_come_from_the_environment(tmp_path: Path) -> None:
    db = _scoped_db(tmp_path)

    listed = runner.invoke(
        app,
        ["--db", str(db), "customer", "list", "--json"],
        env={ACTOR_ENV: "bea", ROLES_ENV: "branch_staff", BRANCH_ENV: "KUL", SALES_REP_ENV: "REP-1"},
    )

    assert _codes(listed) == ["THEIRS"]


def test_roles_and_identity_per_actor_come_from_the_config_file(tmp_path: Path) -> None:
    db = _scoped_db(tmp_path)
    config = _config(
        tmp_path,
        'actor = "raj"\n\n[actors.raj]\nroles = ["sales_rep"]\nsales_rep = "REP-1"\n\n'
        '[actors.audrey]\nroles = ["auditor"]\n',
    )

    as_default = runner.invoke(app, ["--db", str(db), "--config", str(config), "customer", "list", "--json"])
    as_auditor = runner.invoke(
        app, ["--db", str(db), "--actor", "audrey", "customer", "list", "--json"], env={CONFIG_ENV: str(config)}
    )
    refused = runner.invoke(
        app, ["--db", str(db), "--config", str(config), "--actor", "audrey", "customer", "add", "--name", "X"]
    )

    assert _codes(as_default) == ["MINE"]
    assert _codes(as_auditor) == ["MINE", "THEIRS"]
    assert refused.exit_code == 1
    assert "permission_denied: audrey may not customer.create" in refused.stderr


def test_the_command_line_overrides_the_config_file(tmp_path: Path) -> None:
    db = _scoped_db(tmp_path)
    config = _config(tmp_path, '[actors.raj]\nroles = ["sales_rep"]\nsales_rep = "REP-1"\n')
    args = ["--db", str(db), "--config", str(config), "--actor", "raj"]

    assert _codes(runner.invoke(app, [*args, "--sales-rep", "REP-2", "customer", "list", "--json"])) == ["THEIRS"]
    assert _codes(runner.invoke(app, [*args, "--roles", "auditor", "customer", "list", "--json"])) == [
        "MINE",
        "THEIRS",
    ]


def test_an_actor_the_config_file_does_not_list_holds_no_role(tmp_path: Path) -> None:
    db = _scoped_db(tmp_path)
    config = _config(tmp_path, '[actors.raj]\nroles = ["sales_rep"]\n')

    listed = runner.invoke(app, ["--db", str(db), "--config", str(config), "--actor", "eve", "customer", "list"])

    assert listed.exit_code == 1
    assert "permission_denied: eve may not customer.read" in listed.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("actors = [", "not valid TOML"),
        ('[actors.raj]\nroles = "sales_rep"\n', "actors.raj.roles must be a list of role names"),
        ('[actors.raj]\nrole = ["sales_rep"]\n', "actors.raj has unknown keys: role"),
        ('colour = "blue"\n', "unknown keys: colour"),
    ],
)
def test_a_broken_config_file_is_one_error_line(tmp_path: Path, text: str, message: str) -> None:
    config = _config(tmp_path, text)

    result = runner.invoke(app, ["--db", str(tmp_path / "x.db"), "--config", str(config), "customer", "list"])

    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid_config: ")
    assert message in result.stderr


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", str(tmp_path / "x.db"), "--config", str(tmp_path / "nope.toml"), "init"])

    assert result.exit_code == 1
    assert "invalid_config" in result.stderr
    assert "nope.toml" in result.stderr


def test_the_cli_masks_bank_details_for_an_actor_without_the_permission(tmp_path: Path) -> None:
    db = _scoped_db(tmp_path)
    rep = ["--db", str(db), "--actor", "raj", "--roles", "sales_rep", "--sales-rep", "REP-1"]

    masked = runner.invoke(app, [*rep, "customer", "show", "MINE"])
    as_json = runner.invoke(app, [*rep, "customer", "show", "MINE", "--json"])
    full = runner.invoke(app, ["--db", str(db), "--roles", "auditor", "customer", "show", "MINE"])

    assert masked.exit_code == 0, masked.output
    assert "Maybank ****5678" in masked.stdout
    assert "514012345678" not in masked.stdout
    assert json.loads(as_json.stdout)["bank_accounts"][0]["account_number"] == "****5678"
    assert "Maybank 514012345678" in full.stdout
