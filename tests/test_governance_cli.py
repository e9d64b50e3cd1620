"""The ``duplicates`` command writes the batch duplicate report as CSV."""

from __future__ import annotations

import csv
from pathlib import Path

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
