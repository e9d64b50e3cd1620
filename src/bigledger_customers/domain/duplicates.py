"""Duplicate detection (DESIGN.md section 3, Duplicates). Pure: no I/O.

A customer is reduced to a :class:`MatchRecord` (normalised names, identifiers and addresses), then
pairs of records are scored by :func:`score_pair`:

- tax numbers, e-mails and phones are compared exactly on their normal forms; one shared identifier
  makes a pair a candidate on its own;
- names and addresses are compared fuzzily with rapidfuzz, after :func:`normalise_name` has removed
  case, accents, punctuation, company suffixes (Sdn Bhd, Ltd, GmbH, 有限公司...) and word order.

Comparing every pair is out of the question for a million customers, so :func:`candidate_pairs`
compares only records that share a *blocking key* (the same identifier, two name-word prefixes, a
name-word prefix and a postcode...). A block bigger than ``max_block`` is not compared all-pairs but
by sorted neighbourhood (each record with its ``window`` neighbours in name order), which bounds the
work at ``O(n * keys * window)``.

>>> a = make_record("1", names=["ABC Manufacturing Sdn. Bhd."], emails=["sales@abc.com.my"])
>>> b = make_record("2", names=["abc manufacturing"], emails=["Sales@ABC.com.my"])
>>> m = score_pair(a, b)
>>> m.score, m.matched
(Decimal('1.000'), ('email', 'name'))
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from bigledger_customers.domain.search import fold

__all__ = [
    "COMPANY_SUFFIXES",
    "BlockIndex",
    "DuplicateMatch",
    "MatchRecord",
    "MatchWeights",
    "best_matches",
    "blocking_keys",
    "candidate_pairs",
    "find_matches",
    "index_keys",
    "make_record",
    "match_record",
    "normalise_address",
    "normalise_email",
    "normalise_identifier",
    "normalise_name",
    "score_pair",
]

#: Legal-form words dropped from names before comparing ("ABC Sdn Bhd" is "ABC"). Multi-word forms
#: are matched as whole phrases first. Compared after :func:`fold`, so lower case without accents.
COMPANY_SUFFIXES: Final = (
    "sendirian berhad",
    "sdn bhd",
    "pte ltd",
    "pty ltd",
    "co ltd",
    "company limited",
    "private limited",
    "pvt ltd",
    "limited",
    "ltd",
    "berhad",
    "bhd",
    "plc",
    "llc",
    "llp",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "gmbh",
    "ag",
    "kg",
    "sarl",
    "sa",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "ab",
    "as",
    "kk",
    "tbk",
    "co",
    "company",
)
#: CJK legal forms, removed where they end a name (longest first).
_CJK_SUFFIXES: Final = (
    "股份有限公司",
    "有限责任公司",
    "有限責任公司",
    "有限公司",
    "株式会社",
    "合同会社",
    "有限会社",
    "集团",
    "集團",
    "公司",
)
_SUFFIX_RE: Final = re.compile(r"\b(?:" + "|".join(re.escape(s) for s in COMPANY_SUFFIXES) + r")\b")
#: The forms of COMPANY_SUFFIXES as words: one or two each, every two-word form listed before the
#: one-word forms (tests/test_import_fold.py holds :func:`_without_suffixes` to ``_SUFFIX_RE``).
_SUFFIX_PAIRS: Final = frozenset(tuple(s.split()) for s in COMPANY_SUFFIXES if " " in s)
_SUFFIX_WORDS: Final = frozenset(s for s in COMPANY_SUFFIXES if " " not in s)
_PUNCT_RE: Final = re.compile(r"[^\w]+", re.UNICODE)
_NOT_ASCII_ALNUM: Final = re.compile(r"[^0-9A-Za-z]+")
_CJK_RE: Final = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

_SCALE: Final = Decimal("0.001")


def _plain(text: str) -> str:
    """Folded text with punctuation turned into single spaces."""
    return " ".join(_PUNCT_RE.sub(" ", fold(text).replace("&", " and ")).split())


@functools.lru_cache(maxsize=65_536)
def normalise_name(name: str) -> str:
    """The comparable form of a name: folded, punctuation and legal-form suffixes removed, words sorted.

    >>> normalise_name("Müller & Söhne GmbH")
    'and muller sohne'
    >>> normalise_name("深圳市前海科技有限公司")
    '深圳市前海科技'
    >>> normalise_name("Smith, John") == normalise_name("john smith")
    True
    >>> normalise_name("A.B.C. Trading Pte. Ltd.")
    'abc trading'
    """
    text = fold(name).strip()
    if text.endswith(_CJK_SUFFIXES):  # one check for the usual name that ends in none of them
        for suffix in _CJK_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                break
    words = _plain(text).split()
    return " ".join(sorted(_join_initials(_without_suffixes(words) or words)))


def _without_suffixes(words: list[str]) -> list[str]:
    """``_SUFFIX_RE.sub(" ", " ".join(words)).split()`` by word look-ups (a third of the time), for
    words of ``\\w`` characters (as :func:`_plain` gives): the pattern's word boundaries fall between
    words, and at each word it tries the two-word forms (listed first) before the one-word forms."""
    out: list[str] = []
    i, count = 0, len(words)
    while i < count:
        word = words[i]
        if i + 1 < count and (word, words[i + 1]) in _SUFFIX_PAIRS:
            i += 2
            continue
        if word not in _SUFFIX_WORDS:
            out.append(word)
        i += 1
    return out


def _join_initials(words: list[str]) -> list[str]:
    """Runs of single letters are one word: "A.B.C. Trading" is "abc trading"."""
    out: list[str] = []
    run = ""
    for word in words:
        if len(word) == 1 and not _CJK_RE.match(word):
            run += word
            continue
        if run:
            out.append(run)
            run = ""
        out.append(word)
    if run:
        out.append(run)
    return out


def normalise_identifier(value: str) -> str:
    """A tax number (or any identifier) as letters and digits only, upper case.

    >>> normalise_identifier(" w10-1808 32000001 ")
    'W10180832000001'
    """
    folded = fold(value)
    if folded.isascii():  # the ASCII characters str.isalnum() accepts are exactly these (tested)
        return _NOT_ASCII_ALNUM.sub("", folded).upper()
    return "".join(ch for ch in folded if ch.isalnum()).upper()


def normalise_email(value: str) -> str:
    """An e-mail compared ignoring case (the local part is case-sensitive in theory, never in practice)."""
    return value.strip().casefold()


def normalise_address(
    lines: Iterable[str] = (), city: str = "", state: str = "", postcode: str = "", country: str = ""
) -> str:
    """One comparable string of an address (country left out: it rarely tells two records apart).

    >>> normalise_address(["1, Jalan Ampang"], "Kuala Lumpur", postcode="50450")
    '1 jalan ampang kuala lumpur 50450'
    """
    parts = [*lines, city, postcode, state]
    return _plain(" ".join(p for p in parts if p))


@attrs.frozen(kw_only=True)
class MatchRecord:
    """What duplicate detection compares of one customer, already normalised.

    ``source`` tells apart two data sets being linked (pairs are then only formed across sources).
    """

    id: str
    code: str = ""
    names: tuple[str, ...] = ()
    tax_numbers: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    addresses: tuple[str, ...] = ()
    postcodes: frozenset[str] = frozenset()
    source: int = 0

    @property
    def sort_key(self) -> str:
        """The order of records inside an oversized block (sorted neighbourhood)."""
        return self.names[0] if self.names else ""


def make_record(
    id: str,
    *,
    code: str = "",
    names: Iterable[str] = (),
    tax_numbers: Iterable[str] = (),
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    addresses: Iterable[str | Mapping[str, Any]] = (),
    source: int = 0,
) -> MatchRecord:
    """Normalise raw values into a :class:`MatchRecord`.

    ``addresses`` are strings or mappings with ``lines``, ``city``, ``state``, ``postcode`` and
    ``country`` (the shape of :class:`~bigledger_customers.Address`).
    """
    address_texts: list[str] = []
    postcodes: set[str] = set()
    for a in addresses:
        if isinstance(a, str):
            address_texts.append(_plain(a))
            continue
        address_texts.append(
            normalise_address(a.get("lines", ()), a.get("city", ""), a.get("state", ""), a.get("postcode", ""))
        )
        if a.get("postcode"):
            postcodes.add(normalise_identifier(a["postcode"]))
    return MatchRecord(
        id=id,
        code=code,
        names=tuple(dict.fromkeys(n for n in (normalise_name(x) for x in names if x) if n)),
        tax_numbers=frozenset(t for t in (normalise_identifier(x) for x in tax_numbers if x) if t),
        emails=frozenset(normalise_email(x) for x in emails if x),
        phones=frozenset(x.strip() for x in phones if x and x.strip()),
        addresses=tuple(dict.fromkeys(a for a in address_texts if a)),
        postcodes=frozenset(postcodes),
        source=source,
    )


def match_record(customer: Any, *, source: int = 0) -> MatchRecord:
    """The :class:`MatchRecord` of a :class:`~bigledger_customers.Customer`."""
    return make_record(
        getattr(customer, "id", ""),
        code=getattr(customer, "code", ""),
        names=[customer.legal_name, *customer.names.values()],
        tax_numbers=customer.tax_numbers.values(),
        emails=[c.email for c in customer.contacts if c.email],
        phones=[p for c in customer.contacts for p in (c.phone, c.mobile) if p],
        addresses=[
            {"lines": a.lines, "city": a.city, "state": a.state, "postcode": a.postcode, "country": a.country}
            for a in getattr(customer, "addresses", ())
        ],
        source=source,
    )


@attrs.frozen(kw_only=True)
class MatchWeights:
    """How much each fuzzy field counts toward a pair's score, and where the score's midpoint lies.

    Each field's similarity (rapidfuzz, 0..1) is first taken *above chance*: two unrelated names
    already score about ``chance``, so ``(s - chance) / (1 - chance)``, at least 0. The weighted mean
    of those over the fields both records have is then mapped through a logistic curve centred on
    ``midpoint``, so that a score of 0.5 is the decision point and 0.9 or more is near-certain. A
    tax number, e-mail or phone shared exactly lifts the score to at least ``identifier_floor``.
    The defaults were tuned on the FEBRL data sets (docs/data-quality.md).
    """

    name: float = 0.35
    address: float = 0.35
    tax_number: float = 0.30
    chance: float = 0.5
    midpoint: float = 0.265
    steepness: float = 12.0
    #: Two tax numbers that differ by more than a typo or two (similarity below ``tax_conflict_below``)
    #: say "two different businesses": the weighted mean is multiplied by ``tax_conflict``.
    tax_conflict_below: float = 0.6
    tax_conflict: float = 0.7
    #: Score of a pair sharing a tax number, e-mail or phone exactly, whatever else differs.
    identifier_floor: float = 0.90
    #: A fuzzy field similarity at or above this is reported among the pair's matched fields.
    field_match: float = 0.85


DEFAULT_WEIGHTS: Final = MatchWeights()


@attrs.frozen(kw_only=True)
class DuplicateMatch:
    """One candidate pair: ids and codes, a score in 0..1 and the similarity of every field compared.

    ``matched`` lists the fields that agreed (exact identifiers, or fuzzy ones at or above the
    field threshold), sorted.
    """

    left_id: str
    right_id: str
    left_code: str = ""
    right_code: str = ""
    score: Decimal
    fields: Mapping[str, Decimal] = attrs.field(factory=dict)
    matched: tuple[str, ...] = ()


def _best(left: Sequence[str], right: Sequence[str], scorer: Callable[[str, str], float]) -> float:
    if len(left) == 1 and len(right) == 1:  # the common case, without a generator
        return scorer(left[0], right[0]) / 100.0
    return max((scorer(a, b) for a in left for b in right), default=0.0) / 100.0


def _name_similarity(a: str, b: str) -> float:
    # token_sort ignores word order; partial agreement on a missing word (a dropped first name) is
    # given half credit through token_set, which alone would call "abc" and "abc trading" equal.
    # Names are stored with their words sorted, so a plain ratio is the token-sort ratio.
    return 0.5 * fuzz.ratio(a, b) + 0.5 * fuzz.token_set_ratio(a, b)


def _identifier_similarity(left: frozenset[str], right: frozenset[str]) -> float:
    if left & right:
        return 1.0
    # One mistyped character in an otherwise equal number still says something.
    return max((Levenshtein.normalized_similarity(a, b) for a in left for b in right), default=0.0)


def _d(value: float) -> Decimal:
    return Decimal(repr(min(max(value, 0.0), 1.0))).quantize(_SCALE)


def _score(left: MatchRecord, right: MatchRecord, weights: MatchWeights) -> tuple[float, dict[str, float]]:
    """The pair's score and the raw similarity of each field compared (floats, for speed)."""
    fields: dict[str, float] = {}
    if left.emails and right.emails:
        fields["email"] = 1.0 if left.emails & right.emails else 0.0
    if left.phones and right.phones:
        fields["phone"] = 1.0 if left.phones & right.phones else 0.0
    fuzzy: list[tuple[float, float]] = []
    if left.tax_numbers and right.tax_numbers:
        fields["tax_number"] = _identifier_similarity(left.tax_numbers, right.tax_numbers)
        fuzzy.append((weights.tax_number, fields["tax_number"]))
    if left.names and right.names:
        fields["name"] = _best(left.names, right.names, _name_similarity)
        fuzzy.append((weights.name, fields["name"]))
    if left.addresses and right.addresses:
        fields["address"] = _best(left.addresses, right.addresses, fuzz.token_sort_ratio)
        fuzzy.append((weights.address, fields["address"]))
    score = 0.0
    if fuzzy:
        above = sum(w * max(s - weights.chance, 0.0) / (1 - weights.chance) for w, s in fuzzy)
        mean = above / sum(w for w, _ in fuzzy)
        if fields.get("tax_number", 1.0) < weights.tax_conflict_below:
            mean *= weights.tax_conflict
        score = 1 / (1 + math.exp(-weights.steepness * (mean - weights.midpoint)))
    if fields.get("email") == 1.0 or fields.get("phone") == 1.0 or fields.get("tax_number") == 1.0:
        score = max(score, weights.identifier_floor)
    return score, fields


