"""The cached fast paths of phone and e-mail checks agree with the full validators."""

from __future__ import annotations

import email_validator
from hypothesis import given, settings
from hypothesis import strategies as st

from bigledger_customers.domain.validation import normalise_email, normalise_phone
from bigledger_customers.errors import ValidationError

LOCAL = st.text(alphabet="abcXYZ019.+_-!#'~\"ü@ ", min_size=0, max_size=12)
DOMAIN = st.sampled_from(
    [
        "example.com",
        "Example.COM",
        "sub.example.co.uk",
        "localhost",
        "x..com",
        "-a.com",
        "b.c",
        "münchen.de",
        "a.123",
        "",
    ]
)


def _full(address: str) -> str | None:
    try:
        return str(email_validator.validate_email(address.strip(), check_deliverability=False).normalized)
    except email_validator.EmailNotValidError:
        return None


@settings(max_examples=400)
@given(local=LOCAL, domain=DOMAIN)
def test_email_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    try:
        ours: str | None = normalise_email(address)
    except ValidationError:
        ours = None
    assert ours == _full(address)


def test_a_cached_bad_phone_is_still_refused_each_time() -> None:
    for _ in range(2):
        try:
            normalise_phone("12345", region="MY")
        except ValidationError as error:
            assert (error.code, error.field) == ("invalid_phone", "phone")
        else:
            raise AssertionError("accepted a bad phone")
    assert normalise_phone("012-345 6789", region="MY") == normalise_phone("012-345 6789", region="MY")
