"""The accounts and checkout benchmarks at a small size, so their code cannot rot (no timing is asserted)."""

from __future__ import annotations

import pytest
from benchmarks import checkout, enable_accounts

pytestmark = pytest.mark.slow


def test_enable_benchmark_enables_every_seeded_customer_once() -> None:
    result = enable_accounts.run("sqlite", 1_000, 300)
    assert (result["customers"], result["created"], result["accounts"], result["missing"]) == (1_000, 1_000, 1_000, 0)
    assert (result["batches"], result["second_run_created"], result["enabled_events"]) == (
        5,
        0,
        1,
    )  # 300, 300, 300, 100, then a pass that finds none


@pytest.mark.postgresql
def test_checkout_throughput_counts_every_pair_and_reconciles(postgresql_url: str) -> None:
    # Its own database: the benchmark seeds customers and prepaid accounts.
    url = checkout._fresh_pg_db("blc_test_checkout_bench", "127.0.0.1")
    codes = checkout._seed(url, 6)
    result = checkout.throughput(url, codes, "smoke", processes=2, clients=4, seconds=1.0)
    assert result["pairs"] > 0
    assert result["failed"] == 0, result["errors"]
    assert result["lost"] == 0
    assert result["expense_records"] == result["pairs"]
    assert result["open_holds"] == 0
    assert result["reconciled"]
