"""Deterministic, realistic customers for tests, demos and benchmarks (the same seed, the same rows).

>>> rows = list(customers(2, seed=7))
>>> [r["code"] for r in rows]
['GEN-0000001', 'GEN-0000002']
>>> rows == list(customers(2, seed=7))
True

Rows have the shape :meth:`~bigledger_customers.services.customers.CustomerService.import_rows` reads:
names in Chinese, Malay and English by country (Malaysia, China, Singapore), a billing address,
one or two contacts whose phones are valid for the customer's country, tax numbers, and skewed
categories, regions, levels, sales reps, tags and statuses (a few values are common, most are
rare, as in a real customer master). :func:`reference_data` lists the reference entries the rows
name; add them before importing.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any, Final

__all__ = ["CATEGORIES", "REGIONS", "customers", "reference_data"]

CATEGORIES: Final = [
    "RETAIL", "WHOLESALE", "DISTRIBUTOR", "ONLINE", "HORECA", "INDUSTRIAL", "GOVERNMENT", "EXPORT",
    "PHARMACY", "EDUCATION", "CONSTRUCTION", "AUTOMOTIVE",
]  # fmt: skip
REGIONS: Final = {
    "MY": ["SEL", "KUL", "JHR", "PNG", "PRK", "NSN", "MLK", "KDH", "PHG", "SBH", "SWK", "TRG", "KTN", "PLS"],
    "CN": ["CN-GD", "CN-SH", "CN-BJ", "CN-ZJ", "CN-JS", "CN-SC", "CN-HB", "CN-FJ"],
    "SG": ["SG-C", "SG-E", "SG-W"],
}
LEVELS: Final = ["LV1", "LV2", "LV3", "LV4", "LV5"]
SALES_REPS: Final = [f"REP{i:03d}" for i in range(1, 301)]
STATUSES: Final = [("active", 80), ("inactive", 12), ("suspended", 5), ("voided", 3)]
TAGS: Final = ["key-account", "online", "export", "vip", "new", "seasonal", "north", "south"]

_SURNAMES_EN: Final = ["Tan", "Lim", "Lee", "Wong", "Ng", "Chan", "Smith", "Brown", "Müller", "García", "Kumar",
                       "Singh", "O'Neil", "Taylor", "Davies", "Chen", "Ong", "Goh", "Teo", "Koh"]  # fmt: skip
_GIVEN_EN: Final = ["Alice", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hui Min", "Ivan", "Jia Wei",
                    "Kavitha", "Leon", "Mei Ling", "Nurul", "Omar", "Priya", "Ravi", "Siti", "Wei Jie",
                    "Zara"]  # fmt: skip
_WORDS_EN: Final = ["Trading", "Manufacturing", "Logistics", "Foods", "Electronics", "Textiles", "Motors",
                    "Holdings", "Agro", "Pharma", "Steel", "Plastics", "Retail", "Marine", "Energy", "Hardware",
                    "Furniture", "Printing", "Engineering", "Supplies"]  # fmt: skip
_SUFFIX: Final = {"MY": ["Sdn Bhd", "Bhd", "Enterprise", "Trading"], "SG": ["Pte Ltd", "Ltd", "LLP"],
                  "CN": ["Co., Ltd.", "Ltd", "Group"]}  # fmt: skip
_WORDS_MS: Final = ["Perniagaan", "Syarikat", "Kedai", "Pembinaan", "Perkhidmatan", "Pengangkutan", "Makanan",
                    "Jentera", "Bekalan", "Perabot"]  # fmt: skip
_PLACES_MS: Final = ["Maju", "Jaya", "Sentosa", "Bestari", "Murni", "Gemilang", "Sejahtera", "Harmoni", "Indah"]
_ZH_CITIES: Final = ["深圳", "广州", "上海", "北京", "杭州", "成都", "武汉", "吉隆坡", "新加坡", "厦门", "苏州", "南京",
                     "槟城", "新山", "天津", "重庆"]  # fmt: skip
_ZH_WORDS: Final = ["科技", "贸易", "制造", "物流", "食品", "电子", "纺织", "汽车", "五金", "家具", "印刷", "工程",
                    "医药", "建材", "实业", "商行"]  # fmt: skip
_ZH_SUFFIX: Final = ["有限公司", "股份有限公司", "集团", "商行"]
_CITIES: Final = {"MY": ["Kuala Lumpur", "Petaling Jaya", "Johor Bahru", "George Town", "Ipoh", "Shah Alam"],
                  "CN": ["Shenzhen", "Guangzhou", "Shanghai", "Beijing", "Hangzhou"],
                  "SG": ["Singapore"]}  # fmt: skip
_DOMAINS: Final = ["gmail.com", "yahoo.com", "outlook.com", "example.com", "mail.my", "qq.com", "163.com", "corp.sg"]
_STREETS: Final = ["Jalan", "Lorong", "Road", "Street"]
_COUNTRIES: Final = [("MY", 60), ("CN", 25), ("SG", 15)]
_CURRENCY: Final = {"MY": "MYR", "CN": "CNY", "SG": "SGD"}


def reference_data() -> list[tuple[str, str]]:
    """(kind, code) of every reference entry the generated rows name."""
    regions = [code for codes in REGIONS.values() for code in codes]
    return [
        *(("category", c) for c in CATEGORIES),
        *(("region", r) for r in regions),
        *(("level", level) for level in LEVELS),
        *(("sales_rep", rep) for rep in SALES_REPS),
    ]


def _zipf(rng: random.Random, values: list[str], s: float = 1.1) -> str:
    """A value drawn with weights 1/rank**s: the first few are common, the tail rare."""
    weights = _ZIPF_CACHE.get((len(values), s))
    if weights is None:
        weights = list(itertools.accumulate(1 / (rank**s) for rank in range(1, len(values) + 1)))
        _ZIPF_CACHE[(len(values), s)] = weights
    return rng.choices(values, cum_weights=weights)[0]


_ZIPF_CACHE: dict[tuple[int, float], list[float]] = {}


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def _phone(rng: random.Random, country: str) -> str:
    """A mobile number valid for ``country`` (in the number plan's ranges, written nationally or in E.164)."""
    if country == "MY":
        number = f"{rng.choice(['12', '13', '16', '17', '19'])}-{rng.randrange(2, 10)}{rng.randrange(10**6):06d}"
        return f"+60 {number}" if rng.random() < 0.5 else f"0{number}"
    if country == "CN":
        prefix = rng.choice(["130", "131", "135", "136", "138", "139", "150", "151", "186", "188"])
        return f"+86 {prefix} {rng.randrange(10**4):04d} {rng.randrange(10**4):04d}"
    return f"+65 {rng.choice(['81', '83', '87', '90', '91', '93', '96', '97'])}{rng.randrange(10**6):06d}"


def _names(rng: random.Random, country: str, i: int) -> tuple[dict[str, str], str]:
    surname = rng.choice(_SURNAMES_EN)
    words = " ".join(rng.sample(_WORDS_EN, rng.choice([1, 1, 2])))
    en = f"{surname} {words} {rng.choice(_SUFFIX[country])}"
    city = rng.choice(_ZH_CITIES) + rng.choice(["", "市"])
    zh = f"{city}{rng.choice(_ZH_WORDS)}{rng.choice(_ZH_WORDS)}{rng.choice(_ZH_SUFFIX)}"
    names: dict[str, str] = {}
    if country == "CN":
        names = {"zh": zh, "en": en} if rng.random() < 0.6 else {"zh": zh}
    elif country == "MY":
        roll = rng.random()
        if roll < 0.45:
            names = {"en": en}
        elif roll < 0.75:
            ms = f"{rng.choice(_WORDS_MS)} {rng.choice(_PLACES_MS)} {surname} Sdn Bhd"
            names = {"ms": ms, "en": en}
        else:
            names = {"zh": zh, "en": en}
    else:
        names = {"en": en, "zh": zh} if rng.random() < 0.4 else {"en": en}
    return names, surname


def _tax(rng: random.Random, country: str) -> dict[str, str]:
    if country == "MY":
        return {"sst": f"W10-{rng.randrange(10**4):04d}-{rng.randrange(10**8):08d}"}
    if country == "CN":
        digits = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(16))
        return {"uscc": f"91{digits}"}
    return {"uen": f"{rng.randrange(190000000, 202500000)}{rng.choice('KDEGHZ')}"}


