"""Differential tests: the cheaper steps of encoding an imported customer (issue 4) give exactly what
the steps they replace give: combining marks dropped by a compiled character set, bigram tokens and
search keys without per-pair and per-digit calls, company suffixes dropped by word look-ups, and the
stored document unstructured with inlined optionals and a remembered timestamp text."""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
import sys
import unicodedata
from typing import Any

import attrs
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bigledger_customers.adapters.sql import _repositories as repos
from bigledger_customers.adapters.sql import _search
from bigledger_customers.domain import convert, duplicates
from bigledger_customers.domain import search as text_rules
from bigledger_customers.domain.customer import Customer
from bigledger_customers.domain.duplicates import COMPANY_SUFFIXES, index_keys, normalise_name
from bigledger_customers.domain.search import fold, is_identifier, search_grams, search_keys, search_text
from bigledger_customers.services import bulk
from bigledger_customers.testing.generate import customers, reference_data
from tests.test_fold_fast import mixed_text

#: ASCII, accents, combining marks, full-width forms, ligatures, Greek, CJK, Hangul, and any character.
TEXT = mixed_text("+-. ")
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


# -- fold: the BMP's combining characters by a character set ------------------------------------------


def test_the_character_set_holds_exactly_the_tables_characters_below_u10000() -> None:
    table = text_rules._combining_table()
    pattern = text_rules._combining_bmp()
    for cp in range(0x10000):
        assert (pattern.fullmatch(chr(cp)) is not None) == (cp in table), hex(cp)


def test_fold_drops_combining_characters_beyond_the_bmp() -> None:
    astral = [cp for cp in text_rules._combining_table() if cp >= 0x10000]
    assert astral  # e.g. U+1D165 MUSICAL SYMBOL COMBINING STEM
    for cp in astral:
        assert fold("深a" + chr(cp) + "e\u0301") == text_rules._fold_full("深a" + chr(cp) + "e\u0301"), hex(cp)


# -- search keys and bigram tokens --------------------------------------------------------------------


def _is_identifier_before(term: str) -> bool:
    return (
        len(term) >= 8
        and not term.startswith("+")
        and sum(map(term.count, "0123456789")) >= 4
        and re.search("[a-z]", term) is not None
    )


def _search_keys_before(folded: str) -> frozenset[str]:
    keys: set[str] = set()
    for word in folded.split():
        if _is_identifier_before(word):
            keys.add(word[:200])
        start = word.find("+")
        while start != -1:
            keys.add(word[start : start + 200])
            start = word.find("+", start + 1)
    return frozenset(keys)


def _search_grams_before(folded: str) -> str:
    tokens: dict[str, None] = {}
    for run in re.findall(r"[^\W\x00-\x7f]{2,}", folded):
        for i in range(len(run) - 1):
            tokens[text_rules.gram_token(run[i : i + 2])] = None
    return " ".join(tokens)


IDENTIFIERISH = st.text(alphabet=st.sampled_from("ab1234567890-+x深٣"), max_size=24)


@given(st.one_of(IDENTIFIERISH, TEXT))
@example("w10-1808-32000001")
@example("201912345k")
@example("1234567a")
@example("+60123456789")
@example("abcdefg٣٣٣٣1")  # Arabic-Indic digits are not ASCII digits
def test_is_identifier_equals_the_digit_count(term: str) -> None:
    assert is_identifier(term) == _is_identifier_before(term)


@given(st.lists(st.one_of(IDENTIFIERISH, TEXT), max_size=6).map(" ".join))
@example("gen-0000042 acme +60123456789 w10-1808-32000001 a+b+c")
def test_search_keys_equal_the_per_word_rule(folded: str) -> None:
    assert search_keys(folded) == _search_keys_before(folded)


@given(TEXT)
@example("深圳市 abc 深圳")
@example("ab")
@example("한국어 ｄｅ 深a圳")
def test_search_grams_equal_the_token_per_pair(text: str) -> None:
    assert search_grams(text) == _search_grams_before(text)
    assert search_grams(fold(text)) == _search_grams_before(fold(text))


# -- company suffixes by word look-ups -------------------------------------------------------------------


def test_every_suffix_is_one_or_two_words_and_the_two_word_forms_come_first() -> None:
    sizes = [len(s.split()) for s in COMPANY_SUFFIXES]
    assert set(sizes) <= {1, 2}
    assert sizes == sorted(sizes, reverse=True)
    assert all(re.fullmatch(r"[a-z]+( [a-z]+)?", s) for s in COMPANY_SUFFIXES)


SUFFIX_WORDS = sorted({w for s in COMPANY_SUFFIXES for w in s.split()})
WORD = st.one_of(st.sampled_from(SUFFIX_WORDS), st.sampled_from(["abc", "co", "x", "深圳", "bhdx", "_"]))


@settings(max_examples=400)
@given(st.lists(WORD, max_size=8))
@example(["co", "ltd", "co"])
@example(["sdn", "sdn", "bhd"])
@example(["company", "limited", "limited"])
def test_suffixes_drop_as_the_pattern_drops_them(words: list[str]) -> None:
    expected = " ".join(duplicates._SUFFIX_RE.sub(" ", " ".join(words)).split()).split()
    assert duplicates._without_suffixes(words) == expected


def _normalise_name_before(name: str) -> str:
    text = text_rules._fold_full(name).strip()
    for suffix in duplicates._CJK_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    text = " ".join(re.sub(r"[^\w]+", " ", text_rules._fold_full(text).replace("&", " and ")).split())
    stripped = " ".join(duplicates._SUFFIX_RE.sub(" ", text).split())
    return " ".join(sorted(duplicates._join_initials((stripped or text).split())))


