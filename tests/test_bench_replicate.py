"""benchmarks.scale.replicate on SQLite (indexes and FTS5 rebuilt after the copy) leaves the database
exactly as copying row by row with the triggers and indexes in place does."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from benchmarks import scale

from bigledger_customers import Actor, connect
from bigledger_customers.testing.generate import customers


def _schema(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT type, name FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    return sorted(row for row in rows if not row[1].startswith("sqlite_stat"))  # ANALYZE's tables


def test_sqlite_replicate_equals_row_by_row_copies(tmp_path: Path) -> None:
    fast, slow = tmp_path / "fast.db", tmp_path / "slow.db"
    with connect(f"sqlite:///{fast}") as book:
        scale._setup(book)
        book.customers.import_rows(customers(300, seed=1), actor=Actor(id="b", roles={"admin"}), workers=0)
    shutil.copy(fast, slow)
    assert scale.replicate(f"sqlite:///{fast}", 3) == 900
    engine = sa.create_engine(f"sqlite:///{slow}")
    with engine.begin() as conn:  # every trigger and index maintained row by row
        for r in range(1, 3):
            for statement in scale._copy_statements("sqlite", r):
                conn.exec_driver_sql(statement)
    engine.dispose()
    assert _schema(fast) == _schema(slow)
    with sqlite3.connect(fast) as con:
        for table in ("customer_text", "customer_grams"):
            con.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    queries = [
        {"text": "深圳", "status": "active", "sort": "name"},
        {"text": "manu", "sort": "name"},
        {"text": "trading"},
        {"status": "active", "sort": "name", "descending": True},
    ]
    pages = []
    for path in (fast, slow):
        with connect(f"sqlite:///{path}", create=False) as book:
            pages.append([[c.code for c in book.customers.search(**q, limit=1000).items] for q in queries])
    assert pages[0] == pages[1]
    assert all(pages[0])
    assert any(code.endswith("-R2") for code in pages[0][1])
