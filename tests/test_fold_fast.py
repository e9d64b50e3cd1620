"""Differential tests: the fast paths of text folding and duplicate-check keys (issue 4) return
exactly what the full, character-by-character paths return."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bigledger_customers.domain import duplicates
from bigledger_customers.domain.duplicates import index_keys, match_record, normalise_identifier
from bigledger_customers.domain.search import _fold_full, fold, is_identifier

ASCII = st.text(alphabet=st.characters(max_codepoint=127), max_size=60)


def mixed_text(extra: str = "") -> st.SearchStrategy[str]:
    """ASCII mixed with accents, combining marks, full-width forms, ligatures, Greek, Turkish I, CJK
    (and ``extra``) and any character; tests/test_import_fold.py uses it too."""
    return st.text(
        alphabet=st.one_of(
            st.characters(max_codepoint=127),
            st.sampled_from("\u0301\u0308\u0327\u00a0\u3000ÀéİıßΣσςﬁＡ１①ǅ深圳市前海科技有限公司한국" + extra),
            st.characters(),
        ),
        max_size=60,
    )


MIXED = mixed_text()


@given(ASCII)
@example("Müller")
@example("ABC Sdn. Bhd.\t\n\x00\x7f~")
def test_fold_ascii_equals_full_path(text: str) -> None:
    assert fold(text) == _fold_full(text)


@given(MIXED)
@example("e\u0301 İstanbul ΣΑΣ ﬁ Ａ")
def test_fold_any_text_equals_full_path(text: str) -> None:
    assert fold(text) == _fold_full(text)


def test_fold_every_code_point_equals_full_path() -> None:
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        assert fold(ch) == _fold_full(ch), hex(cp)
        assert fold("A" + ch) == _fold_full("A" + ch), hex(cp)


def _identifier_full(value: str) -> str:
    return "".join(ch for ch in _fold_full(value) if ch.isalnum()).upper()


@given(st.one_of(ASCII, MIXED))
@example(" w10-1808 32000001 ")
@example("²³½")
def test_normalise_identifier_equals_full_path(value: str) -> None:
    assert normalise_identifier(value) == _identifier_full(value)


def _index_keys_full(customer: Any) -> frozenset[str]:
    """index_keys as it was: from the full match record (addresses included)."""
    record = match_record(customer)
    keys = {f"t:{x}" for x in record.tax_numbers}
    keys |= {f"e:{x}" for x in record.emails}
    keys |= {f"p:{x}" for x in record.phones}
    for name in record.names:
        words = sorted(name.split(), key=lambda w: (-len(w), w))[:2]
        keys.add("n:" + "|".join(sorted(w[:4] for w in words)))
    return frozenset(k[:200] for k in keys)


TEXT = st.one_of(ASCII, MIXED)
CONTACT = st.builds(
    SimpleNamespace,
    email=st.one_of(st.none(), TEXT),
    phone=st.one_of(st.none(), TEXT),
    mobile=st.one_of(st.none(), TEXT),
)
ADDRESS = st.builds(
    SimpleNamespace, lines=st.lists(TEXT, max_size=2), city=TEXT, state=TEXT, postcode=TEXT, country=TEXT
)
CUSTOMER = st.builds(
    SimpleNamespace,
    id=st.just("c1"),
    code=st.just("CUS-1"),
    legal_name=TEXT,
    names=st.dictionaries(st.sampled_from(["en", "zh", "ms"]), TEXT, max_size=3),
    tax_numbers=st.dictionaries(st.sampled_from(["MY", "SG"]), TEXT, max_size=2),
    contacts=st.lists(CONTACT, max_size=3),
    addresses=st.lists(ADDRESS, max_size=2),
)


@settings(max_examples=300)
@given(CUSTOMER)
def test_index_keys_equal_full_record_keys(customer: Any) -> None:
    duplicates.normalise_name.cache_clear()
    assert index_keys(customer) == _index_keys_full(customer)


def _is_identifier_full(term: str) -> bool:
    return (
        len(term) >= 8
        and not term.startswith("+")
        and sum("0" <= ch <= "9" for ch in term) >= 4
        and any("a" <= ch <= "z" for ch in term)
    )


TERM = st.text(alphabet=st.one_of(st.sampled_from("0123456789az+-_.Z９٣ａ"), st.characters()), max_size=14)


@given(TERM)
@example("w10-1808-32000001")
@example("1234567z")
@example("1234567Z")
@example("123a٣٣٣٣٣")
def test_is_identifier_equals_full_path(term: str) -> None:
    assert is_identifier(term) == _is_identifier_full(term)
