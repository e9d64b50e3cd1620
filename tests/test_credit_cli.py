"""CLI ``aging``: a table on stdout and the same rows as CSV."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from bigledger_customers import Actor, Money, connect
from bigledger_customers.cli import app

ADMIN = Actor(id="u1", roles={"admin"})


def test_aging_prints_a_table_and_writes_csv(tmp_path: Path) -> None:
    db = tmp_path / "book.db"
    with connect(f"sqlite:///{db}") as book:
        book.customers.create({"code": "CUS-1", "name": {"en": "ABC"}, "country": "MY"}, actor=ADMIN)
        book.credit.post_invoice("CUS-1", "INV-1", Money("100", "MYR"), issued=dt.date(2026, 1, 1), actor=ADMIN)
    out = tmp_path / "aging.csv"
    result = CliRunner().invoke(app, ["--db", str(db), "aging", "--as-of", "2026-02-05", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert "31-60" in result.output
    assert "CUS-1" in result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["customer"], r["31-60"], r["total"]) for r in rows] == [
        ("CUS-1", "100.00", "100.00"),
        ("TOTAL", "100.00", "100.00"),
    ]
