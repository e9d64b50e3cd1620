"""Validators in the python-stdnum style: each returns the clean value or raises ValidationError.

>>> normalise_phone("012-345 6789", region="MY")
'+60123456789'
>>> normalise_code(" cus-001 ")
'cus-001'
>>> code_key("CUS-001")
'cus-001'
>>> validate_country("my")
'MY'
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Final

import babel
import email_validator
import phonenumbers

from bigledger_customers.errors import ValidationError

__all__ = [
    "code_key",
    "normalise_code",
    "normalise_email",
    "normalise_phone",
    "validate_country",
    "validate_language",
    "validate_latitude",
    "validate_longitude",
]

CODE_MIN: Final = 3
CODE_MAX: Final = 50
_CODE_RE: Final = re.compile(r"[A-Za-z0-9\-_/.]+")


def normalise_code(value: object, *, field: str = "code") -> str:
    """A customer or reference code: 3-50 letters, digits or ``-_/.``, surrounding blanks removed."""
    if not isinstance(value, str):
        raise ValidationError("code must be text", code="invalid_code", field=field, value=value)
    code = value.strip()
    if not CODE_MIN <= len(code) <= CODE_MAX:
        raise ValidationError(
            f"code must be {CODE_MIN}-{CODE_MAX} characters long, got {len(code)}",
            code="invalid_code_length",
            field=field,
            value=value,
        )
    if not _CODE_RE.fullmatch(code):
        raise ValidationError(
            "code may hold only letters A-Z, digits and - _ / .", code="invalid_code", field=field, value=value
        )
    return code


def code_key(code: str) -> str:
    """The form codes are compared in: unique case-insensitively (DESIGN.md section 3)."""
    return code.casefold()


def normalise_phone(value: object, *, region: str | None, field: str = "phone") -> str:
    """Parse a phone number (national form read in ``region``) and return it in E.164.

    >>> normalise_phone("+44 20 7946 0958", region=None)
    '+442079460958'
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("phone number must be text", code="invalid_phone", field=field, value=value)
    e164, problem = _phone(value, region)
    if e164 is None:
        raise ValidationError(problem, code="invalid_phone", field=field, value=value)
    return e164


@functools.lru_cache(maxsize=65536)
def _phone(value: str, region: str | None) -> tuple[str | None, str]:
    """(E.164, "") or (None, why): cached per distinct value, as bulk imports repeat numbers."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as error:
        return None, f"{value!r} is not a phone number: {error._msg}"
    if not phonenumbers.is_valid_number(number):
        where = f" for region {region}" if region else ""
        return None, f"{value!r} is not a valid phone number{where}"
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)), ""


def normalise_email(value: object, *, field: str = "email") -> str:
    """Check an e-mail address's syntax (no DNS look-up) and return its normal form.

    >>> normalise_email("Ali@Example.COM")
    'Ali@example.com'
    """
    if not isinstance(value, str):
        raise ValidationError("e-mail must be text", code="invalid_email", field=field, value=value)
    address = value.strip()
    local, at, domain = address.rpartition("@")
    if at and len(address) <= _EMAIL_MAX and len(local) <= _LOCAL_MAX and _PLAIN_LOCAL.fullmatch(local):
        # A plain ASCII local part is valid as it stands, so only the domain needs the full check
        # (cached per domain: an import of a million addresses has a few thousand domains).
        clean_domain, problem = _email_domain(domain)
        if clean_domain is None:
            raise ValidationError(problem, code="invalid_email", field=field, value=value)
        if len(local) + 1 + len(clean_domain) <= _EMAIL_MAX:
            return f"{local}@{clean_domain}"
    try:
        return str(email_validator.validate_email(address, check_deliverability=False).normalized)
    except email_validator.EmailNotValidError as error:
        raise ValidationError(str(error), code="invalid_email", field=field, value=value) from None


_EMAIL_MAX: Final = 254
_LOCAL_MAX: Final = 64
_ATOM: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_LOCAL: Final = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")


@functools.lru_cache(maxsize=16384)
def _email_domain(domain: str) -> tuple[str | None, str]:
    """The normal form of an e-mail domain, or (None, why), by the full validator."""
    try:
        normal = str(email_validator.validate_email(f"a@{domain}", check_deliverability=False).normalized)
    except email_validator.EmailNotValidError as error:
        return None, str(error)
    return normal.partition("@")[2], ""


@functools.cache
def _territories() -> frozenset[str]:
    # babel lists ISO 3166 alpha-2 codes and UN M.49 numeric regions ("001"); only the former are countries.
    names = babel.Locale("en").territories
    return frozenset(t for t in names if isinstance(t, str) and len(t) == 2 and t.isalpha() and t != "ZZ")


def validate_country(value: object, *, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 country code known to babel, upper case."""
    if not isinstance(value, str) or value.strip().upper() not in _territories():
        raise ValidationError(
            f"{value!r} is not an ISO 3166 alpha-2 country code", code="invalid_country", field=field, value=value
        )
    return value.strip().upper()


@functools.cache
def _language_known(tag: str) -> bool:
    try:
        babel.Locale.parse(tag.replace("-", "_"))
    except (ValueError, babel.UnknownLocaleError):
        return False
    return True


def validate_language(value: object, *, field: str = "language") -> str:
    """A language tag babel knows (``en``, ``zh``, ``ms``, ``zh_Hant``)."""
    if not isinstance(value, str) or not value.strip() or not _language_known(value.strip()):
        raise ValidationError(f"{value!r} is not a known language", code="invalid_language", field=field, value=value)
    return value.strip()


def _in_range(value: Decimal, bound: int, field: str) -> Decimal:
    if not -bound <= value <= bound:
        raise ValidationError(
            f"must be between -{bound} and {bound}", code="invalid_coordinate", field=field, value=value
        )
    return value


def validate_latitude(value: Decimal, *, field: str = "latitude") -> Decimal:
    """A latitude in degrees, -90..90."""
    return _in_range(value, 90, field)


def validate_longitude(value: Decimal, *, field: str = "longitude") -> Decimal:
    """A longitude in degrees, -180..180."""
    return _in_range(value, 180, field)
