"""Binance payloads (COIN-M dapi, USDⓈ-M fapi, spot api) -> domain values; pure, never trusting.

Read from the raw `info` ccxt keeps, because ccxt's unified figures lose what the hedge needs:
- Futures wallet: ccxt's REST `total` is marginBalance (wallet + unrealised PnL) but its websocket
  `total` is the wallet alone (`wb`), and it drops assets whose updateTime is 0. Here equity is
  walletBalance + unrealizedProfit on REST (checked against marginBalance), and on a websocket
  ACCOUNT_UPDATE the pushed `wb` plus the pushed position's `up`; a push without our position
  (a transfer, a funding fee) cannot say the PnL, so it yields nothing and the caller re-reads.
- Positions: `positionAmt` is signed (one-way mode); hedge mode shows LONG and SHORT rows.
- Funding: income history rows of type FUNDING_FEE, `income` > 0 received, in the margin asset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from hedgekeeper.domain import AccountSettings, Collateral, FundingEvent, Position
from hedgekeeper.venues.base import BadReply
from hedgekeeper.venues.ccxt import parse

ZERO = Decimal(0)
EQUITY_TOLERANCE = Decimal("1e-8")  # Binance rounds marginBalance to 8 places
MAX_TIME_MS = Decimal(10) ** 14
MAX_LEVERAGE = Decimal(125)


def _asset_row(rows: object, asset: str, where: str, key: str = "asset") -> Mapping[str, object]:
    for i, row in enumerate(parse.items(rows, where)):
        entry = parse.mapping(row, f"{where}[{i}]")
        if entry.get(key) == asset:
            return entry
    raise BadReply(f"{where}: no {asset} in the reply (fund the wallet, or transfer {asset} in)")


def futures_collateral(info: object, settle: str, ts: float) -> Collateral:
    """REST `GET /dapi/v1/account` or `/fapi/v3/account`: the settle asset's wallet and equity."""
    where = f"futures account {settle}"
    row = _asset_row(parse.mapping(info, where).get("assets"), settle, f"{where}: assets")
    wallet = parse.num(row, "walletBalance", where)
    upl = parse.num(row, "unrealizedProfit", where)
    equity = wallet + upl
    margin_balance = parse.opt_num(row, "marginBalance", where)
    if margin_balance is not None and abs(margin_balance - equity) > EQUITY_TOLERANCE:
        raise BadReply(
            f"{where}: marginBalance {margin_balance} is not walletBalance {wallet}"
            f" + unrealizedProfit {upl}"
        )
    free = max(parse.num(row, "availableBalance", where), ZERO)  # negative when losing, cross
    return Collateral(wallet=wallet, equity=equity, free=free, ts=ts)


def spot_total(info: object, asset: str) -> Decimal:
    """REST `GET /api/v3/account`: free + locked of `asset` (Binance lists zero balances too)."""
    where = f"spot account {asset}"
    row = _asset_row(parse.mapping(info, where).get("balances"), asset, f"{where}: balances")
    return parse.num(row, "free", where, "nonneg") + parse.num(row, "locked", where, "nonneg")


def spot_push_total(event: object, asset: str) -> Decimal | None:
    """Spot user-data `outboundAccountPosition`: free + locked of `asset`, None when not in it."""
    where = f"spot push {asset}"
    message = parse.mapping(event, where)
    if message.get("e") != "outboundAccountPosition":
        return None
    for i, item in enumerate(parse.items(message.get("B"), f"{where}: B")):
        row = parse.mapping(item, f"{where}: B[{i}]")
        if row.get("a") == asset:
            return parse.num(row, "f", where, "nonneg") + parse.num(row, "l", where, "nonneg")
    return None


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One raw position row of ours: signed amount and what Binance says of it."""

    amount: Decimal
    entry: Decimal | None
    liquidation: Decimal | None
    leverage: Decimal | None
    side: str  # BOTH | LONG | SHORT


def position_rows(raw: object, market_id: str, where: str) -> list[PositionRow]:
    """Rows of `market_id` from raw positionRisk / account positions / ACCOUNT_UPDATE `P`."""
    rows = []
    for i, item in enumerate(parse.items(raw, where)):
        at = f"{where}[{i}]"
        row = parse.mapping(item, at)
        if row.get("symbol", row.get("s")) != market_id:
            continue
        side = parse.label(row.get("positionSide", row.get("ps", "BOTH")))
        if side not in ("BOTH", "LONG", "SHORT"):
            raise BadReply(f"{at}: unknown positionSide {parse.show(side)}")
        amount_key = "positionAmt" if "positionAmt" in row else "pa"
        entry_key = "entryPrice" if "entryPrice" in row else "ep"
        leverage = parse.opt_num(row, "leverage", at, "nonneg", MAX_LEVERAGE + 1)
        rows.append(
            PositionRow(
                amount=parse.num(row, amount_key, at),
                entry=parse.opt_price(row, entry_key, at),
                liquidation=parse.opt_price(row, "liquidationPrice", at),
                leverage=leverage or None,
                side=side,
            )
        )
    return rows


def infos(raw_ccxt: object, symbol: str, where: str) -> list[object]:
    """The raw rows inside ccxt's unified entries for `symbol` (each keeps its row in `info`)."""
    rows = []
    for i, item in enumerate(parse.items(raw_ccxt, where)):
        entry = parse.mapping(item, f"{where}[{i}]")
        parse.check_symbol(entry, symbol, f"{where}[{i}]")
        rows.append(entry.get("info"))
    return rows


