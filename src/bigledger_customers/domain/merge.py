"""Merging a duplicate customer into a survivor, and the record that lets it be undone. Pure.

DESIGN.md section 3 (Duplicates): the survivor gets the duplicate's contacts, addresses,
attachments and custom values, its profile field by field as the caller chooses; the duplicate
becomes ``merged`` with ``merged_into`` pointing at the survivor. The :class:`MergeRecord` keeps
both customers exactly as they were, so that :func:`check_unmerge` can allow an unmerge while
nothing has happened to either since.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from bigledger_customers.domain.convert import structure_as
from bigledger_customers.domain.customer import _FIELD_TYPES, PROFILE_FIELDS, Customer, CustomerStatus
from bigledger_customers.errors import NotAllowed, ValidationError

__all__ = ["MergeRecord", "MergeStatus", "check_mergeable", "check_unmerge", "merge_customers"]

SURVIVOR: Final = "survivor"
DUPLICATE: Final = "duplicate"
#: Fields a merge choice may name: the profile, and one custom value as ``custom_values.<name>``.
CHOOSABLE: Final = PROFILE_FIELDS - {"custom_values", "parent_id"}
#: Mapping fields merged key by key: the survivor's entries, plus the duplicate's other keys.
_MAPPINGS: Final = frozenset({"names", "tax_numbers", "social"})


class MergeStatus(enum.StrEnum):
    """Whether a merge still stands."""

    MERGED = "merged"
    UNMERGED = "unmerged"


@attrs.frozen(kw_only=True)
class MergeRecord:
    """One merge: who, when, the caller's choices and both customers exactly as they were before.

    ``survivor_version`` and ``duplicate_version`` are the versions the merge left; an unmerge is
    allowed only while both are unchanged. ``survivor_interactions`` are the ids the survivor had
    before; ``moved_interactions`` came from the duplicate. ``extensions`` holds what other modules'
    merge hooks (accounts: balances, grants, open items) need to undo their part.
    """

    id: str
    survivor_id: str
    duplicate_id: str
    merged_at: dt.datetime
    merged_by: str
    status: MergeStatus = MergeStatus.MERGED
    choices: Mapping[str, Any] = attrs.field(factory=dict)
    survivor_before: Customer
    duplicate_before: Customer
    survivor_version: int
    duplicate_version: int
    survivor_interactions: tuple[str, ...] = ()
    moved_interactions: tuple[str, ...] = ()
    extensions: Mapping[str, Any] = attrs.field(factory=dict)
    unmerged_at: dt.datetime | None = None
    unmerged_by: str | None = None


def check_mergeable(survivor: Customer, duplicate: Customer, duplicate_children: Sequence[str]) -> None:
    """Refuse merges that cannot be undone cleanly or make no sense."""
    if survivor.id == duplicate.id:
        raise ValidationError("a customer cannot be merged into itself", code="merge_same_customer", field="duplicate")
    for role, c in (("survivor", survivor), ("duplicate", duplicate)):
        if c.status in (CustomerStatus.MERGED, CustomerStatus.VOIDED):
            raise NotAllowed(f"the {role} {c.code} is {c.status}", code=f"{role}_{c.status}", field=role, value=c.code)
    if duplicate_children:
        raise NotAllowed(
            f"{duplicate.code} has child customers; move them first",
            code="has_children",
            field="duplicate",
            value=duplicate.code,
        )


def _empty(value: Any) -> bool:
    return value is None or value == "" or (hasattr(value, "__len__") and len(value) == 0)


def _chosen(field: str, choice: Any, survivor: Any, duplicate: Any) -> Any:
    if choice == SURVIVOR:
        return survivor
    if choice == DUPLICATE:
        return duplicate
    if isinstance(choice, Mapping) and set(choice) == {"value"}:
        return choice["value"]
    raise ValidationError(
        'choose "survivor", "duplicate" or {"value": ...}', code="invalid_merge_choice", field=field, value=choice
    )


def _default(field: str, survivor: Any, duplicate: Any) -> Any:
    """Without a choice: the survivor's value, gaps filled from the duplicate."""
    if field in _MAPPINGS:
        return {**duplicate, **survivor}
    if field == "tags":
        return survivor | duplicate
    return duplicate if _empty(survivor) and not _empty(duplicate) else survivor


