"""Normalisers return the clean value or raise a typed error; properties over generated input."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bigledger_customers import ValidationError, normalise_code, normalise_phone
from bigledger_customers.domain.search import fold
from bigledger_customers.domain.validation import code_key

CODE_ALPHABET = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_/.")


@given(st.text(CODE_ALPHABET, min_size=3, max_size=50), st.sampled_from(["", " ", "\t"]))
def test_valid_codes_come_back_stripped_and_idempotent(code: str, pad: str) -> None:
    clean = normalise_code(pad + code + pad)
    assert clean == code
    assert normalise_code(clean) == clean
    assert code_key(clean) == code_key(clean.upper())


@given(st.text(min_size=0, max_size=60))
def test_anything_else_is_a_validation_error_never_a_crash(text: str) -> None:
    try:
        clean = normalise_code(text)
    except ValidationError as error:
        assert error.field == "code"
        assert error.code in {"invalid_code", "invalid_code_length"}
    else:
        assert 3 <= len(clean) <= 50


REGIONS = ["MY", "SG", "CN", "US", "GB", "ID", "TH"]


@given(region=st.sampled_from(REGIONS), data=st.data())
def test_example_numbers_normalise_to_e164_from_any_format(region: str, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]))
    number = phonenumbers.example_number_for_type(region, kind)
    assume(number is not None)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    fmt = data.draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.E164,
            ]
        )
    )
    written = phonenumbers.format_number(number, fmt)
    assert normalise_phone(written, region=region) == e164
    assert normalise_phone(e164, region=None) == e164  # idempotent


@given(st.text(max_size=30))
def test_phone_garbage_raises_validation_error(text: str) -> None:
    try:
        result = normalise_phone(text, region="MY")
    except ValidationError as error:
        assert error.code == "invalid_phone"
    else:
        assert result.startswith("+")


def test_phone_not_valid_for_its_region_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        normalise_phone("0123", region="MY")
    assert caught.value.field == "phone"


@given(st.text(max_size=40))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_fold_ignores_case_accents_and_width() -> None:
    assert fold("MÜLLER") == fold("muller")
    assert fold("ＡＢＣ１２３") == "abc123"
