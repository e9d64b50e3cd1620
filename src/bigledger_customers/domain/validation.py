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
from typing import Any, Final

import attrs
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
    fast = _phone_fast(value, region)
    if fast is not None:
        return fast, ""
    return _phone_full(value, region)


def _phone_full(value: str, region: str | None) -> tuple[str | None, str]:
    """phonenumbers' own parse, validity check and E.164 format: the reference for :func:`_phone_fast`."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as error:
        return None, f"{value!r} is not a phone number: {error._msg}"
    if not phonenumbers.is_valid_number(number):
        where = f" for region {region}" if region else ""
        return None, f"{value!r} is not a valid phone number{where}"
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)), ""


# -- phone fast path ---------------------------------------------------------------------------------
# A bulk import has as many distinct numbers as rows, so the per-value cache rarely hits, and
# phonenumbers' parse + is_valid_number costs ~40 us a number. The fast path below answers the common
# shapes (``+<cc> <digits>`` and national digits, separated by single spaces or hyphens) with
# phonenumbers' own metadata, following the steps phonenumbers takes for exactly these shapes; it only
# ever answers a valid number, and returns None (the full path decides) whenever a step could go
# another way: an IDD prefix, a national number starting with the country code, a national-prefix
# transform rule, a leading zero, a non-geographic code. tests/test_phone_fast.py holds it to
# :func:`_phone_full` over generated and adversarial input.

_SIMPLE_PHONE: Final = re.compile(r" *(\+?)([0-9](?:[ -]?[0-9])*) *")
_MAX_PHONE_INPUT: Final = 250  # phonenumbers refuses longer input (_MAX_INPUT_STRING_LENGTH)
_MAX_NSN: Final = 17  # phonenumbers' _MAX_LENGTH_FOR_NSN


@attrs.frozen
class _Plan:
    """What the fast path needs of one region's metadata, compiled once."""

    country_code: int
    idd: re.Pattern[str] | None  # international prefix (national input starting with it goes the full path)
    national_prefix: re.Pattern[str] | None  # national_prefix_for_parsing
    general: re.Pattern[str] | None
    general_lengths: frozenset[int]
    leading_digits: re.Pattern[str] | None
    #: (possible lengths or None for any, pattern) of the number types whose match makes a number valid.
    types: tuple[tuple[frozenset[int] | None, re.Pattern[str]], ...]
    usable: bool  # False: a transform rule or a missing pattern, leave it to phonenumbers


def _desc(desc: Any) -> tuple[frozenset[int] | None, re.Pattern[str]] | None:
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = frozenset(desc.possible_length) if desc.possible_length else None
    return lengths, re.compile(desc.national_number_pattern)


@functools.cache
def _plan(region: str) -> _Plan | None:
    """The compiled metadata of ``region`` (a supported region code, upper case), or None."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    if meta is None or meta.country_code is None:
        return None
    general = _desc(meta.general_desc)
    kinds: list[Any] = [
        meta.premium_rate, meta.toll_free, meta.shared_cost, meta.voip, meta.personal_number,
        meta.pager, meta.uan, meta.voicemail, meta.fixed_line,
    ]  # fmt: skip
    if not meta.same_mobile_and_fixed_line_pattern:  # as phonenumbers' _number_type_helper
        kinds.append(meta.mobile)
    types = tuple(d for d in map(_desc, kinds) if d is not None)
    return _Plan(
        country_code=meta.country_code,
        idd=re.compile(meta.international_prefix) if meta.international_prefix else None,
        national_prefix=re.compile(meta.national_prefix_for_parsing) if meta.national_prefix_for_parsing else None,
        general=general[1] if general else None,
        general_lengths=frozenset(meta.general_desc.possible_length) if meta.general_desc else frozenset(),
        leading_digits=re.compile(meta.leading_digits) if meta.leading_digits else None,
        types=types,
        usable=bool(general and meta.international_prefix and not meta.national_prefix_transform_rule),
    )


def _is_type(nsn: str, plan: _Plan) -> bool:
    """phonenumbers' ``_number_type_helper(nsn, metadata) != UNKNOWN``."""
    if plan.general is None or (plan.general_lengths and len(nsn) not in plan.general_lengths):
        return False
    if not plan.general.fullmatch(nsn):
        return False
    return any((lengths is None or len(nsn) in lengths) and pattern.fullmatch(nsn) for lengths, pattern in plan.types)


def _phone_fast(value: str, region: str | None) -> str | None:
    """The E.164 form phonenumbers gives ``value`` when it is a valid number of a plain shape, else
    None (then only the full path can tell)."""
    if len(value) > _MAX_PHONE_INPUT:
        return None
    shape = _SIMPLE_PHONE.fullmatch(value)
    if shape is None:
        return None
    plus, digits = shape.group(1), shape.group(2).replace(" ", "").replace("-", "")
    if plus:
        # phonenumbers' _extract_country_code: the first 1-3 digits that are a calling code
        if len(digits) <= 2 or digits[0] == "0":
            return None
        for size in (1, 2, 3):
            country_code = int(digits[:size])
            if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        rest = digits[size:]
        parse_region = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code][0]  # its main region
    else:
        if region is None or region not in phonenumbers.SUPPORTED_REGIONS:
            return None
        plan = _plan(region)
        if plan is None or plan.idd is None or plan.idd.match(digits) or digits.startswith(str(plan.country_code)):
            return None  # maybe dialled with an international prefix or the country code: full path
        country_code, rest, parse_region = plan.country_code, digits, region
    plan = _plan(parse_region)
    if plan is None or not plan.usable or len(rest) < 2:
        return None
    nsn = rest
    prefix = plan.national_prefix.match(rest) if plan.national_prefix is not None else None
    if prefix is not None:  # phonenumbers' _maybe_strip_national_prefix_carrier_code, no transform rule
        assert plan.general is not None
        stripped = rest[prefix.end() :]
        if not (plan.general.fullmatch(rest) and not plan.general.fullmatch(stripped)):
            if len(stripped) in plan.general_lengths:
                nsn = stripped  # _test_number_length says IS_POSSIBLE: the prefix goes
            elif not plan.general_lengths or len(stripped) > max(plan.general_lengths):
                return None  # TOO_LONG also strips; leave such numbers to the full path
    if len(nsn) > _MAX_NSN or nsn[0] == "0":
        return None  # leading zeros are kept apart by phonenumbers ("Italian" zeros)
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code]
    number_region = None
    if len(regions) == 1:
        number_region = regions[0]
    else:  # phonenumbers' _region_code_for_number_from_list
        for candidate in regions:
            candidate_plan = _plan(candidate)
            if candidate_plan is None:
                continue
            if candidate_plan.leading_digits is not None:
                if candidate_plan.leading_digits.match(nsn):
                    number_region = candidate
                    break
            elif _is_type(nsn, candidate_plan):
                number_region = candidate
                break
    if number_region is None or number_region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        return None
    valid_plan = _plan(number_region)
    if valid_plan is None or valid_plan.country_code != country_code or not _is_type(nsn, valid_plan):
        return None
    return f"+{country_code}{nsn}"


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
