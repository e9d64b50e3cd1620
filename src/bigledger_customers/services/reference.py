"""Reference data, custom-field definitions and numbering schemes (``book.reference``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bigledger_customers.domain.access import Permission
from bigledger_customers.domain.convert import structure_as, unstructure
from bigledger_customers.domain.records import Actor
from bigledger_customers.domain.reference import (
    MAX_CUSTOM_FIELDS,
    CustomFieldDefinition,
    NumberingScheme,
    ReferenceEntry,
    ReferenceKind,
)
from bigledger_customers.errors import Conflict, NotFound, ValidationError
from bigledger_customers.services._base import Services

__all__ = ["ReferenceService"]


class ReferenceService:
    """Set up reference data first; customers are validated against it (DESIGN.md section 3).

    >>> from bigledger_customers import connect, Actor
    >>> book = connect("memory://")
    >>> book.reference.add("category", "WHOLESALE", name="Wholesale", actor=Actor(id="u1", roles={"sales_admin"})).name
    'Wholesale'
    """

    def __init__(self, services: Services) -> None:
        self._s = services

    def add(
        self,
        kind: str,
        code: str,
        *,
        name: str = "",
        attributes: Mapping[str, str] | None = None,
        actor: Actor | None = None,
    ) -> ReferenceEntry:
        """Add an entry; a code already used for ``kind`` (ignoring case) raises Conflict."""
        actor = self._s.authorize(actor, Permission.REFERENCE_MANAGE)
        entry = ReferenceEntry.new(kind, code, name=name, attributes=attributes)
        with self._s.uow() as uow:
            if uow.reference.get(entry.kind, entry.code) is not None:
                raise Conflict(
                    f"{entry.kind} {entry.code!r} already exists", code="duplicate_code", field="code", value=code
                )
            entry = ReferenceEntry(
                kind=entry.kind, code=entry.code, name=entry.name, attributes=entry.attributes, version=1
            )
            uow.reference.add(entry)
            self._s.record(
                uow,
                actor=actor,
                action="reference.add",
                entity_type=f"reference.{entry.kind}",
                entity_id=entry.code,
                changes={k: [None, val] for k, val in unstructure(entry).items()},
                event="reference.added",
                payload={"kind": entry.kind.value, "code": entry.code},
            )
            uow.commit()
        return entry

    def get(self, kind: str, code: str) -> ReferenceEntry:
        """The entry (matched ignoring case); NotFound when absent."""
        kind_ = structure_as(kind, ReferenceKind, field="kind")
        with self._s.uow(write=False) as uow:
            entry = uow.reference.get(kind_, code)
        if entry is None:
            raise NotFound(f"no {kind_} {code!r}", code=f"unknown_{kind_}", field=str(kind_), value=code)
        return entry

    def list(self, kind: str) -> Sequence[ReferenceEntry]:
        """Every entry of ``kind``, ordered by code."""
        kind_ = structure_as(kind, ReferenceKind, field="kind")
        with self._s.uow(write=False) as uow:
            return list(uow.reference.list(kind_))

    def define_field(
        self,
        name: str,
        type: str,
        *,
        label: str = "",
        required: bool = False,
        choices: Sequence[str] = (),
        actor: Actor | None = None,
    ) -> CustomFieldDefinition:
        """Define (or redefine) a custom customer field; at most 30 exist (DESIGN.md section 3)."""
        actor = self._s.authorize(actor, Permission.REFERENCE_MANAGE)
        definition = CustomFieldDefinition.new(name, type, label=label, required=required, choices=tuple(choices))
        with self._s.uow() as uow:
            existing = uow.reference.field_definitions()
            if name not in existing and len(existing) >= MAX_CUSTOM_FIELDS:
                raise ValidationError(
                    f"at most {MAX_CUSTOM_FIELDS} custom fields",
                    code="too_many_custom_fields",
                    field="name",
                    value=name,
                )
            uow.reference.save_field_definition(definition)
            before = existing.get(name)
            self._s.record(
                uow,
                actor=actor,
                action="reference.define_field",
                entity_type="custom_field",
                entity_id=name,
                changes={"definition": [unstructure(before) if before else None, unstructure(definition)]},
            )
            uow.commit()
        return definition

    def fields(self) -> Mapping[str, CustomFieldDefinition]:
        """Custom-field definitions by name."""
        with self._s.uow(write=False) as uow:
            return dict(uow.reference.field_definitions())

    def set_numbering(self, *, prefix: str, width: int = 6, actor: Actor | None = None) -> NumberingScheme:
        """Change how generated customer codes look; the sequence continues where it was."""
        actor = self._s.authorize(actor, Permission.REFERENCE_MANAGE)
        scheme = NumberingScheme(prefix=prefix, width=width)
        scheme.format(1)  # the prefix must make valid codes
        with self._s.uow() as uow:
            before = uow.reference.numbering(scheme.name)
            uow.reference.save_numbering(scheme)
            self._s.record(
                uow,
                actor=actor,
                action="reference.set_numbering",
                entity_type="numbering",
                entity_id=scheme.name,
                changes={"scheme": [unstructure(before) if before else None, unstructure(scheme)]},
            )
            uow.commit()
        return scheme
