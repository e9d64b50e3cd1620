"""The scripts in examples/ run as a host would run them: ``python examples/x.py`` on a temp SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
EXPECTED = {
    "erp_sales_order.py": ["SO-1 3000.00 MYR: committed", "SO-2 2000.00 MYR: refused", "orders: SO-1;"],
    "pos_till.py": ["retrying with the same key", "rejected", "0.00 MYR locked"],
    "nightly_job.py": ["expired: 1 hold(s), 1 rebate grant(s)", "dunning CUS-C: 50 days overdue"],
}


def run_example(script: Path, tmp_path: Path, python: str = sys.executable) -> str:
    """Run ``script`` with ``python`` on a database file in ``tmp_path``; its output (it must exit 0)."""
    database = tmp_path / f"{script.stem}.db"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [python, str(script), str(database)], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert database.exists()
    return done.stdout


def test_every_example_is_checked() -> None:
    assert sorted(p.name for p in EXAMPLES) == sorted(EXPECTED)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_and_says_what_it_did(script: Path, tmp_path: Path) -> None:
    output = run_example(script, tmp_path)

    for line in EXPECTED[script.name]:
        assert line in output, output
