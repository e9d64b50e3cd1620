"""The ``bigledger-customers`` command: a thin layer over the services of one book.

Every command opens the book named by ``--db`` (a file path means an embedded SQLite file, anything
with ``://`` is a URL), runs one service call as ``--actor`` and prints the result with rich, or as
JSON with ``--json``. A library error prints one line, ``error: <code>: <message> (field: <field>)``,
on stderr and exits with status 1; never a traceback.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import sqlalchemy.exc
import typer
from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from bigledger_customers import (
    Actor,
    AddressKind,
    Book,
    CustomerStatus,
    CustomerType,
    Money,
    PartnerRole,
    Priority,
    ReferenceKind,
    SortKey,
    acting_as,
    connect,
)
from bigledger_customers._cli_identity import (
    BRANCH_ENV,
    CONFIG_ENV,
    SALES_REP_ENV,
    load_config,
    resolve_actor,
)
from bigledger_customers.domain.convert import unstructure
from bigledger_customers.domain.customer import Address, Contact, Customer
from bigledger_customers.domain.reference import ReferenceEntry
from bigledger_customers.domain.search import Page
from bigledger_customers.errors import BigLedgerError, ValidationError

__all__ = ["app", "main"]

DB_ENV = "BIGLEDGER_CUSTOMERS_DB"
ACTOR_ENV = "BIGLEDGER_CUSTOMERS_ACTOR"
ROLES_ENV = "BIGLEDGER_CUSTOMERS_ROLES"


# ``LANG=text`` in --name: a BCP 47-ish language tag, so a name that merely contains "=" stays whole.
def _one_of(values: Iterable[str]) -> str:
    return "One of: " + ", ".join(values) + "."


_STATUSES = _one_of(CustomerStatus)
_SETTABLE_STATUSES = _one_of(s for s in CustomerStatus if s is not CustomerStatus.MERGED)
_REFERENCE_KINDS = _one_of(ReferenceKind)
_LANGUAGE_PREFIX = re.compile(r"^(?P<lang>[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)=(?P<text>.+)$", re.DOTALL)


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def database_url(db: str) -> str:
    """``--db`` as a URL: a value with ``://`` is used as is, anything else is a SQLite file path.

    >>> database_url("customers.db")
    'sqlite:///customers.db'
    >>> database_url("/var/lib/book.db")
    'sqlite:////var/lib/book.db'
    >>> database_url("postgresql+psycopg://postgres@127.0.0.1/customers")
    'postgresql+psycopg://postgres@127.0.0.1/customers'
    """
    return db if "://" in db else f"sqlite:///{db}"


def _safe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _fail(code: str, message: str, field: str | None = None) -> NoReturn:
    where = f" (field: {field})" if field else ""
    one_line = " ".join(message.split())
    # typer.echo, not rich: a message is data, and must not be wrapped or read as markup.
    typer.echo(f"error: {code}: {one_line}{where}", err=True)
    raise typer.Exit(1)


class _Group(TyperGroup):
    """The root command group: turns library and database errors into one line and exit status 1."""

    def invoke(self, ctx: Any) -> Any:  # Any: newer typer vendors its own click
        try:
            return super().invoke(ctx)
        except BigLedgerError as error:
            _fail(error.code, error.message, error.field)
        except sqlalchemy.exc.SQLAlchemyError as error:
            lines = str(getattr(error, "orig", None) or error).strip().splitlines()
            message = lines[0] if lines else type(error).__name__
            if "no such table" in message or "does not exist" in message:
                message += "; run `bigledger-customers init` first?"
            where = f" (database {_safe_url(ctx.obj.url)})" if isinstance(ctx.obj, _State) else ""
            _fail("database_error", message + where)


class _State:
    """What the global options decided; the book is opened on first use and closed on exit."""

    def __init__(self, url: str, actor: Actor, ctx: typer.Context) -> None:
        self.url = url
        self.actor = actor
        self._ctx = ctx
        self._book: Book | None = None

    def open(self, *, create: bool = False) -> Book:
        """The book; only ``init`` creates or upgrades the schema (``create=True``)."""
        if self._book is None:
            path = _sqlite_path(self.url)
            if not create and path is not None and not path.exists():
                _fail("not_initialised", f"no database at {path}; run `bigledger-customers init` first", "db")
            self._book = connect(self.url, create=create)
            self._ctx.call_on_close(self._book.close)
        return self._book

    @property
    def book(self) -> Book:
        return self.open()


def _sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for other URLs and in-memory SQLite)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").partition("?")[0]
    return Path(path) if path and path != ":memory:" else None


app = typer.Typer(
    name="bigledger-customers",
    cls=_Group,
    help="Customer master of BigLedger: set up reference data, add, find and change customers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
customer_app = typer.Typer(help="Add, show, list, search customers and change their status.", no_args_is_help=True)
contact_app = typer.Typer(help="Contacts of a customer.", no_args_is_help=True)
address_app = typer.Typer(help="Addresses of a customer.", no_args_is_help=True)
reference_app = typer.Typer(help="Reference data customers are validated against.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")
app.add_typer(contact_app, name="contact")
app.add_typer(address_app, name="address")
app.add_typer(reference_app, name="reference")


def _print(renderable: Any) -> None:
    """Print to stdout; when it is not a terminal (a pipe, a file) don't squeeze tables into 80 columns."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=200)
    console.print(renderable)