def score_pair(left: MatchRecord, right: MatchRecord, weights: MatchWeights = DEFAULT_WEIGHTS) -> DuplicateMatch:
    """Score one pair (see :class:`MatchWeights`); ``fields`` holds the raw similarity of each field."""
    score, fields = _score(left, right, weights)
    return _match(left, right, score, fields, weights)


def _match(
    left: MatchRecord, right: MatchRecord, score: float, fields: dict[str, float], weights: MatchWeights
) -> DuplicateMatch:
    matched = sorted(
        f for f, s in fields.items() if s == 1.0 or (f in ("name", "address") and s >= weights.field_match)
    )
    return DuplicateMatch(
        left_id=left.id,
        right_id=right.id,
        left_code=left.code,
        right_code=right.code,
        score=_d(score),
        fields={f: _d(s) for f, s in sorted(fields.items())},
        matched=tuple(matched),
    )


def _prefixes(words: Iterable[str], length: int = 3) -> list[str]:
    return sorted({w[:length] for w in words if len(w) >= 2 or _CJK_RE.match(w)})


def _name_words(name: str) -> list[str]:
    words: list[str] = []
    for word in name.split():
        if _CJK_RE.search(word):
            # CJK names have no spaces: index character bigrams instead of words.
            words.extend(word[i : i + 2] for i in range(max(len(word) - 1, 1)))
        else:
            words.append(word)
    return words