def merge_customers(survivor: Customer, duplicate: Customer, choices: Mapping[str, Any]) -> tuple[Customer, Customer]:
    """The survivor and the duplicate after the merge (not yet validated or versioned).

    ``choices`` maps a profile field (or ``custom_values.<name>``) to ``"survivor"``,
    ``"duplicate"`` or ``{"value": ...}``; a field not named keeps the survivor's value, gaps filled
    from the duplicate (names, tax numbers and social profiles key by key, tags united). The
    survivor's place in the hierarchy never changes. Contacts, addresses and attachments move over (the
    survivor keeps its primary contact and default addresses); the duplicate keeps its profile,
    becomes ``merged`` and loses ordering access.
    """
    unknown = [f for f in choices if f not in CHOOSABLE and not f.startswith("custom_values.")]
    if unknown:
        raise ValidationError(
            f"cannot choose {', '.join(sorted(unknown))} in a merge", code="unknown_field", field=unknown[0]
        )
    changes: dict[str, Any] = {}
    for field in sorted(CHOOSABLE):
        ours, theirs = getattr(survivor, field), getattr(duplicate, field)
        if field in choices:
            value = _chosen(field, choices[field], ours, theirs)
            changes[field] = structure_as(value, _FIELD_TYPES[field], field=field) if value is not None else None
        else:
            changes[field] = _default(field, ours, theirs)
    custom = {**duplicate.custom_values, **survivor.custom_values}
    for key, choice in choices.items():
        if key.startswith("custom_values."):
            name = key.removeprefix("custom_values.")
            value = _chosen(key, choice, survivor.custom_values.get(name), duplicate.custom_values.get(name))
            if value is None:
                custom.pop(name, None)
            else:
                custom[name] = value
    # The survivor keeps its primary contact and default addresses; the duplicate's fill in where it has none.
    has_primary = any(c.primary for c in survivor.contacts)
    moved_contacts = tuple(attrs.evolve(c, primary=c.primary and not has_primary) for c in duplicate.contacts)
    defaults = {a.kind for a in survivor.addresses if a.is_default}
    moved_addresses = tuple(
        attrs.evolve(a, is_default=a.is_default and a.kind not in defaults) for a in duplicate.addresses
    )
    merged = attrs.evolve(
        survivor,
        **changes,
        custom_values=custom,
        contacts=(*survivor.contacts, *moved_contacts),
        addresses=(*survivor.addresses, *moved_addresses),
        attachments=(*survivor.attachments, *duplicate.attachments),
    )
    gone = attrs.evolve(
        duplicate,
        status=CustomerStatus.MERGED,
        status_reason=f"merged into {survivor.code}",
        merged_into=survivor.id,
        ordering_enabled=False,
        contacts=(),
        addresses=(),
        attachments=(),
    )
    return merged, gone


def check_unmerge(
    record: MergeRecord, survivor: Customer, duplicate: Customer, survivor_interactions: Sequence[str]
) -> None:
    """Allow an unmerge only while nothing new has happened to either customer since the merge."""
    if record.status is not MergeStatus.MERGED:
        raise NotAllowed("this merge was already undone", code="already_unmerged", field="merge", value=record.id)
    if survivor.version != record.survivor_version or duplicate.version != record.duplicate_version:
        raise NotAllowed(
            f"{survivor.code} changed after the merge; an unmerge would lose that change",
            code="changed_since_merge",
            field="survivor",
            value=survivor.code,
        )
    expected = set(record.survivor_interactions) | set(record.moved_interactions)
    if set(survivor_interactions) != expected:
        raise NotAllowed(
            f"interactions were recorded on {survivor.code} after the merge",
            code="changed_since_merge",
            field="interactions",
            value=survivor.code,
        )