@app.callback()
def _options(
    ctx: typer.Context,
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar=DB_ENV,
            help="A SQLite file path, or a URL: sqlite:///path.db, postgresql+psycopg://user@host/db, memory://.",
            show_envvar=True,
        ),
    ] = "customers.db",
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            envvar=ACTOR_ENV,
            help="Who acts (recorded in the audit trail). Default: the config file's actor, else the login name.",
            show_envvar=True,
        ),
    ] = None,
    roles: Annotated[
        str | None,
        typer.Option(
            "--roles",
            envvar=ROLES_ENV,
            help="The actor's roles, comma separated. Default: the config file's, else sales_admin.",
            show_envvar=True,
        ),
    ] = None,
    sales_rep: Annotated[
        str | None,
        typer.Option("--sales-rep", envvar=SALES_REP_ENV, help="The actor's sales-rep code.", show_envvar=True),
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", envvar=BRANCH_ENV, help="The actor's branch code.", show_envvar=True)
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config", envvar=CONFIG_ENV, help="A TOML file with roles per actor (docs/cli.md).", show_envvar=True
        ),
    ] = None,
) -> None:
    """Customer master of BigLedger: set up reference data, add, find and change customers."""
    try:
        acting = resolve_actor(
            actor=actor,
            roles=roles,
            sales_rep=sales_rep,
            branch=branch,
            config=load_config(config),
            default_actor=_default_actor(),
        )
    except BigLedgerError as error:
        _fail(error.code, error.message, error.field)
    ctx.obj = _State(database_url(db), acting, ctx)
    ctx.with_resource(acting_as(acting))  # queries run as the actor too: its scope, its masking


def _state(ctx: typer.Context) -> _State:
    state = ctx.find_object(_State)
    assert state is not None, "the root callback sets the state"
    return state


# -- option types shared by several commands ---------------------------------------------------------

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
CustomerRef = Annotated[str, typer.Argument(help="Customer code (any case) or id.", show_default=False)]
ExpectedVersion = Annotated[
    int | None,
    typer.Option("--expected-version", help="Refuse the change unless the customer is still at this version."),
]