#: Street-type words that say nothing about which street (skipped when a street name is keyed).
_STREET_WORDS: Final = frozenset(
    {
        "street",
        "st",
        "road",
        "rd",
        "avenue",
        "ave",
        "place",
        "pl",
        "crescent",
        "circuit",
        "drive",
        "dr",
        "close",
        "court",
        "lane",
        "way",
        "parade",
        "terrace",
        "boulevard",
        "highway",
        "jalan",
        "jln",
        "lorong",
        "lrg",
        "persiaran",
        "taman",
        "lebuh",
        "lebuhraya",
        "strasse",
        "str",
    }
)


def blocking_keys(record: MatchRecord) -> set[str]:
    """The keys a record is filed under; two records are compared only when they share one.

    Exact identifiers; every two name-word prefixes; a name-word prefix with a postcode or with the
    first three characters of a tax number (a typo later in the number still blocks); the street
    name with the house number; the postcode with the house number.
    """
    keys = {f"t:{x}" for x in record.tax_numbers}
    keys |= {f"e:{x}" for x in record.emails}
    keys |= {f"p:{x}" for x in record.phones}
    name_prefixes: set[str] = set()
    for name in record.names:
        prefixes = _prefixes(_name_words(name))
        name_prefixes.update(prefixes)
        keys.update(f"n:{a}|{b}" for a, b in itertools.combinations(prefixes, 2))
        if len(prefixes) == 1:
            keys.add(f"n:{prefixes[0]}")
    for prefix in name_prefixes:
        keys.update(f"np:{prefix}|{p}" for p in record.postcodes)
        keys.update(f"tn:{tax[:3]}|{prefix}" for tax in record.tax_numbers)
    for address in record.addresses:
        words = address.split()
        number = next((w for w in words if w.isdigit()), None)
        if number is None:
            continue
        street = next((w for w in words if not w.isdigit() and len(w) >= 3 and w not in _STREET_WORDS), None)
        if street is not None:
            keys.add(f"a:{street[:4]}|{number}")
        keys.update(f"ap:{p}|{number}" for p in record.postcodes)
    return keys


