"""CLI import, export and generate against a temporary SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from bigledger_customers.cli import app

runner = CliRunner()


def cli(db: Path, *args: str) -> Result:
    return runner.invoke(app, ["--db", str(db), "--actor", "tester", *args])


def test_generate_export_and_import_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    assert cli(db, "init").exit_code == 0
    result = cli(db, "generate", "--count", "120", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "120 customers generated" in result.stdout
    out = tmp_path / "all.jsonl"
    result = cli(db, "export", str(out))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 120
    csv_path = tmp_path / "active.csv"
    assert cli(db, "export", str(csv_path), "--status", "active", "--bom").exit_code == 0
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = cli(db, "import", str(csv_path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["errors"] == []
    assert report["rows_ok"] == report["rows_seen"] > 0


def test_import_reports_bad_rows_and_exits_2(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    assert cli(db, "init").exit_code == 0
    data = tmp_path / "in.csv"
    data.write_text("code,names.en,country\nA-001,Alpha,MY\nA-002,Beta,XX\n", encoding="utf-8")
    result = cli(db, "import", str(data), "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["rows_ok"] == 1
    assert [(e["row"], e["field"], e["code"]) for e in report["errors"]] == [(2, "country", "invalid_country")]


def test_generate_writes_json_lines(tmp_path: Path) -> None:
    out = tmp_path / "gen.jsonl"
    result = cli(tmp_path / "unused.db", "generate", "--count", "5", "--seed", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["code"] for x in out.read_text().splitlines()] == [f"GEN-000000{i}" for i in range(1, 6)]