def _pairs(values: Iterable[str], option: str) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict (for tax numbers and social profiles)."""
    result: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            _fail("invalid_option", f"expected KEY=VALUE, got {value!r}", option)
        result[key.strip()] = rest.strip()
    return result


def _names(values: Iterable[str]) -> dict[str, str]:
    """``--name`` values: ``zh=...`` names one language; a bare name is English."""
    names: dict[str, str] = {}
    for value in values:
        match = _LANGUAGE_PREFIX.match(value)
        lang, text = (match["lang"].replace("_", "-"), match["text"]) if match else ("en", value)
        names[lang] = text
    return names


def _given(**values: Any) -> dict[str, Any]:
    """Only the options the user gave (None and empty repeats mean "not given")."""
    return {k: v for k, v in values.items() if v is not None and v not in ([], ())}


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False))


# -- rendering ---------------------------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, frozenset | set):
        return ", ".join(sorted(str(x) for x in value))
    if isinstance(value, tuple | list):
        return ", ".join(str(x) for x in value)
    return str(value)


def _customer_panel(c: Customer) -> Panel:
    profile = Table.grid(padding=(0, 2))
    profile.add_column(style="bold")
    profile.add_column()
    rows: list[tuple[str, object]] = [
        ("code", c.code),
        ("id", c.id),
        ("status", c.status if not c.status_reason else f"{c.status} ({c.status_reason})"),
        ("names", c.names),
        ("legal name", c.legal_name),
        ("type", c.customer_type),
        ("partner role", c.partner_role),
        ("priority", c.priority),
        ("category", c.category),
        ("level", c.level),
        ("region", c.region),
        ("industry", c.industry),
        ("sales rep", c.sales_rep),
        ("branch", c.branch),
        ("country", c.country),
        ("currency", c.currency),
        ("language", c.preferred_language),
        ("tax numbers", c.tax_numbers),
        (
            "bank accounts",
            [f"{b.bank} {b.account_number}" + (f" ({b.iban})" if b.iban else "") for b in c.bank_accounts],
        ),
        ("website", c.website),
        ("tags", c.tags),
        ("parent", c.parent_id),
        ("merged into", c.merged_into),
        ("ordering access", c.ordering_enabled),
        ("notes", c.notes),
        ("custom fields", c.custom_values),
        ("created", c.created_at.isoformat(timespec="seconds")),
        ("updated", c.updated_at.isoformat(timespec="seconds")),
        ("version", c.version),
    ]
    for label, value in rows:
        shown = _text(value)
        if shown:
            profile.add_row(label, Text(shown))
    parts: list[Any] = [profile]
    if c.contacts:
        parts.append(_contacts_table(c.contacts))
    if c.addresses:
        parts.append(_addresses_table(c.addresses))
    if c.attachments:
        parts.append(Text(f"attachments: {len(c.attachments)} ({c.attachment_bytes:,} bytes)"))
    return Panel(Group(*parts), title=Text(f"{c.code}  {c.name}"), title_align="left", expand=False)


def _table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None) -> Table:
    """A plain table of ``rows``, leaving out columns that are empty in every row."""
    cells = [[_text(v) for v in row] for row in rows]
    keep = [i for i in range(len(columns)) if any(row[i] for row in cells)] or list(range(len(columns)))
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for i in keep:
        # Names and addresses may wrap; codes, ids, phones and e-mails are copied whole or not at all.
        table.add_column(columns[i], no_wrap=columns[i] not in {"name", "address"})
    for row in cells:
        table.add_row(*(Text(row[i]) for i in keep))
    return table


def _contacts_table(contacts: Sequence[Contact]) -> Table:
    columns = ("name", "title", "roles", "e-mail", "phone", "mobile", "primary", "id")
    rows = [(x.name, x.title, x.roles, x.email, x.phone, x.mobile, x.primary or None, x.id) for x in contacts]
    return _table(columns, rows, title="contacts")


def _address_text(a: Address) -> str:
    where = ", ".join(p for p in (*a.lines, a.city, a.state, a.postcode) if p)
    gps = f" @ {a.latitude},{a.longitude}" if a.latitude is not None and a.longitude is not None else ""
    return where + gps


def _addresses_table(addresses: Sequence[Address]) -> Table:
    columns = ("kind", "default", "address", "country", "zone", "contact", "id")
    rows = [
        (a.kind, a.is_default or None, _address_text(a), a.country, a.delivery_zone, a.contact_id, a.id)
        for a in addresses
    ]
    return _table(columns, rows, title="addresses")


def _customers_table(customers: Sequence[Customer]) -> Table:
    columns = ("code", "name", "status", "type", "category", "level", "region", "country", "version")
    rows = [
        (c.code, c.name, c.status, c.customer_type, c.category, c.level, c.region, c.country, c.version)
        for c in customers
    ]
    return _table(columns, rows)


def _show_customer(customer: Customer, as_json: bool) -> None:
    if as_json:
        _print_json(unstructure(customer))
    else:
        _print(_customer_panel(customer))


def _show_page(page: Page[Customer], as_json: bool) -> None:
    if as_json:
        _print_json({"items": [unstructure(c) for c in page.items], "next_cursor": page.next_cursor})
        return
    if not page.items:
        _print("no customers found")
        return
    _print(_customers_table(page.items))
    if page.total is not None:
        _print(Text(f"{'at least ' if page.total_is_estimate else ''}{page.total} found", style="dim"))
    if page.next_cursor:
        _print(Text(f"more: repeat with --cursor {page.next_cursor}", style="dim"))


# -- commands ----------------------------------------------------------------------------------------


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the database schema, or upgrade it to the latest version."""
    state = _state(ctx)
    state.open(create=True)
    _print(Text(f"database ready: {_safe_url(state.url)}"))