def customers(count: int, seed: int = 0, *, start: int = 1) -> Iterator[dict[str, Any]]:
    """``count`` customer rows numbered from ``start`` (codes ``GEN-0000001``...), the same for a seed."""
    rng = random.Random(seed)
    for i in range(start, start + count):
        country = _weighted(rng, _COUNTRIES)
        names, surname = _names(rng, country, i)
        given = rng.choice(_GIVEN_EN)
        contacts: list[dict[str, Any]] = [
            {
                "name": f"{given} {surname}",
                "title": rng.choice(["Purchasing", "Finance", "Owner", "Manager"]),
                "email": f"{given.split()[0].lower()}.{surname.lower().replace(chr(39), '')}{i}@{rng.choice(_DOMAINS)}",
                "mobile": _phone(rng, country),
            }
        ]
        if rng.random() < 0.25:
            contacts.append({"name": f"{rng.choice(_GIVEN_EN)} {surname}", "phone": _phone(rng, country)})
        row: dict[str, Any] = {
            "code": f"GEN-{i:07d}",
            "name": names,
            "customer_type": _weighted(rng, [("b2b", 55), ("b2c", 20), ("wholesale", 15), ("retail", 10)]),
            "category": _zipf(rng, CATEGORIES),
            "level": _zipf(rng, LEVELS, 0.8),
            "region": _zipf(rng, REGIONS[country]),
            "sales_rep": _zipf(rng, SALES_REPS, 0.7),
            "country": country,
            "currency": _CURRENCY[country],
            "status": _weighted(rng, STATUSES),
            "tax_numbers": _tax(rng, country),
            "contacts": contacts,
            "addresses": [
                {
                    "kind": "billing",
                    "lines": [f"{rng.randrange(1, 300)} {rng.choice(_STREETS)} {rng.choice(_PLACES_MS)}"],
                    "city": rng.choice(_CITIES[country]),
                    "postcode": f"{rng.randrange(10000, 99999)}",
                    "country": country,
                }
            ],
        }
        if rng.random() < 0.3:
            row["tags"] = sorted({_zipf(rng, TAGS) for _ in range(rng.choice([1, 1, 2]))})
        yield row
