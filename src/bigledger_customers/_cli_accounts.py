"""CLI commands ``account ...`` and ``checkout ...`` (registered on :data:`cli.app`): customer accounts
and checkout at a terminal (DESIGN.md sections 5 and 6).

Amounts are decimal strings (``257.50``), never floats. Every money command takes ``--key``: the same
key replays the first outcome, the same key with other arguments is refused
(``idempotency_key_reused``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bigledger_customers import Book
from bigledger_customers.cli import JsonFlag, _fail, _print, _print_json, _state, _table, app
from bigledger_customers.domain.accounts import Hold, IncomeMethod
from bigledger_customers.domain.checkout import Order, Quote, Reservation
from bigledger_customers.domain.convert import structure_as, unstructure
from bigledger_customers.money import Money

__all__: list[str] = []

account_app = typer.Typer(
    help="Customer accounts: balances, top-ups, income, payments from the account, rebates.", no_args_is_help=True
)
checkout_app = typer.Typer(
    help="Checkout an order: quote (read-only), reserve, then confirm or reject the reservation.",
    no_args_is_help=True,
)
app.add_typer(account_app, name="account")
app.add_typer(checkout_app, name="checkout")

CustomerArg = Annotated[str, typer.Argument(help="Customer code (any case) or id.", show_default=False)]
AmountArg = Annotated[str, typer.Argument(help="A decimal amount, e.g. 257.50.", show_default=False)]
CurrencyArg = Annotated[str, typer.Argument(help="ISO 4217, e.g. MYR.", show_default=False)]
KeyOption = Annotated[
    str,
    typer.Option(
        "--key", help="Idempotency key: a retry with the same key replays the first outcome.", show_default=False
    ),
]
OrderOption = Annotated[str, typer.Option("--order", help="The order number.", show_default=False)]


def _money(amount: str, currency: str) -> Money:
    """``amount`` (a decimal string, never a float) in ``currency``; bad input is a ValidationError."""
    return Money(amount.strip(), currency.strip().upper())


def _moment(value: str, option: str, *, end_of_day: bool = False) -> dt.datetime:
    """A date or an ISO date-time; a date is midnight UTC (with ``end_of_day``, the next midnight),
    a date-time without a zone is UTC."""
    try:
        if "T" not in value and " " not in value.strip():
            day = dt.date.fromisoformat(value.strip())
            start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            return start + dt.timedelta(days=1) if end_of_day else start
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        _fail("invalid_option", f"expected a date (YYYY-MM-DD) or an ISO date-time, got {value!r}", option)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _amount(money: Money | None) -> str:
    return "" if money is None else str(money.amount)


def _hold_line(hold: Hold) -> str:
    parts = [f"hold {hold.id}: {hold.status}", f"prepayment {hold.prepayment}", f"rebate {hold.rebate_total}"]
    if hold.settled_prepayment is not None:
        settled_rebate = sum((s.amount for s in hold.settled_rebate), Money.zero(hold.currency))
        parts.append(f"settled prepayment {hold.settled_prepayment}, rebate {settled_rebate}")
    if hold.order:
        parts.append(f"order {hold.order}")
    if hold.expires_at is not None and hold.status == "open":
        parts.append(f"expires {hold.expires_at.isoformat(timespec='seconds')}")
    return "; ".join(parts)


def _show(value: object, as_json: bool, line: str) -> None:
    """``value`` as JSON with ``--json``, else the one-line summary ``line``."""
    if as_json:
        _print_json(unstructure(value))
    else:
        _print(Text(line))


def _show_hold(hold: Hold, as_json: bool) -> None:
    _show(hold, as_json, _hold_line(hold))


# -- account ------------------------------------------------------------------------------------------


@account_app.command("enable")
def account_enable(
    ctx: typer.Context,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Customers per transaction.")] = 10_000,
) -> None:
    """Create every customer's account, with a progress bar; resumable and safe to run twice."""
    state = _state(ctx)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as progress:
        task = progress.add_task("creating accounts", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = state.book.accounts.enable(batch_size=batch_size, on_progress=on_progress, actor=state.actor)
    _print(
        Text(
            f"accounts enabled: {report.accounts} accounts for {report.customers} customers "
            f"({report.created} created now)"
        )
    )


def _currencies(book: Book, ref: str, default: str | None) -> list[str]:
    """Currencies the account has moved money in (ledger, grants), with the customer's own first."""
    seen: dict[str, None] = {}
    if default:
        seen[default] = None
    for entry in book.accounts.ledger(ref):
        seen.setdefault(entry.currency, None)
    for grant in book.accounts.grants(ref):
        seen.setdefault(grant.currency, None)
    return list(seen)


@account_app.command("show")
def account_show(
    ctx: typer.Context,
    ref: CustomerArg,
    currency: Annotated[
        list[str] | None,
        typer.Option("--currency", help="Only this currency; repeatable (default: every currency used)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Settlement method and balances per currency: prepayment actual / available / locked, and rebate."""
    book = _state(ctx).book
    account = book.accounts.account(ref)
    customer = book.customers.get(ref)
    wanted = [c.strip().upper() for c in currency] if currency else _currencies(book, ref, customer.currency)
    balances = [book.accounts.balance(ref, c) for c in wanted]
    if as_json:
        _print_json(
            {
                "customer": customer.code,
                "settlement_method": account.settlement_method.value,
                "payment_terms": account.payment_terms,
                "balances": [unstructure(b) for b in balances],
            }
        )
        return
    terms = f" ({account.payment_terms})" if account.payment_terms else ""
    _print(Text(f"{customer.code} {customer.name}: settlement {account.settlement_method}{terms}"))
    if not balances:
        _print(Text("no balances yet"))
        return
    rows = [
        (
            b.currency,
            _amount(b.actual),
            _amount(b.available),
            _amount(b.locked),
            _amount(b.rebate_actual),
            _amount(b.rebate_available),
            _amount(b.rebate_locked),
        )
        for b in balances
    ]
    columns = ("currency", "actual", "available", "locked", "rebate actual", "rebate available", "rebate locked")
    _print(_table(columns, rows))


@account_app.command("top-up")
def account_top_up(
    ctx: typer.Context,
    *,
    ref: CustomerArg,
    amount: AmountArg,
    currency: CurrencyArg,
    key: KeyOption,
    platform: Annotated[str, typer.Option(help="Payment platform (its fee rate and minimum).")] = "online",
    reference: Annotated[str, typer.Option(help="The platform's transaction reference.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Online top-up: credited in full at once; prints the platform fee recorded with it."""
    state = _state(ctx)
    record = state.book.accounts.top_up(
        ref, _money(amount, currency), platform=platform, reference=reference, key=key, actor=state.actor
    )
    _show(record, as_json, f"top-up {record.id}: credited {record.amount}; fee {record.fee} ({record.platform})")


@account_app.command("income")
def account_income(
    ctx: typer.Context,
    *,
    ref: CustomerArg,
    amount: AmountArg,
    currency: CurrencyArg,
    method: Annotated[str, typer.Option(help="One of: " + ", ".join(IncomeMethod) + ".", show_default=False)],
    key: KeyOption,
    reference: Annotated[str, typer.Option(help="Receipt, slip or cheque number.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Offline income (cash, bank transfer, ...): pending until approved by someone else (`account approve`)."""
    state = _state(ctx)
    record = state.book.accounts.record_income(
        ref, _money(amount, currency), method=method, reference=reference, key=key, actor=state.actor
    )
    waiting = f"; approval {record.approval_id}" if record.approval_id and record.status == "pending" else ""
    _show(record, as_json, f"income {record.id}: {record.amount} by {record.method}, {record.status}{waiting}")


@account_app.command("approvals")
def account_approvals(
    ctx: typer.Context,
    command: Annotated[str | None, typer.Option(help="Only requests of this command, e.g. prepayment.income.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Approval requests waiting for a decision, oldest first."""
    state = _state(ctx)
    requests = state.book.accounts.pending_approvals(command=command, actor=state.actor)
    if as_json:
        _print_json([unstructure(r) for r in requests])
        return
    if not requests:
        _print(Text("no pending approvals"))
        return
    rows = [
        (r.id, r.command, r.subject_id, r.requested_by, r.requested_at.isoformat(timespec="seconds")) for r in requests
    ]
    _print(_table(("id", "command", "subject", "requested by", "requested at"), rows))


@account_app.command("approve")
def account_approve(
    ctx: typer.Context,
    approval_id: Annotated[str, typer.Argument(metavar="ID", help="The approval request.", show_default=False)],
    note: Annotated[str, typer.Option(help="Kept with the decision.")] = "",
    reject: Annotated[bool, typer.Option("--reject", help="Reject the request instead.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Sign the current step of an approval request (the requester cannot); the last step applies it."""
    state = _state(ctx)
    accounts = state.book.accounts
    decide = accounts.reject_approval if reject else accounts.approve
    request = decide(approval_id, note=note, actor=state.actor)
    _show(request, as_json, f"approval {request.id} ({request.command}): {request.status}")


@account_app.command("pay")
def account_pay(
    ctx: typer.Context,
    *,
    ref: CustomerArg,
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217, e.g. MYR.", show_default=False)],
    order: OrderOption,
    key: KeyOption,
    prepayment: Annotated[str | None, typer.Option(help="Amount to hold from prepayment.")] = None,
    rebate: Annotated[str | None, typer.Option(help="Amount to reserve from rebate grants.")] = None,
    order_amount: Annotated[
        str | None, typer.Option("--order-amount", help="The order's amount: the rebate usage rules then apply.")
    ] = None,
    expires_in: Annotated[
        int | None, typer.Option("--expires-in", min=1, help="Minutes until the hold is released (default 30).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Submit a payment from the account: holds prepayment and/or rebate; then `account confirm` or `reject`."""
    state = _state(ctx)
    hold = state.book.accounts.submit_payment(
        ref,
        prepayment=_money(prepayment, currency) if prepayment is not None else None,
        rebate=_money(rebate, currency) if rebate is not None else None,
        order=order,
        order_amount=_money(order_amount, currency) if order_amount is not None else None,
        expires_in=dt.timedelta(minutes=expires_in) if expires_in is not None else None,
        key=key,
        actor=state.actor,
    )
    _show_hold(hold, as_json)


HoldArg = Annotated[str, typer.Argument(metavar="HOLD", help="The hold id (from `account pay`).", show_default=False)]


@account_app.command("confirm")
def account_confirm(
    ctx: typer.Context,
    *,
    hold_id: HoldArg,
    key: KeyOption,
    amount: Annotated[
        str | None, typer.Option(help="Settle less than held (split over prepayment and rebate); the rest is released.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Settle a payment hold, in full or in part."""
    state = _state(ctx)
    accounts = state.book.accounts
    money = _money(amount, accounts.hold(hold_id, actor=state.actor).currency) if amount is not None else None
    _show_hold(accounts.confirm(hold_id, amount=money, key=key, actor=state.actor), as_json)


@account_app.command("reject")
def account_reject(
    ctx: typer.Context,
    *,
    hold_id: HoldArg,
    key: KeyOption,
    reason: Annotated[str, typer.Option(help="Why (kept in the ledger).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Release everything a payment hold holds."""
    state = _state(ctx)
    _show_hold(state.book.accounts.reject(hold_id, reason=reason, key=key, actor=state.actor), as_json)


@account_app.command("grant")
def account_grant(
    ctx: typer.Context,
    *,
    ref: CustomerArg,
    amount: AmountArg,
    currency: CurrencyArg,
    valid_from: Annotated[
        str, typer.Option("--from", help="Valid from: a date (midnight UTC) or an ISO date-time.", show_default=False)
    ],
    valid_until: Annotated[
        str,
        typer.Option(
            "--until", help="Valid until: a date counts in full (to the next midnight UTC).", show_default=False
        ),
    ],
    key: KeyOption,
    reason: Annotated[str, typer.Option(help="Why the rebate is granted.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """A manual rebate grant; it needs finance approval by default (`account approve`)."""
    state = _state(ctx)
    grant = state.book.accounts.grant_rebate(
        ref,
        _money(amount, currency),
        valid_from=_moment(valid_from, "from"),
        valid_until=_moment(valid_until, "until", end_of_day=True),
        reason=reason,
        key=key,
        actor=state.actor,
    )
    waiting = f"; approval {grant.approval_id}" if grant.approval_id and grant.status == "pending" else ""
    _show(grant, as_json, f"grant {grant.id}: {grant.amount}, {grant.status}{waiting}")


@account_app.command("reconcile")
def account_reconcile(
    ctx: typer.Context,
    ref: Annotated[
        str | None, typer.Argument(help="Only this customer (code or id); default every account.", show_default=False)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Recompute balances and grants from the ledger and compare; exit status 1 when any differs."""
    state = _state(ctx)
    report = state.book.accounts.reconcile(ref, actor=state.actor)
    if as_json:
        _print_json(unstructure(report))
    else:
        _print(Text(f"{report.checked} balances checked, {len(report.mismatches)} differ"))
        if report.mismatches:
            rows = [
                (
                    m.key.account_id,
                    m.key.bucket,
                    m.key.currency,
                    m.key.grant_id,
                    f"{_amount(m.ledger.available)} / {_amount(m.ledger.locked)}",
                    "missing" if m.stored is None else f"{_amount(m.stored.available)} / {_amount(m.stored.locked)}",
                )
                for m in report.mismatches
            ]
            columns = ("account", "bucket", "currency", "grant", "ledger avail/locked", "stored avail/locked")
            _print(_table(columns, rows))
    if report.mismatches:
        raise typer.Exit(1)


# -- checkout -----------------------------------------------------------------------------------------


def _order(ref: str, amount: str, currency: str, order: str, rebate: str | None, use_prepayment: bool) -> Order:
    return Order(
        customer=ref,
        number=order,
        amount=_money(amount, currency),
        rebate=_money(rebate, currency) if rebate is not None else None,
        use_prepayment=use_prepayment,
    )


RebateWanted = Annotated[
    str | None, typer.Option(help="Use at most this much rebate (default: as much as allowed; 0: none).")
]
NoPrepayment = Annotated[
    bool, typer.Option("--no-prepayment", help="Don't spend prepayment (pay-now and credit customers).")
]


def _plan_rows(quote: Quote) -> list[tuple[str, str]]:
    plan = quote.plan
    return [("rebate", str(plan.rebate)), ("prepayment", str(plan.prepayment)), ("credit", str(plan.credit)),
            ("cash", str(plan.cash))]  # fmt: skip


def _show_quote(quote: Quote, as_json: bool) -> None:
    if as_json:
        _print_json(unstructure(quote) | {"ok": quote.ok})
        return
    credit = quote.credit.outcome.value if quote.credit is not None else "not needed"
    rows: list[tuple[str, str]] = [
        ("order", f"{quote.order.number}: {quote.order.amount}"),
        ("customer status", quote.customer_status),
        ("settlement", quote.settlement_method),
        ("rebate allowed", f"{quote.rebate_allowed} (available {quote.rebate_available})"),
        ("prepayment available", str(quote.prepayment_available)),
        ("credit decision", credit),
        *_plan_rows(quote),
        ("ok", "yes" if quote.ok else "no: blocked"),
    ]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in rows:
        grid.add_row(label, Text(value))
    _print(grid)
    for reason in quote.reasons:
        _print(Text(f"{reason.severity}: {reason.code}: {reason.message}"))


@checkout_app.command("quote")
def checkout_quote(
    ctx: typer.Context,
    *,
    ref: CustomerArg,
    amount: AmountArg,
    currency: CurrencyArg,
    order: OrderOption,
    rebate: RebateWanted = None,
    no_prepayment: NoPrepayment = False,
    as_json: JsonFlag = False,
) -> None:
    """Read-only: can the customer buy this now, and how it would be paid (rebate, prepayment, credit, cash)."""
    state = _state(ctx)
    wanted = _order(ref, amount, currency, order, rebate, not no_prepayment)
    quote = state.book.checkout.quote(wanted, actor=state.actor)
    _show_quote(quote, as_json)


@checkout_app.command("reserve")
def checkout_reserve(
    ctx: typer.Context,
    *,
    ref: CustomerArg,
    amount: AmountArg,
    currency: CurrencyArg,
    order: OrderOption,
    key: KeyOption,
    rebate: RebateWanted = None,
    no_prepayment: NoPrepayment = False,
    override: Annotated[
        str | None, typer.Option(help="An approved credit override request lifting a credit block.")
    ] = None,
    expires_in: Annotated[
        int | None, typer.Option("--expires-in", min=1, help="Minutes until the reservation is released (default 30).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the reservation JSON to this file.")
    ] = None,
) -> None:
    """Quote the order and hold what its plan needs. Prints the reservation as JSON: pass that JSON (or
    the file written by --output, as @FILE) to `checkout confirm` or `checkout reject`."""
    state = _state(ctx)
    checkout = state.book.checkout
    quote = checkout.quote(_order(ref, amount, currency, order, rebate, not no_prepayment), actor=state.actor)
    reservation = checkout.reserve(
        quote,
        key=key,
        expires_in=dt.timedelta(minutes=expires_in) if expires_in is not None else None,
        override=override,
        actor=state.actor,
    )
    text = json.dumps(unstructure(reservation), ensure_ascii=False, indent=2)
    if output is not None:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            _fail("invalid_option", f"cannot write {output}: {error.strerror}", "output")
    typer.echo(text)


ReservationArg = Annotated[
    str,
    typer.Argument(
        metavar="RESERVATION",
        help="The JSON printed by `checkout reserve`: the JSON itself, @FILE, or - to read standard input.",
        show_default=False,
    ),
]


def _reservation(value: str) -> Reservation:
    """The reservation handle printed by ``checkout reserve``, from JSON text, ``@file`` or ``-``."""
    text = value
    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as error:
            _fail("invalid_option", f"cannot read {value[1:]}: {error.strerror}", "reservation")
    try:
        data = json.loads(text)
    except ValueError:
        _fail("invalid_reservation", "expected the reservation JSON printed by `checkout reserve`", "reservation")
    reservation: Reservation = structure_as(data, Reservation, field="reservation")
    return reservation


def _show_reservation(reservation: Reservation, as_json: bool) -> None:
    plan = reservation.plan
    _show(
        reservation,
        as_json,
        f"reservation {reservation.id} for order {reservation.order}: {reservation.state}; "
        f"rebate {plan.rebate}, prepayment {plan.prepayment}, credit {plan.credit}, cash {plan.cash}",
    )


@checkout_app.command("confirm")
def checkout_confirm(
    ctx: typer.Context, *, reservation: ReservationArg, key: KeyOption, as_json: JsonFlag = False
) -> None:
    """Settle a reservation: expense recorded, grants consumed, the credit part becomes a receivable."""
    state = _state(ctx)
    held = _reservation(reservation)
    _show_reservation(state.book.checkout.confirm(held, key=key, actor=state.actor), as_json)


@checkout_app.command("reject")
def checkout_reject(
    ctx: typer.Context,
    *,
    reservation: ReservationArg,
    key: KeyOption,
    reason: Annotated[str, typer.Option(help="Why (kept in the ledger).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Release everything a reservation holds."""
    state = _state(ctx)
    held = _reservation(reservation)
    _show_reservation(state.book.checkout.reject(held, key=key, reason=reason, actor=state.actor), as_json)