@customer_app.command("add")
def customer_add(
    ctx: typer.Context,
    *,
    name: Annotated[
        list[str],
        typer.Option(
            "--name",
            metavar="[LANG=]TEXT",
            help='Display name; repeat for languages as LANG=TEXT, e.g. --name "zh=ABC 制造".',
        ),
    ],
    code: Annotated[str | None, typer.Option(help="Customer code; generated (CUS-000001) when omitted.")] = None,
    legal_name: Annotated[str | None, typer.Option("--legal-name")] = None,
    customer_type: Annotated[str | None, typer.Option("--type", help=_one_of(CustomerType))] = None,
    partner_role: Annotated[str | None, typer.Option("--partner-role", help=_one_of(PartnerRole))] = None,
    category: Annotated[str | None, typer.Option()] = None,
    level: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option()] = None,
    industry: Annotated[str | None, typer.Option()] = None,
    sales_rep: Annotated[str | None, typer.Option("--sales-rep")] = None,
    branch: Annotated[str | None, typer.Option()] = None,
    priority: Annotated[str | None, typer.Option(help=_one_of(Priority))] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166 alpha-2, e.g. MY.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217, e.g. MYR.")] = None,
    language: Annotated[str | None, typer.Option("--language", help="Preferred language.")] = None,
    tax_number: Annotated[
        list[str] | None, typer.Option("--tax-number", metavar="SCHEME=NUMBER", help="Repeatable.")
    ] = None,
    website: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", metavar="TAG", help="Repeatable.")] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    parent: Annotated[str | None, typer.Option(help="Code or id of the parent customer.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a customer and show it."""
    state = _state(ctx)
    data = _given(
        code=code,
        names=_names(name),
        legal_name=legal_name,
        customer_type=customer_type,
        partner_role=partner_role,
        category=category,
        level=level,
        region=region,
        industry=industry,
        sales_rep=sales_rep,
        branch=branch,
        priority=priority,
        country=country,
        currency=currency,
        preferred_language=language,
        tax_numbers=_pairs(tax_number or (), "tax_number") or None,
        website=website,
        tags=list(tag) if tag else None,
        notes=notes,
        parent_id=parent,
    )
    _show_customer(state.book.customers.create(data, actor=state.actor), as_json)


@customer_app.command("show")
def customer_show(ctx: typer.Context, ref: CustomerRef, as_json: JsonFlag = False) -> None:
    """Show one customer with its contacts and addresses."""
    _show_customer(_state(ctx).book.customers.get(ref), as_json)


StatusFilter = Annotated[str | None, typer.Option(help=_STATUSES, show_default=False)]
LimitOption = Annotated[int, typer.Option(min=1, max=1000, help="Page size.")]
CursorOption = Annotated[str | None, typer.Option(help="Continue after a previous page.")]
SortOption = Annotated[str, typer.Option(help=_one_of(SortKey))]


def _search(
    ctx: typer.Context,
    text: str | None,
    *,
    filters: Mapping[str, Any],
    sort: str,
    descending: bool,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    page = _state(ctx).book.customers.search(
        text, **_given(**filters), sort=sort, descending=descending, limit=limit, cursor=cursor
    )
    _show_page(page, as_json)


@customer_app.command("list")
def customer_list(
    ctx: typer.Context,
    *,
    status: StatusFilter = None,
    category: Annotated[str | None, typer.Option()] = None,
    level: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", metavar="TAG", help="Only customers with this tag; repeatable.")
    ] = None,
    sort: SortOption = "code",
    descending: Annotated[bool, typer.Option("--desc", help="Sort descending.")] = False,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List customers, a page at a time."""
    filters = {"status": status, "category": category, "level": level, "region": region, "tags": tag}
    _search(ctx, None, filters=filters, sort=sort, descending=descending, limit=limit, cursor=cursor, as_json=as_json)


def _limit(amount: str | None, currency: str | None) -> Money | None:
    """A credit-limit bound: ``amount`` (a decimal string, never a float) in ``currency``."""
    if amount is None:
        return None
    if currency is None:
        raise ValidationError(
            "a credit-limit range needs --credit-currency", code="credit_currency_required", field="credit_currency"
        )
    return Money(amount.strip(), currency.strip().upper())


