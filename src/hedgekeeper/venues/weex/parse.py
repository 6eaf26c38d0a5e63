"""WEEX payloads (as ccxt passes them through in `info`) -> domain values, or `BadReply`.

Pure, like `venues/ccxt/parse.py`: every field is looked up and range-checked. A contract wallet
reply without the settle coin is a `BadReply`, never a zero (the spot wallet: `coin_held`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from hedgekeeper.domain import Collateral
from hedgekeeper.venues.base import BadReply, OutcomeUnknown
from hedgekeeper.venues.ccxt import parse

ZERO = Decimal(0)
MAX_LEVERAGE = Decimal(1000)


def _info(raw: object, where: str) -> object:
    return parse.mapping(raw, where).get("info")


def contract_balance(raw: object, settle: str, ts: float) -> Collateral:
    """The settle coin's row of `capi/v3/account/balance` (a list): `balance` is the wallet,
    `unrealizePnl` (WEEX's spelling) what the open positions would add, `availableBalance` what
    an order may spend."""
    where = f"perpetual wallet {settle}"
    for i, row in enumerate(parse.items(_info(raw, where), f"{where}: info")):
        entry = parse.mapping(row, f"{where}: info[{i}]")
        if entry.get("asset") != settle:
            continue
        wallet = parse.num(entry, "balance", where, "nonneg")
        upnl = parse.opt_num(entry, "unrealizePnl", where) or ZERO
        free = parse.num(entry, "availableBalance", where, "nonneg")
        return Collateral(wallet=wallet, equity=wallet + upnl, free=free, ts=ts)
    raise BadReply(f"{where}: the reply has no {settle} row")


def spot_balance(raw: object, asset: str) -> Decimal:
    """free + locked of `asset` in the spot wallet reply (`api/v3/account`: `balances[]`)."""
    where = f"spot wallet {asset}"
    info = parse.mapping(_info(raw, where), f"{where}: info")
    return parse.coin_held(info.get("balances"), asset, where)


def symbol_config(raw: object, symbol: str) -> tuple[Decimal, str, bool]:
    """(the short side's leverage, margin mode, one-way) from ccxt's `fetch_leverage`, whose
    `info` is the `capi/v3/account/symbolConfig` row: COMBINED positions are one per side."""
    where = f"symbol config {symbol}"
    lev = parse.mapping(raw, where)
    mode = lev.get("marginMode")
    if mode not in ("cross", "isolated"):
        raise BadReply(f"{where}: unknown margin mode {parse.show(mode)}")
    leverage = parse.num(lev, "shortLeverage", where, "positive", MAX_LEVERAGE)
    separated = parse.mapping(lev.get("info"), f"{where}: info").get("separatedType")
    if separated not in ("COMBINED", "SEPARATED"):
        raise BadReply(f"{where}: unknown separatedType {parse.show(separated)}")
    return leverage, str(mode), separated == "COMBINED"


def one_order(found: Sequence[object], client_id: str) -> object | None:
    """The one order carrying `client_id` among the open and the past ones (ccxt orders), or
    None. The same order id in both lists (it finished between the two reads) is one order, the
    later read wins; two different orders under one id make the lookup uncertain, and an
    uncertain lookup is `OutcomeUnknown`, never "not found" (that would let it be sent again)."""
    by_id: dict[str, object] = {}
    for i, item in enumerate(found):
        order = parse.mapping(item, f"order {client_id}[{i}]")
        if order.get("clientOrderId") != client_id:
            continue
        by_id[parse.text(order, "id", f"order {client_id}")] = order
    if len(by_id) > 1:
        raise OutcomeUnknown(
            f"order {client_id}: {len(by_id)} orders carry this client id"
            f" ({', '.join(sorted(by_id))}); which one is ours cannot be told"
        )
    return next(iter(by_id.values()), None)


def ours(raw: object, exchange_id: str, client_id: str) -> object:
    """The order WEEX returned for `exchange_id`, if it carries our client id: the id came from
    the journal, and an order of someone else's must be neither cancelled nor counted."""
    order = parse.mapping(raw, f"order {exchange_id}")
    got = order.get("clientOrderId")
    if got != client_id:
        raise BadReply(f"order {exchange_id}: WEEX says it carries client id {parse.show(got)},"
                       f" not {client_id}")  # fmt: skip
    return raw


def open_while_partly_filled(raw: object) -> object:
    """WEEX says PARTIALLY_FILLED of a resting order that has filled in part; ccxt passes the
    word through as a status it does not know. It is open."""
    order = parse.mapping(raw, "order")
    if order.get("status") != "partially_filled":
        return raw
    return {**order, "status": "open"}


def refused(raw: object) -> str | None:
    """Why the create reply says the order was refused (`success` false), or None."""
    info = _info(raw, "create reply")
    if not isinstance(info, Mapping) or info.get("success") is not False:
        return None
    return (
        f"{info.get('errorCode') or '?'} {info.get('errorMessage') or info.get('errorMsg') or ''}"
    )