def position(raw_ccxt: object, symbol: str, market_id: str, ts: float) -> Position:
    """ccxt `fetch_positions([symbol])` (an empty list is flat: ccxt drops entryPrice 0 rows)."""
    where = f"positions {symbol}"
    raw_rows = infos(raw_ccxt, symbol, where)
    rows = position_rows(raw_rows, market_id, where)
    if len(rows) != len(raw_rows):
        raise BadReply(f"{where}: a row is not for {market_id}")
    return _combine(rows, symbol, ts)


def _combine(rows: list[PositionRow], symbol: str, ts: float) -> Position:
    signed = sum((r.amount for r in rows), ZERO)
    open_rows = [r for r in rows if r.amount]
    entry = open_rows[0].entry if len(open_rows) == 1 else None
    liquidation = open_rows[0].liquidation if len(open_rows) == 1 else None
    leverage = next((r.leverage for r in rows if r.leverage), None)
    return Position(symbol, signed, ts, entry, liquidation, leverage)


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """What one futures ACCOUNT_UPDATE push says of our wallet and our position."""

    wallet: Decimal | None  # `wb` of the settle asset; None when the push does not carry it
    position: Position | None  # ours, when the push carries it
    unrealised: Decimal | None  # our position's `up`, when the push carries it

    def collateral(self, ts: float) -> Collateral | None:
        """Equity = wallet + our position's PnL, only when both are in the push.

        `free` is not pushed; it is set to the equity here, and a REST read corrects it (the
        reconciler caps an order by margin from the REST reading on every rest_interval).
        """
        if self.wallet is None or self.unrealised is None:
            return None
        equity = self.wallet + self.unrealised
        return Collateral(self.wallet, equity, max(equity, ZERO), ts)


def account_update(event: object, settle: str, symbol: str, market_id: str) -> AccountUpdate:
    """Futures ACCOUNT_UPDATE: `a.B[]` wallets (`wb`), `a.P[]` positions (`pa`, `up`)."""
    where = "ACCOUNT_UPDATE"
    message = parse.mapping(event, where)
    if message.get("e") != "ACCOUNT_UPDATE":
        return AccountUpdate(None, None, None)
    data = parse.mapping(message.get("a"), f"{where}: a")
    stamp = parse.num(message, "E", where, "positive", MAX_TIME_MS)
    ts = float(stamp) / 1000
    wallet = None
    for i, item in enumerate(parse.items(data.get("B") or [], f"{where}: B")):
        row = parse.mapping(item, f"{where}: B[{i}]")
        if row.get("a") == settle:
            wallet = parse.num(row, "wb", f"{where}: B[{i}]")
    raw_positions = parse.items(data.get("P") or [], f"{where}: P")
    rows = position_rows(raw_positions, market_id, f"{where}: P")
    if not rows:
        return AccountUpdate(wallet, None, None)
    upl = ZERO
    for i, item in enumerate(raw_positions):
        row = parse.mapping(item, f"{where}: P[{i}]")
        if row.get("s") == market_id:
            upl += parse.num(row, "up", f"{where}: P[{i}]")
    return AccountUpdate(wallet, _combine(rows, symbol, ts), upl)


def settings(
    leverage_rows: object, dual: object, market_id: str, symbol: str, ts: float
) -> AccountSettings:
    """Leverage and margin mode of `market_id`, and the account-wide position mode.

    `leverage_rows`: COIN-M `GET /dapi/v1/account` `positions[]` (leverage, isolated) or USDⓈ-M
    `GET /fapi/v1/symbolConfig` (leverage, marginType); `dual`: `GET .../positionSide/dual`.
    """
    where = f"settings {symbol}"
    leverage: Decimal | None = None
    mode: str | None = None
    for i, item in enumerate(parse.items(leverage_rows, f"{where}: rows")):
        row = parse.mapping(item, f"{where}: rows[{i}]")
        if row.get("symbol") != market_id:
            continue
        leverage = parse.num(row, "leverage", where, "positive", MAX_LEVERAGE + 1)
        if "marginType" in row:
            kind = parse.label(row.get("marginType")).upper()
            if kind not in ("CROSSED", "CROSS", "ISOLATED"):
                raise BadReply(f"{where}: unknown marginType {parse.show(kind)}")
            mode = "isolated" if kind == "ISOLATED" else "cross"
        elif isinstance(row.get("isolated"), bool):
            mode = "isolated" if row["isolated"] else "cross"
        else:
            raise BadReply(f"{where}: neither marginType nor isolated for {market_id}")
    if leverage is None:
        raise BadReply(f"{where}: {market_id} not in the account's leverage settings")
    hedged = parse.mapping(dual, f"{where}: positionSide/dual").get("dualSidePosition")
    if not isinstance(hedged, bool):
        raise BadReply(f"{where}: dualSidePosition is {parse.show(hedged)}, not true/false")
    return AccountSettings(leverage, mode, not hedged, False, ts)


def funding(raw_ccxt: object, symbol: str, market_id: str, settle: str) -> list[FundingEvent]:
    """ccxt `fetch_funding_history` entries, read from their raw income rows (`GET
    /dapi/v1/income`, `/fapi/v1/income`): FUNDING_FEE only, exact decimals, in the settle coin."""
    events = []
    for i, item in enumerate(infos(raw_ccxt, symbol, f"funding {symbol}")):
        at = f"funding {symbol}[{i}]"
        row = parse.mapping(item, at)
        if row.get("incomeType") != "FUNDING_FEE":
            continue
        if row.get("symbol") != market_id:
            raise BadReply(f"{at}: for {parse.show(row.get('symbol'))}, asked for {market_id!r}")
        if row.get("asset") != settle:
            raise BadReply(f"{at}: paid in {parse.show(row.get('asset'))}, expected {settle}")
        amount = parse.num(row, "income", at)
        stamp = parse.num(row, "time", at, "positive", MAX_TIME_MS)
        events.append(FundingEvent(symbol, amount, float(stamp) / 1000, None))
    return events