@customer_app.command("search")
def customer_search(
    ctx: typer.Context,
    *,
    text: Annotated[str, typer.Argument(help="Words to find in names, code, e-mail, phone, tax number.")],
    status: StatusFilter = None,
    category: Annotated[str | None, typer.Option()] = None,
    level: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", metavar="TAG", help="Only customers with this tag; repeatable.")
    ] = None,
    sales_rep: Annotated[str | None, typer.Option("--sales-rep")] = None,
    phone_region: Annotated[
        str | None, typer.Option("--phone-region", help="Read a national phone number in TEXT in this region (MY).")
    ] = None,
    credit_limit_min: Annotated[
        str | None,
        typer.Option("--credit-limit-min", metavar="AMOUNT", help="Credit limit at least this (in --credit-currency)."),
    ] = None,
    credit_limit_max: Annotated[
        str | None,
        typer.Option("--credit-limit-max", metavar="AMOUNT", help="Credit limit at most this (in --credit-currency)."),
    ] = None,
    credit_currency: Annotated[
        str | None,
        typer.Option(
            "--credit-currency", metavar="CUR", help="Currency of the credit-limit range and of --sort credit_limit."
        ),
    ] = None,
    sort: SortOption = "code",
    descending: Annotated[bool, typer.Option("--desc", help="Sort descending.")] = False,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Find customers by text (any word's start or any part of a name in any language, code, e-mail,
    phone, tax number; case, accents and width ignored) and filters."""
    filters = {
        "status": status,
        "category": category,
        "level": level,
        "region": region,
        "tags": tag,
        "sales_rep": sales_rep,
        "phone_region": phone_region,
        "credit_limit_min": _limit(credit_limit_min, credit_currency),
        "credit_limit_max": _limit(credit_limit_max, credit_currency),
        "credit_currency": credit_currency,
    }
    _search(ctx, text, filters=filters, sort=sort, descending=descending, limit=limit, cursor=cursor, as_json=as_json)


@customer_app.command("set-status")
def customer_set_status(
    ctx: typer.Context,
    *,
    ref: CustomerRef,
    status: Annotated[str, typer.Argument(help=_SETTABLE_STATUSES, show_default=False)],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")] = None,
    expected_version: ExpectedVersion = None,
    as_json: JsonFlag = False,
) -> None:
    """Move a customer through its lifecycle (active to restore a voided one)."""
    state = _state(ctx)
    customer = state.book.customers.set_status(
        ref, status, reason=reason, expected_version=expected_version, actor=state.actor
    )
    if as_json:
        _print_json(unstructure(customer))
    else:
        _print(Text(f"{customer.code}: {customer.status} (version {customer.version})"))


@contact_app.command("add")
def contact_add(
    ctx: typer.Context,
    *,
    ref: CustomerRef,
    name: Annotated[str, typer.Option(help="Contact's name.", show_default=False)],
    title: Annotated[str | None, typer.Option()] = None,
    role: Annotated[
        list[str] | None, typer.Option("--role", metavar="ROLE", help="e.g. purchasing, finance, orderer; repeatable.")
    ] = None,
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option(help="Normalised to E.164 (default region: the customer's).")] = None,
    mobile: Annotated[str | None, typer.Option()] = None,
    primary: Annotated[bool, typer.Option("--primary", help="Make this the primary contact.")] = False,
    marketing_email: Annotated[bool, typer.Option("--marketing-email")] = False,
    marketing_sms: Annotated[bool, typer.Option("--marketing-sms")] = False,
    expected_version: ExpectedVersion = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a contact to a customer (at most 50; the first becomes primary)."""
    state = _state(ctx)
    contact = _given(
        name=name,
        title=title,
        roles=list(role) if role else None,
        email=email,
        phone=phone,
        mobile=mobile,
        primary=primary or None,
        marketing_email=marketing_email or None,
        marketing_sms=marketing_sms or None,
    )
    customer = state.book.customers.add_contact(ref, contact, expected_version=expected_version, actor=state.actor)
    _after_item_change(customer, customer.contacts, _contacts_table, as_json)


