"""Who the command line acts as: ``--actor``, roles, sales-rep and branch identity (issue 8).

Each part comes from, first to last: the command-line option, its environment variable, the
actor's table in the TOML config file (``--config`` / ``BIGLEDGER_CUSTOMERS_CONFIG``), the default.

.. code-block:: toml

    actor = "ana"                 # the actor when neither --actor nor its variable names one

    [actors.ana]
    roles = ["sales_admin"]

    [actors.raj]
    roles = ["sales_rep"]
    sales_rep = "REP-1"
    branch = "KUL"

With a config file, an actor it does not list gets no roles unless ``--roles`` (or its variable)
names them. Without one, the default roles are ``sales_admin`` (an operator at a terminal
administers the customer master).

>>> config = parse_config('''
... [actors.raj]
... roles = ["sales_rep"]
... sales_rep = "REP-1"
... ''', "inline.toml")
>>> resolve_actor(actor="raj", roles=None, sales_rep=None, branch=None, config=config)
Actor(id='raj', roles=frozenset({'sales_rep'}), branch=None, sales_rep='REP-1')
>>> resolve_actor(actor="raj", roles="auditor", sales_rep=None, branch="PEN", config=config).roles
frozenset({'auditor'})
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from bigledger_customers.domain.records import Actor
from bigledger_customers.errors import ValidationError

__all__ = [
    "BRANCH_ENV",
    "CLI_ROLES",
    "CONFIG_ENV",
    "SALES_REP_ENV",
    "ActorConfig",
    "CliConfig",
    "load_config",
    "parse_config",
    "resolve_actor",
]

CONFIG_ENV: Final = "BIGLEDGER_CUSTOMERS_CONFIG"
SALES_REP_ENV: Final = "BIGLEDGER_CUSTOMERS_SALES_REP"
BRANCH_ENV: Final = "BIGLEDGER_CUSTOMERS_BRANCH"
#: Roles of the CLI's actor when nothing names any: an operator at a terminal administers the customer master.
CLI_ROLES: Final = ("sales_admin",)


@attrs.frozen
class ActorConfig:
    """One ``[actors.<id>]`` table: the actor's roles and identities."""

    roles: frozenset[str] = frozenset()
    sales_rep: str | None = None
    branch: str | None = None


@attrs.frozen
class CliConfig:
    """What a config file says: the default actor and each listed actor's roles and identities."""

    actor: str | None = None
    actors: Mapping[str, ActorConfig] = attrs.field(factory=dict)


def _invalid(source: str, message: str, value: object = None) -> ValidationError:
    return ValidationError(f"{source}: {message}", code="invalid_config", field="config", value=value)


def _text(value: object, source: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _invalid(source, f"{where} must be non-empty text", value)
    return value.strip()


def _actor_config(name: str, table: object, source: str) -> ActorConfig:
    if not isinstance(table, Mapping):
        raise _invalid(source, f"actors.{name} must be a table", table)
    unknown = sorted(set(table) - {"roles", "sales_rep", "branch"})
    if unknown:
        raise _invalid(source, f"actors.{name} has unknown keys: {', '.join(unknown)}", unknown)
    roles: Any = table.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) and r.strip() for r in roles):
        raise _invalid(source, f"actors.{name}.roles must be a list of role names", roles)
    return ActorConfig(
        roles=frozenset(r.strip() for r in roles),
        sales_rep=_text(table.get("sales_rep"), source, f"actors.{name}.sales_rep"),
        branch=_text(table.get("branch"), source, f"actors.{name}.branch"),
    )


def parse_config(text: str, source: str) -> CliConfig:
    """Read config-file text (TOML); ``source`` names it in errors (ValidationError ``invalid_config``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _invalid(source, f"not valid TOML ({error})") from None
    unknown = sorted(set(data) - {"actor", "actors"})
    if unknown:
        raise _invalid(source, f"unknown keys: {', '.join(unknown)}", unknown)
    actors = data.get("actors", {})
    if not isinstance(actors, Mapping):
        raise _invalid(source, "actors must be a table of [actors.<id>] tables", actors)
    return CliConfig(
        actor=_text(data.get("actor"), source, "actor"),
        actors={str(name).strip(): _actor_config(str(name), table, source) for name, table in actors.items()},
    )


def load_config(path: str | Path | None) -> CliConfig | None:
    """The config file at ``path`` (None: no config file). A missing or unreadable file is an error."""
    if path is None or not str(path).strip():
        return None
    file = Path(path).expanduser()
    try:
        text = file.read_text("utf-8")
    except OSError as error:
        raise _invalid(str(file), f"cannot read it ({error.strerror or error})", str(file)) from None
    return parse_config(text, str(file))


def _roles(value: str) -> frozenset[str]:
    return frozenset(r.strip() for r in value.split(",") if r.strip())


def resolve_actor(
    *,
    actor: str | None,
    roles: str | None,
    sales_rep: str | None,
    branch: str | None,
    config: CliConfig | None,
    default_actor: str = "cli",
) -> Actor:
    """The CLI's actor: each part from its option or variable (given here), else the config file's
    table for the actor, else the default (``CLI_ROLES`` only when there is no config file).
    """
    name = (actor if actor is not None else (config.actor if config and config.actor else default_actor)).strip()
    if not name:
        raise ValidationError("the actor must not be empty", code="invalid_actor", field="actor", value=actor)
    listed = config.actors.get(name) if config is not None else None
    if roles is not None:
        chosen_roles = _roles(roles)
    elif listed is not None:
        chosen_roles = listed.roles
    else:
        chosen_roles = frozenset() if config is not None else frozenset(CLI_ROLES)
    rep = sales_rep.strip() if sales_rep is not None else (listed.sales_rep if listed else None)
    home = branch.strip() if branch is not None else (listed.branch if listed else None)
    return Actor(id=name, roles=chosen_roles, sales_rep=rep or None, branch=home or None)
