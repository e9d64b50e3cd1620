"""The scale benchmarks at 10,000 customers, so their code cannot rot (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import scale

from bigledger_customers import connect

COUNT = 10_000
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not scale.RAW_BASELINE.is_file(), reason="../shared/bench/raw_search_baseline.py is missing"),
]


def test_sqlite_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    result = scale.run_engine("sqlite", COUNT, workers=2)
    assert result["import"]["rows_ok"] == COUNT
    assert result["import"]["raw_rows_per_s"] > 0
    assert result["search"]["all"]["n"] >= 200
    assert result["get"]["by_code_median_ms"] > 0


@pytest.mark.postgresql
def test_postgresql_benchmark_runs_end_to_end(postgresql_url: str) -> None:
    result = scale.run_engine("postgresql", COUNT, workers=2)
    assert result["import"]["rows_ok"] == COUNT
    assert result["search"]["all"]["n"] >= 200


def test_memory_benchmark_and_report(tmp_path: Path) -> None:
    book = connect("memory://")
    assert scale.time_import(book, 2_000, workers=0)["rows_ok"] == 2_000
    assert scale.time_search(book, 2_000)["all"]["n"] >= 200
    report = tmp_path / "performance.md"
    report.write_text("# x\n<!-- results:start -->\nold\n<!-- results:end -->\ntail\n")
    sample = tmp_path / "scale-sqlite-1000000.json"
    sample.write_text('{"engine": "sqlite", "count": 1000000, "import": {"seconds": 1, "rows_per_s": 2}}')
    scale.write_report([sample], report)
    assert "| sqlite | 1,000,000 |" in report.read_text()
    assert report.read_text().endswith("tail\n")


def test_import_only_runs_the_raw_script_beside_the_import() -> None:
    result = scale.run_import("sqlite", 2_000, workers=2)
    assert result["rows_ok"] == result["stored"] == 2_000
    assert result["raw_rows_per_s"] > 0
    assert result["ratio_to_raw"] > 0
    same = result["raw_same_schema"]
    assert same["rows"] == 2_000  # every generated row, written by the bare driver into the full schema
    assert result["ratio_to_raw_same_schema"] > 0


@pytest.mark.postgresql
def test_the_same_schema_baseline_stores_what_the_import_stores(postgresql_url: str, tmp_path: Path) -> None:
    import sqlalchemy as sa

    for url in (f"sqlite:///{tmp_path / 'same.db'}", scale._pg_database("blc_same_smoke")):
        try:
            assert scale.raw_same_schema(url, 700, batch=300)["rows"] == 700
            with connect(url, create=False) as book, book.unit_of_work(write=False) as uow:
                conn: sa.Connection = uow.connection  # type: ignore[attr-defined]
                counts = {
                    table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                    for table in ("customers", "customer_search_keys", "customer_match_keys", "customer_contacts")
                }
                assert counts["customers"] == 700
                assert min(counts.values()) > 0
                # the text index is fed by the schema's own triggers / indexes: a search finds rows
                assert book.customers.search(text="trading", limit=5).items
        finally:
            if not url.startswith("sqlite"):
                scale._pg_database("blc_same_smoke", drop_only=True)


def test_marginal_adds_new_rows_in_turns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from benchmarks import marginal

    url = f"sqlite:///{tmp_path / 'm.db'}"
    with connect(url) as book:
        scale._setup(book)
    marginal.main([url, "--rows", "150", "--rounds", "1", "--start", "20001"])
    result = json.loads(capsys.readouterr().out)
    assert result["ratio_of_medians"] > 0
    with connect(url, create=False) as book, book.unit_of_work(write=False) as uow:
        assert uow.customers.count() == 300  # the library's turn and the raw turn, each its own rows
