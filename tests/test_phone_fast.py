"""Differential tests: the phone fast path (issue 4) answers only what phonenumbers answers.

``_phone_fast`` returns an E.164 string or None; whenever it answers, phonenumbers' full parse +
validity check + format (``_phone_full``) must give that same string. None sends the number down the
full path, which then decides (and words any error), so a None is always safe; the tests also check
that the common shapes do take the fast path, or it would be dead weight.
"""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bigledger_customers.domain.validation import _phone, _phone_fast, _phone_full, normalise_phone
from bigledger_customers.errors import ValidationError
from bigledger_customers.testing import generate

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
#: Regions the fast path is asked about: every supported one, none, and codes phonenumbers refuses.
ANY_REGION = st.one_of(st.sampled_from(REGIONS), st.sampled_from([None, "ZZ", "001", "my", "", "XX"]))
COMMON = ["MY", "CN", "SG", "GB", "US"]
FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
]
TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
]


def _agrees(value: str, region: str | None) -> str | None:
    fast = _phone_fast(value, region)
    if fast is not None:
        assert _phone_full(value, region) == (fast, ""), (value, region, fast)
    return fast


def _examples() -> list[tuple[str, str]]:
    """Every example number phonenumbers has (each region and type), written in each format."""
    out = []
    for region in REGIONS:
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                out.extend((phonenumbers.format_number(number, fmt), region) for fmt in FORMATS)
    return out


EXAMPLES = _examples()


def test_every_example_number_in_every_format_agrees_and_most_take_the_fast_path() -> None:
    answered = [_agrees(value, region) for value, region in EXAMPLES]
    # National forms with parentheses or other punctuation go the full path; the rest should not.
    assert sum(a is not None for a in answered) > len(EXAMPLES) / 2


@pytest.mark.parametrize("seed", range(3))
def test_generated_phones_take_the_fast_path_and_agree(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        country = rng.choice(["MY", "CN", "SG"])
        value = generate._phone(rng, country)
        assert _agrees(value, country) is not None, value
        assert _agrees(value, None if value.startswith("+") else country) is not None


@pytest.mark.parametrize(
    ("value", "region", "e164"),
    [
        ("012-345 6789", "MY", "+60123456789"),
        ("+60 12-3456789", None, "+60123456789"),
        ("+86 138 1234 5678", "CN", "+8613812345678"),
        ("+65 81234567", "SG", "+6581234567"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "MY", "+442079460958"),
        ("201-555-0123", "US", "+12015550123"),
        ("+1 201 555 0123", None, "+12015550123"),
    ],
)
def test_common_shapes_are_answered_by_the_fast_path(value: str, region: str | None, e164: str) -> None:
    assert _agrees(value, region) == e164


def _mutate(rng: random.Random, value: str) -> str:
    """One small edit of a number: a digit changed, added or removed, a prefix or padding added."""
    chars = list(value)
    positions = [i for i, c in enumerate(chars) if c.isdigit()] or [0]
    i = rng.choice(positions)
    edit = rng.randrange(9)
    if edit == 0:
        chars[i] = rng.choice("0123456789")
    elif edit == 1:
        chars.insert(i, rng.choice("0123456789"))
    elif edit == 2:
        del chars[i]
    elif edit == 3:
        chars.insert(0, rng.choice(["0", "00", "011", "001", "+", "1", "60", "65", "86", "44", "0060"]))
    elif edit == 4:
        chars.insert(i, rng.choice([" ", "-", "  ", "--", " -"]))
    elif edit == 5:
        chars = [c for c in chars if c != "+"]
    elif edit == 6:
        chars = [" " * rng.randrange(3), *chars, " " * rng.randrange(3)]
    elif edit == 7:
        chars.insert(0, "+" + rng.choice(["", "0", "1", "7", "44", "60", "86", "800", "979", "881"]))
    else:
        chars = [*chars, *rng.choice(["0", "00", "123", "9" * 12])]
    return "".join(chars)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_example_numbers_agree(seed: int) -> None:
    rng = random.Random(seed)
    for value, region in EXAMPLES:
        mutated = value
        for _ in range(rng.randrange(1, 4)):
            mutated = _mutate(rng, mutated)
        _agrees(mutated, rng.choice([region, region, None, rng.choice(REGIONS)]))


#: Digits with single spaces or hyphens and an optional plus: the shapes the fast path reads.
PLAIN = st.from_regex(r"\A *\+?[0-9](?:[ -]?[0-9]){0,20} *\Z")


@settings(max_examples=1500)
@given(PLAIN, ANY_REGION)
@example("+60 12-3456789", None)
@example("0060123456789", "MY")  # international prefix
@example("60123456789", "MY")  # the country code without a plus
@example("6561234567", "SG")
@example("+800 1234 5678", None)  # non-geographic
@example("+39 06 1234 5678", None)  # Italian leading zero
@example("+7 912 345 6789", None)  # a calling code shared by several regions
@example("+1 242 357 1234", "US")
@example("0" * 18, "MY")
@example("+" + "6" * 20, None)
def test_plain_shapes_agree(value: str, region: str | None) -> None:
    _agrees(value, region)


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from("0123456789+- ()./x#;\u00a0\uff11"), max_size=30), ANY_REGION)
def test_any_punctuation_agrees(value: str, region: str | None) -> None:
    _agrees(value, region)


@settings(max_examples=300)
@given(st.sampled_from(EXAMPLES), st.integers(min_value=0, max_value=260))
def test_padding_past_phonenumbers_input_limit_agrees(example: tuple[str, str], pad: int) -> None:
    value, region = example
    _agrees(" " * pad + value, region)


def test_cached_answer_and_error_are_the_full_paths() -> None:
    _phone.cache_clear()
    assert _phone("012-345 6789", "MY") == ("+60123456789", "")
    with pytest.raises(ValidationError) as caught:
        normalise_phone("0123", region="MY")
    assert caught.value.message == _phone_full("0123", "MY")[1]