def index_keys(customer: Any) -> frozenset[str]:
    """The few keys a customer is stored under for the create-time check (a subset of blocking).

    Every tax number, e-mail and phone, and per name the 4-character prefixes of its two longest
    distinctive words (legal-form words left out). Kept small on purpose: every customer write
    stores them, and the thorough search is the batch report's job.

    >>> from types import SimpleNamespace as C
    >>> sorted(index_keys(C(legal_name="ABC Manufacturing Sdn Bhd", names={}, tax_numbers={}, contacts=())))
    ['n:abc|manu']
    """
    # The fields of match_record(customer) that are keyed, normalised alike, without building the
    # whole record (addresses are not keyed): tests/test_fold_fast.py holds it to the record's keys.
    keys = {f"t:{t}" for t in (normalise_identifier(x) for x in customer.tax_numbers.values() if x) if t}
    for contact in customer.contacts:
        if contact.email:
            keys.add(f"e:{normalise_email(contact.email)}")
        for phone in (contact.phone, contact.mobile):
            if phone and (stripped := phone.strip()):
                keys.add(f"p:{stripped}")
    for raw in (customer.legal_name, *customer.names.values()):
        if raw and (name := normalise_name(raw)):
            words = sorted(name.split(), key=lambda w: (-len(w), w))[:2]
            keys.add("n:" + "|".join(sorted(w[:4] for w in words)))
    return frozenset(k[:200] for k in keys)


