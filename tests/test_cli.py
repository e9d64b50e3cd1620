"""The bigledger-customers command against a temporary SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bigledger_customers.cli import app, database_url

runner = CliRunner()


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file after ``init``, copied per test (migrating once keeps the module fast)."""
    path = tmp_path_factory.mktemp("template") / "customers.db"
    result = runner.invoke(app, ["--db", str(path), "init"])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def db(initialised: Path, tmp_path: Path) -> Path:
    path = tmp_path / "customers.db"
    path.write_bytes(initialised.read_bytes())
    return path


def cli(db: Path, *args: str) -> Result:
    return runner.invoke(app, ["--db", str(db), "--actor", "tester", *args])


def ok(db: Path, *args: str) -> Result:
    result = cli(db, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def add_abc(db: Path, *extra: str) -> Result:
    return ok(
        db, "customer", "add", "--name", "ABC Manufacturing Sdn Bhd", "--country", "MY", "--currency", "MYR", *extra
    )


def assert_one_error_line(result: Result, code: str, field: str | None = None) -> None:
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {code}: ")
    if field is not None:
        assert lines[0].endswith(f"(field: {field})")
    assert "Traceback" not in result.output


def test_init_creates_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"

    result = runner.invoke(app, ["--db", str(path), "init"])

    assert result.exit_code == 0, result.output
    assert path.exists()
    assert "database ready" in result.stdout


def test_init_twice_is_harmless(db: Path) -> None:
    ok(db, "init")
    add_abc(db)

    ok(db, "init")

    assert "CUS-000001" in ok(db, "customer", "show", "CUS-000001").stdout


def test_add_generates_the_first_code_and_shows_the_customer(db: Path) -> None:
    result = add_abc(db, "--tag", "key-account")

    assert "CUS-000001" in result.stdout
    assert "ABC Manufacturing Sdn Bhd" in result.stdout
    assert "key-account" in result.stdout


def test_show_finds_the_customer_by_code_in_any_case(db: Path) -> None:
    add_abc(db, "--name", "zh=ABC 制造")

    result = ok(db, "customer", "show", "cus-000001")

    assert "CUS-000001" in result.stdout
    assert "ABC 制造" in result.stdout
    assert "active" in result.stdout


def test_show_json_prints_the_whole_customer(db: Path) -> None:
    add_abc(db, "--name", "zh=ABC 制造", "--tag", "b", "--tag", "a")

    data = json.loads(ok(db, "customer", "show", "CUS-000001", "--json").stdout)

    assert data["code"] == "CUS-000001"
    assert data["names"] == {"en": "ABC Manufacturing Sdn Bhd", "zh": "ABC 制造"}
    assert data["status"] == "active"
    assert sorted(data["tags"]) == ["a", "b"]
    assert data["version"] == 1


def test_list_pages_through_customers_with_the_cursor(db: Path) -> None:
    for name in ("Alpha Trading", "Beta Foods", "Gamma Steel"):
        ok(db, "customer", "add", "--name", name, "--country", "MY")

    first = json.loads(ok(db, "customer", "list", "--limit", "2", "--json").stdout)
    rest = json.loads(ok(db, "customer", "list", "--limit", "2", "--cursor", first["next_cursor"], "--json").stdout)

    assert [c["code"] for c in first["items"]] == ["CUS-000001", "CUS-000002"]
    assert [c["code"] for c in rest["items"]] == ["CUS-000003"]
    assert rest["next_cursor"] is None


def test_list_prints_a_table(db: Path) -> None:
    add_abc(db)

    result = ok(db, "customer", "list")

    assert "CUS-000001" in result.stdout
    assert "ABC Manufacturing Sdn Bhd" in result.stdout


def test_search_finds_customers_by_a_word_of_their_name(db: Path) -> None:
    add_abc(db)
    ok(db, "customer", "add", "--name", "Beta Foods", "--country", "MY")

    data = json.loads(ok(db, "customer", "search", "manufacturing", "--json").stdout)

    assert [c["code"] for c in data["items"]] == ["CUS-000001"]


def test_search_without_a_match_says_so(db: Path) -> None:
    add_abc(db)

    assert "no customers found" in ok(db, "customer", "search", "zzz").stdout


def test_set_status_suspends_and_the_status_filter_sees_it(db: Path) -> None:
    add_abc(db)
    ok(db, "customer", "add", "--name", "Beta Foods", "--country", "MY")

    result = ok(db, "customer", "set-status", "CUS-000002", "suspended", "--reason", "unpaid invoices")
    suspended = json.loads(ok(db, "customer", "list", "--status", "suspended", "--json").stdout)

    assert "CUS-000002: suspended (version 2)" in result.stdout
    assert [c["code"] for c in suspended["items"]] == ["CUS-000002"]
    assert suspended["items"][0]["status_reason"] == "unpaid invoices"


def test_set_status_with_a_stale_version_is_refused(db: Path) -> None:
    add_abc(db)
    ok(db, "customer", "set-status", "CUS-000001", "inactive")

    result = cli(db, "customer", "set-status", "CUS-000001", "active", "--expected-version", "1")

    assert_one_error_line(result, "stale_version")


def test_contact_add_normalises_the_phone_to_e164(db: Path) -> None:
    add_abc(db)

    ok(db, "contact", "add", "CUS-000001", "--name", "Ali", "--phone", "012-345 6789", "--email", "ali@example.com")

    contacts = json.loads(ok(db, "customer", "show", "CUS-000001", "--json").stdout)["contacts"]
    assert [(c["name"], c["phone"], c["primary"]) for c in contacts] == [("Ali", "+60123456789", True)]


def test_contact_add_with_a_bad_phone_prints_one_error_line_and_writes_nothing(db: Path) -> None:
    add_abc(db)

    result = cli(db, "contact", "add", "CUS-000001", "--name", "Ali", "--phone", "123")

    assert_one_error_line(result, "invalid_phone")
    assert "phone" in result.stderr
    assert json.loads(ok(db, "customer", "show", "CUS-000001", "--json").stdout)["contacts"] == []


def test_address_add_takes_the_customers_country_by_default(db: Path) -> None:
    add_abc(db)

    result = ok(db, "address", "add", "CUS-000001", "--kind", "shipping", "--line", "1 Jalan Ampang", "--city", "KL")

    address = json.loads(ok(db, "customer", "show", "CUS-000001", "--json").stdout)["addresses"][0]
    assert (address["kind"], address["country"], address["is_default"]) == ("shipping", "MY", True)
    assert "1 Jalan Ampang" in result.stdout


def test_address_with_latitude_out_of_range_is_refused(db: Path) -> None:
    add_abc(db)

    result = cli(db, "address", "add", "CUS-000001", "--latitude", "91", "--longitude", "0")

    assert_one_error_line(result, "invalid_coordinate")


def test_reference_add_and_list(db: Path) -> None:
    ok(db, "reference", "add", "category", "WHOLESALE", "--name", "Wholesale")
    ok(db, "reference", "add", "category", "RETAIL")

    listed = json.loads(ok(db, "reference", "list", "category", "--json").stdout)
    table = ok(db, "reference", "list", "category").stdout

    assert [(e["code"], e["name"]) for e in listed] == [("RETAIL", "RETAIL"), ("WHOLESALE", "Wholesale")]
    assert "Wholesale" in table


def test_customer_may_name_a_category_that_exists(db: Path) -> None:
    ok(db, "reference", "add", "category", "WHOLESALE", "--name", "Wholesale")

    add_abc(db, "--category", "wholesale")

    assert json.loads(ok(db, "customer", "show", "CUS-000001", "--json").stdout)["category"] == "WHOLESALE"


def test_unknown_category_is_refused_with_its_field(db: Path) -> None:
    result = cli(db, "customer", "add", "--name", "ABC", "--country", "MY", "--category", "NOPE")

    assert_one_error_line(result, "unknown_category", "category")
    assert "no customers found" in ok(db, "customer", "list").stdout


def test_duplicate_reference_code_is_a_conflict(db: Path) -> None:
    ok(db, "reference", "add", "region", "SEL")

    assert_one_error_line(cli(db, "reference", "add", "region", "sel"), "duplicate_code", "code")


def test_unknown_customer_is_not_found(db: Path) -> None:
    assert_one_error_line(cli(db, "customer", "show", "CUS-999999"), "customer_not_found", "customer")


def test_a_command_before_init_says_to_run_init(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", str(tmp_path / "missing.db"), "customer", "list"])

    assert_one_error_line(result, "not_initialised", "db")
    assert not (tmp_path / "missing.db").exists()


def test_the_database_can_be_named_by_environment_variable(db: Path) -> None:
    add_abc(db)

    result = runner.invoke(app, ["customer", "show", "CUS-000001"], env={"BIGLEDGER_CUSTOMERS_DB": str(db)})

    assert result.exit_code == 0, result.output
    assert "CUS-000001" in result.stdout


def test_the_actor_is_recorded_in_the_audit_trail(db: Path) -> None:
    from bigledger_customers import connect

    add_abc(db)

    book = connect(database_url(str(db)), create=False)
    try:
        history = book.customers.history("CUS-000001")
    finally:
        book.close()
    assert [entry.actor_id for entry in history] == ["tester"]


def test_database_url_keeps_urls_and_turns_paths_into_sqlite_urls() -> None:
    assert database_url("customers.db") == "sqlite:///customers.db"
    assert database_url("/tmp/c.db") == "sqlite:////tmp/c.db"
    assert database_url("memory://") == "memory://"


def test_the_console_script_prints_no_traceback_on_error(db: Path) -> None:
    # A real process: the error path must not depend on CliRunner's exception handling.
    code = "from bigledger_customers.cli import main; main()"
    args = ["--db", str(db), "customer", "show", "NOPE-1"]

    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: customer_not_found: no customer 'NOPE-1' (field: customer)"]