@address_app.command("add")
def address_add(
    ctx: typer.Context,
    *,
    ref: CustomerRef,
    kind: Annotated[str, typer.Option(help=_one_of(AddressKind))] = "billing",
    line: Annotated[list[str] | None, typer.Option("--line", metavar="TEXT", help="Street lines; repeatable.")] = None,
    city: Annotated[str | None, typer.Option()] = None,
    state_: Annotated[str | None, typer.Option("--state")] = None,
    postcode: Annotated[str | None, typer.Option()] = None,
    country: Annotated[
        str | None, typer.Option(help="ISO 3166 alpha-2; defaults to the customer's country.", show_default=False)
    ] = None,
    latitude: Annotated[str | None, typer.Option(help="Decimal degrees, -90 to 90.")] = None,
    longitude: Annotated[str | None, typer.Option(help="Decimal degrees, -180 to 180.")] = None,
    delivery_zone: Annotated[str | None, typer.Option("--delivery-zone")] = None,
    contact_id: Annotated[str | None, typer.Option("--contact-id", help="The contact for this address.")] = None,
    default: Annotated[bool, typer.Option("--default", help="Make this the default of its kind.")] = False,
    expected_version: ExpectedVersion = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an address to a customer (at most 20; the first of a kind becomes its default)."""
    state = _state(ctx)
    book = state.book
    if country is None:
        country = book.customers.get(ref).country
    address = _given(
        kind=kind,
        lines=list(line) if line else None,
        city=city,
        state=state_,
        postcode=postcode,
        country=country,
        latitude=latitude,
        longitude=longitude,
        delivery_zone=delivery_zone,
        contact_id=contact_id,
        is_default=default or None,
    )
    customer = book.customers.add_address(ref, address, expected_version=expected_version, actor=state.actor)
    _after_item_change(customer, customer.addresses, _addresses_table, as_json)


def _after_item_change(
    customer: Customer, items: Sequence[Any], table: Callable[[Sequence[Any]], Table], as_json: bool
) -> None:
    if as_json:
        _print_json(unstructure(customer))
        return
    _print(Text(f"{customer.code} {customer.name} (version {customer.version})"))
    _print(table(items))


@reference_app.command("add")
def reference_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=_REFERENCE_KINDS, show_default=False)],
    code: Annotated[str, typer.Argument(help="The entry's code, e.g. WHOLESALE.", show_default=False)],
    name: Annotated[str, typer.Option(help="Display name; defaults to the code.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Add a reference entry (set these up before customers name them)."""
    state = _state(ctx)
    entry = state.book.reference.add(kind, code, name=name, actor=state.actor)
    if as_json:
        _print_json(unstructure(entry))
    else:
        _print(Text(f"{entry.kind} {entry.code}: {entry.name}"))


@reference_app.command("list")
def reference_list(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=_REFERENCE_KINDS, show_default=False)],
    as_json: JsonFlag = False,
) -> None:
    """List the entries of one kind of reference data."""
    entries: Sequence[ReferenceEntry] = _state(ctx).book.reference.list(kind)
    if as_json:
        _print_json([unstructure(e) for e in entries])
        return
    if not entries:
        _print(Text(f"no {kind} entries"))
        return
    _print(_table(("code", "name", "active"), [(e.code, e.name, e.active) for e in entries]))


@app.command("aging")
def aging(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date (YYYY-MM-DD); default today.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer (code or id).")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Only this currency.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write the rows to this CSV file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Open receivables by days past due, per customer and in total (DESIGN.md section 4)."""
    import csv
    import datetime as dt

    book = _state(ctx).book
    day = dt.date.fromisoformat(as_of) if as_of else None
    report = book.credit.aging(day, customer=customer, currency=currency)
    codes = {r.customer_id: book.customers.get(r.customer_id).code for r in report.rows if r.customer_id}
    header = ["customer", "currency", *report.bucket_names, "total", "unapplied", "net"]
    rows = [
        [codes.get(r.customer_id, "TOTAL") if r.customer_id else "TOTAL", r.currency]
        + [str(r.buckets[n].amount) for n in report.bucket_names]
        + [str(r.total.amount), str(r.unapplied.amount), str(r.net.amount)]
        for r in (*report.rows, *report.totals)
    ]
    if csv_path is not None:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    if as_json:
        _print_json({"as_of": report.as_of.isoformat(), "rows": [dict(zip(header, r, strict=True)) for r in rows]})
        return
    _print(_table(header, rows, title=f"aging as of {report.as_of.isoformat()}"))


# import, export and generate live in their own module; importing it registers them on ``app``.
from bigledger_customers import _cli_bulk  # noqa: E402

del _cli_bulk

# duplicates (the batch duplicate report) lives in its own module too.
from bigledger_customers import _cli_governance  # noqa: E402

del _cli_governance

# account and checkout (customer accounts, DESIGN.md sections 5 and 6) live in their own module too.
from bigledger_customers import _cli_accounts  # noqa: E402

del _cli_accounts


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``bigledger-customers``)."""
    app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="bigledger-customers")