class BlockIndex:
    """The blocks of a set of records, built once; :meth:`pairs` then yields the pairs to score.

    Records that share a blocking key are paired; a key shared by more than ``max_block`` records
    pairs each only with its ``window`` nearest neighbours in :attr:`MatchRecord.sort_key` order.
    A record is paired with at most ``max_candidates`` later records (those sharing an identifier,
    then those sharing the most keys), so the work stays linear in the number of records.
    Records of the same ``source`` are not paired when the records come from more than one source.
    Building is separate from pairing so that parts of the records (``lefts``) can be paired and
    scored apart, e.g. one part per processor, from one index.
    """

    def __init__(
        self, records: Sequence[MatchRecord], *, max_block: int = 50, window: int = 10, max_candidates: int = 40
    ) -> None:
        self.records = records
        self.window = window
        self.max_candidates = max_candidates
        blocks: dict[str, list[int]] = defaultdict(list)
        keys_of: list[list[str]] = []
        for i, record in enumerate(records):
            keys = sorted(blocking_keys(record))
            keys_of.append(keys)
            for key in keys:
                blocks[key].append(i)
        # Only keys shared by two or more records pair anything.
        self.keys_of = [[k for k in keys if len(blocks[k]) > 1] for keys in keys_of]
        self.blocks = {k: v for k, v in blocks.items() if len(v) > 1}
        self.position: dict[str, dict[int, int]] = {}
        for key, members in self.blocks.items():
            if len(members) > max_block:
                members.sort(key=lambda i: (records[i].sort_key, i))
                self.position[key] = {m: p for p, m in enumerate(members)}
        self.linking = len({r.source for r in records}) > 1

    def pairs(self, lefts: Iterable[int] | None = None) -> Iterator[tuple[int, int]]:
        """Index pairs ``(i, j)`` with ``i < j`` worth scoring, each once, grouped by ``i`` (of ``lefts``)."""
        records, blocks, position, window = self.records, self.blocks, self.position, self.window
        linking = self.linking
        for i in range(len(records)) if lefts is None else lefts:
            shared: Counter[int] = Counter()
            exact: set[int] = set()
            source = records[i].source
            for key in self.keys_of[i]:
                members = blocks[key]
                if key in position:
                    p = position[key][i]
                    later = [j for j in members[max(p - window, 0) : p + window + 1] if j > i]
                else:
                    later = members[bisect.bisect_right(members, i) :]  # ascending: records in order
                if linking:
                    later = [j for j in later if records[j].source != source]
                if not later:
                    continue
                shared.update(later)
                if key[1] == ":" and key[0] in "tep":
                    exact.update(later)
            if len(shared) > self.max_candidates:
                # Keep those sharing an identifier and the ones sharing the most keys.
                best = heapq.nlargest(self.max_candidates, shared, key=lambda j: (shared[j], -j))
                kept = exact.union(best)
            else:
                kept = set(shared)
            for j in sorted(kept):
                yield i, j


