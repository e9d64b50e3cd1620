"""The data generator: deterministic, realistic, and importable without a single error."""

from __future__ import annotations

import collections

from bigledger_customers import Actor, connect
from bigledger_customers.domain.validation import normalise_phone
from bigledger_customers.testing.generate import customers, reference_data

ADMIN = Actor(id="admin", roles={"sales_admin"})


def test_the_same_seed_gives_the_same_rows_and_another_seed_others() -> None:
    assert list(customers(50, seed=3)) == list(customers(50, seed=3))
    assert list(customers(50, seed=3)) != list(customers(50, seed=4))


def test_phones_are_valid_for_the_customers_country() -> None:
    for row in customers(2000, seed=1):
        for contact in row["contacts"]:
            for kind in ("phone", "mobile"):
                if kind in contact:
                    normalise_phone(contact[kind], region=row["country"])


def test_names_mix_languages_and_values_are_skewed() -> None:
    rows = list(customers(3000, seed=5))
    languages = collections.Counter(lang for row in rows for lang in row["name"])
    assert {"zh", "ms", "en"} <= set(languages)
    statuses = collections.Counter(row["status"] for row in rows)
    assert statuses["active"] > 0.7 * len(rows)
    assert statuses["voided"] > 0
    categories = collections.Counter(row["category"] for row in rows).most_common()
    assert categories[0][1] > 5 * categories[-1][1]


def test_generated_rows_import_without_errors() -> None:
    book = connect("memory://")
    for kind, code in reference_data():
        book.reference.add(kind, code, actor=ADMIN)
    report = book.customers.import_rows(customers(300, seed=9), actor=ADMIN, workers=0)
    assert (report.rows_ok, report.errors) == (300, ())
    assert book.customers.search(status="voided").total == sum(
        row["status"] == "voided" for row in customers(300, seed=9)
    )