NAME = st.lists(
    st.one_of(WORD, TEXT, st.sampled_from(["Sdn.", "BHD", "Pte. Ltd.", "有限公司", "&", "A.B."])), max_size=6
)


@settings(max_examples=400)
@given(NAME.map(" ".join))
@example("A.B.C. Trading Pte. Ltd.")
@example("深圳市前海科技有限公司")
@example("Müller & Söhne GmbH")
@example("Sdn Bhd")
def test_normalise_name_equals_the_pattern_path(name: str) -> None:
    assert normalise_name.__wrapped__(name) == _normalise_name_before(name)


# -- the stored document ----------------------------------------------------------------------------------


def _converter_before() -> Any:
    """The package converter with cattrs' own optional hook, plain isoformat and the set hook as it was."""
    ref = convert.converter.copy()
    ref.register_unstructure_hook_factory(convert._is_optional_type, ref.gen_unstructure_optional)
    ref.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)
    ref.register_unstructure_hook_func(convert._is_set_type, lambda s: sorted(ref.unstructure(x) for x in s))
    return ref


REFERENCE = _converter_before()


def test_the_reference_converter_is_the_old_one() -> None:
    import linecache

    hook = REFERENCE.get_unstructure_hook(Customer)
    source = "".join(linecache.getlines(hook.__code__.co_filename))
    assert "__c_unstr_category(instance.category)" in source  # cattrs' optional hook, called
    fast = convert.converter.get_unstructure_hook(Customer)
    assert "'category': instance.category" in "".join(linecache.getlines(fast.__code__.co_filename))


class _Colour(enum.StrEnum):
    RED = "red"


@settings(max_examples=200)
@given(st.from_type(Customer))
def test_document_equals_the_old_unstructure(customer: Customer) -> None:
    fast = convert.unstructure(customer)
    assert fast == REFERENCE.unstructure(customer)
    assert json.dumps(fast) == json.dumps(REFERENCE.unstructure(customer))


def test_generated_documents_equal_the_old_unstructure() -> None:
    for customer in _built(200):
        assert json.dumps(convert.unstructure(customer)) == json.dumps(REFERENCE.unstructure(customer))


def test_sets_of_enum_members_and_text_unstructure_as_before() -> None:
    value = frozenset({_Colour.RED, "blue", "Red"})
    assert convert.converter.unstructure(value, frozenset[str]) == REFERENCE.unstructure(value, frozenset[str])
    assert [type(x) for x in convert.converter.unstructure(value, frozenset[str])] == [str, str, str]


def test_a_remembered_timestamp_text_is_only_for_the_same_object() -> None:
    plus8 = dt.timezone(dt.timedelta(hours=8))
    later = NOW.astimezone(plus8)
    assert later == NOW
    texts = [convert.unstructure(x) for x in (NOW, NOW, later, later, NOW)]
    assert texts == [x.isoformat() for x in (NOW, NOW, later, later, NOW)]
    assert texts[0] != texts[2]

    class Stamp(dt.datetime):
        def isoformat(self, *args: Any, **kwargs: Any) -> str:
            return "not used: the hook calls datetime's own"

    stamp = Stamp(2026, 1, 2, tzinfo=dt.UTC)
    assert convert.unstructure(stamp) == REFERENCE.unstructure(stamp) == "2026-01-02T00:00:00+00:00"


# -- the encoded rows -------------------------------------------------------------------------------------


def _built(count: int, seed: int = 3) -> list[Customer]:
    references: dict[str, dict[str, str]] = {}
    for kind, code in reference_data():
        references.setdefault(kind, {})[code.casefold()] = code
    context = bulk._Context(references=references, definitions={})
    return [bulk._new_customer(row, f"c{i}", NOW, context) for i, row in enumerate(customers(count, seed=seed))]


def _encoded_before(customer: Customer) -> Any:
    row = repos.SqlCustomerRepository._row(customer)
    text = text_rules._fold_full(
        " ".join(
            dict.fromkeys(
                p
                for p in [
                    customer.code,
                    customer.legal_name,
                    *customer.names.values(),
                    *customer.tax_numbers.values(),
                    *(x for c in customer.contacts for x in (c.email, c.phone, c.mobile) if x),
                ]
                if p
            )
        )
    )
    assert row["search_text"] == text == search_text(customer)
    assert row["search_grams"] == _search_grams_before(text)
    assert row["doc"] == REFERENCE.unstructure(customer)
    keys = [(k["customer_id"], k["search_key"]) for k in _search.search_key_rows([(customer.id, text)])]
    assert keys == [(customer.id, k) for k in sorted(_search_keys_before(text))]
    return keys


def test_generated_customers_encode_as_the_reference_steps() -> None:
    for customer in _built(300):
        row, children = repos.encode_new_customer(customer)
        assert children["customer_search_keys"] == _encoded_before(customer)
        assert row["doc"] == json.dumps(REFERENCE.unstructure(customer))
        assert children["customer_match_keys"] == [(k, customer.id) for k in sorted(index_keys(customer))]


@settings(max_examples=150)
@given(st.from_type(Customer), TEXT, TEXT)
def test_any_customer_encodes_as_the_reference_steps(customer: Customer, name: str, other: str) -> None:
    customer = attrs.evolve(customer, legal_name=name, names={"zh": other, "en": name} if other else {})
    row, children = repos.encode_new_customer(customer)
    assert children["customer_search_keys"] == _encoded_before(customer)
    assert row["doc"] == json.dumps(REFERENCE.unstructure(customer))


def test_every_code_point_folds_alike_inside_a_cjk_name() -> None:
    for cp in range(0, sys.maxunicode + 1, 7):
        text = "深圳" + chr(cp) + "é"
        assert fold(text) == text_rules._fold_full(text), hex(cp)
        assert unicodedata.is_normalized("NFC", fold(text))