def candidate_pairs(
    records: Sequence[MatchRecord], *, max_block: int = 50, window: int = 10, max_candidates: int = 40
) -> Iterator[tuple[int, int]]:
    """Index pairs ``(i, j)`` with ``i < j`` worth scoring, each once, grouped by ``i`` (see :class:`BlockIndex`)."""
    return BlockIndex(records, max_block=max_block, window=window, max_candidates=max_candidates).pairs()


def find_matches(
    records: Sequence[MatchRecord],
    *,
    threshold: Decimal | float = Decimal("0.5"),
    weights: MatchWeights = DEFAULT_WEIGHTS,
    max_block: int = 50,
    window: int = 10,
    on_progress: Callable[[int, int], None] | None = None,
    index: BlockIndex | None = None,
    lefts: Iterable[int] | None = None,
) -> Iterator[DuplicateMatch]:
    """Every candidate pair scoring at least ``threshold``, streamed in order of the left record.

    ``on_progress(done, total)`` is called as left records are finished. ``index`` reuses blocks
    built before (of these ``records``); ``lefts`` limits the pairs to those left records.
    """
    limit = Decimal(str(threshold))
    floor = float(limit) - 0.001  # scores are compared as quantized Decimals; skip building the rest
    needed = _mean_needed(floor, weights)
    last = -1
    total = len(records)
    if index is None:
        index = BlockIndex(records, max_block=max_block, window=window)
    for i, j in index.pairs(lefts):
        if on_progress is not None and i != last:
            on_progress(i, total)
            last = i
        scored = _score_at_least(records[i], records[j], weights, needed)
        if scored is not None and scored[0] >= floor:
            match = _match(records[i], records[j], scored[0], scored[1], weights)
            if match.score >= limit:
                yield match
    if on_progress is not None:
        on_progress(total, total)


def _mean_needed(floor: float, weights: MatchWeights) -> float:
    """The weighted mean (above chance) below which the fuzzy score stays under ``floor``."""
    if floor <= 0.0:
        return -math.inf
    if floor >= 1.0:
        return math.inf
    return weights.midpoint + math.log(floor / (1 - floor)) / weights.steepness - 1e-9


def _score_at_least(
    left: MatchRecord, right: MatchRecord, weights: MatchWeights, needed: float
) -> tuple[float, dict[str, float]] | None:
    """:func:`_score`, or None as soon as the pair cannot reach ``needed`` (cheapest fields first).

    A shared identifier lifts the score to its floor whatever the rest, so such pairs are always
    scored in full; otherwise the fuzzy fields still to compare are counted as perfect, and the
    pair is dropped when even that falls short.
    """
    if (
        needed == -math.inf
        or not left.emails.isdisjoint(right.emails)
        or not left.phones.isdisjoint(right.phones)
        or not left.tax_numbers.isdisjoint(right.tax_numbers)
    ):
        return _score(left, right, weights)
    has_tax = bool(left.tax_numbers) and bool(right.tax_numbers)
    has_address = bool(left.addresses) and bool(right.addresses)
    if not (has_tax or has_address):
        return _score(left, right, weights)
    chance = weights.chance
    total = weights.name if left.names and right.names else 0.0
    remaining = total = total + (weights.tax_number if has_tax else 0.0) + (weights.address if has_address else 0.0)
    gained = 0.0
    factor = 1.0
    if has_tax:
        if len(left.tax_numbers) == 1 and len(right.tax_numbers) == 1:
            tax = Levenshtein.normalized_similarity(next(iter(left.tax_numbers)), next(iter(right.tax_numbers)))
        else:
            tax = _identifier_similarity(left.tax_numbers, right.tax_numbers)
        remaining -= weights.tax_number
        gained += weights.tax_number * max(tax - chance, 0.0) / (1 - chance)
        if tax < weights.tax_conflict_below:
            factor = weights.tax_conflict
        if (gained + remaining) / total * factor < needed:
            return None
    if has_address:
        address = _best(left.addresses, right.addresses, fuzz.token_sort_ratio)
        remaining -= weights.address
        gained += weights.address * max(address - chance, 0.0) / (1 - chance)
        if (gained + remaining) / total * factor < needed:
            return None
    return _score(left, right, weights)


def best_matches(
    record: MatchRecord,
    others: Iterable[MatchRecord],
    *,
    threshold: Decimal | float = Decimal("0.5"),
    weights: MatchWeights = DEFAULT_WEIGHTS,
    limit: int = 10,
) -> list[DuplicateMatch]:
    """The ``limit`` best-scoring matches of ``record`` among ``others`` at or above ``threshold``."""
    floor = Decimal(str(threshold))
    scored = (score_pair(record, o, weights) for o in others if o.id != record.id)
    kept = (m for m in scored if m.score >= floor)
    return heapq.nlargest(limit, kept, key=lambda m: (m.score, m.right_id))
