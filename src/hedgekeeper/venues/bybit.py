"""Every Bybit quirk the hedge depends on (ccxt 4.5, Bybit v5 API).

- Equity: REST `fetch_balance()['total']` is the wallet balance WITHOUT unrealised PnL; the equity
  is read from `info` (`result.list[].coin[].equity`), the coin asked for by name so that a coin
  missing from the reply is a `BadReply`, never a zero.
- Accounts: on a unified trading account (UTA 2.0, `unifiedMarginStatus` >= 5) spot and inverse
  collateral share the UNIFIED wallet (`Collateral.unified`, `spot()` is that wallet's equity and
  the coin is counted once); UTA 1.0 keeps inverse in CONTRACT; classic accounts use SPOT and
  CONTRACT. A transfer within one wallet is a no-op.
- Positions need the symbol (ccxt asks for linear ones otherwise); category inverse.
- Settings: one-way mode (110025 "not modified" is success), cross/isolated (account-wide on a
  UTA, set only when it differs; 110026 on classic), leverage (110043 "not modified" is success).
- Orders: `clientOrderId` -> `orderLinkId`; a reused one is 110072 -> `DuplicateClientId`; an
  order is found again by `orderLinkId` among open, then closed and cancelled orders.
- Funding: `execFee` of `execType=Funding` executions, positive when paid, in the settle coin
  (ccxt labels BTCUSD's in USD).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    FundingEvent,
    MarketSpec,
    OrderRequest,
    Stamped,
)
from hedgekeeper.venues import ccxt_parse as parse
from hedgekeeper.venues.base import BadReply, Reading, SpotReading, VenueError
from hedgekeeper.venues.ccxt_quirks import Exchange, Quirks, calling
from hedgekeeper.venues.ccxt_venue import CcxtVenue

RET_CODE = re.compile(r'"retCode"\s*:\s*"?(-?\d+)')
MARGIN_MODES = {"REGULAR_MARGIN": "cross", "ISOLATED_MARGIN": "isolated",
                "PORTFOLIO_MARGIN": "portfolio"}  # fmt: skip
UNIFIED_STATE = ("enableUnifiedMargin", "enableUnifiedAccount", "unifiedMarginStatus")


def wallet_coin(info: object, account: str, coin: str) -> Mapping[str, object]:
    """The `coin` entry of the `account` wallet in a REST reply (dict) or a wallet push (list)."""
    where = f"{account} wallet"
    if isinstance(info, Mapping):
        result = parse.mapping(info.get("result"), f"{where}: result")
        info = result.get("list")
    for i, row in enumerate(parse.items(info, f"{where}: list")):
        wallet = parse.mapping(row, f"{where}: list[{i}]")
        if wallet.get("accountType") != account:
            continue
        for j, entry in enumerate(parse.items(wallet.get("coin"), f"{where}: coin")):
            found = parse.mapping(entry, f"{where}: coin[{j}]")
            if found.get("coin") == coin:
                return found
        raise BadReply(f"{where}: {coin} missing from the reply")
    raise BadReply(f"{where}: not in the reply")


def parse_coin(entry: Mapping[str, object], coin: str, ts: float, unified: bool) -> Collateral:
    where = f"wallet {coin}"
    wallet = parse.num(entry, "walletBalance", where)
    equity = parse.num(entry, "equity", where)
    free = parse.opt_num(entry, "availableToWithdraw", where, "nonneg")
    if free is None:  # deprecated on UTA: what the equity leaves after margin and locks
        held = sum(
            (parse.opt_num(entry, k, where, "nonneg") or parse.ZERO
             for k in ("totalPositionIM", "totalOrderIM", "locked")),
            parse.ZERO,
        )  # fmt: skip
        free = max(equity - held, parse.ZERO)
    return Collateral(wallet=wallet, equity=equity, free=free, ts=ts, unified=unified)


def balance_info(raw: object) -> object:
    return parse.mapping(raw, "balance").get("info")


def parse_settings(
    positions: object, account_info: object, symbol: str, unified: bool, ts: float
) -> AccountSettings:
    """Leverage and position mode from `fetch_positions([symbol])`; margin mode from the account
    (UTA: `/v5/account/info` marginMode) or the position's tradeMode (classic)."""
    where = f"settings {symbol}"
    leverage: Decimal | None = None
    indexes: set[str] = set()
    trade_mode: str | None = None
    for i, item in enumerate(parse.items(positions, f"{where}: positions")):
        p = parse.mapping(item, f"{where}: positions[{i}]")
        parse.check_symbol(p, symbol, f"{where}: positions[{i}]")
        info = parse.mapping(p.get("info"), f"{where}: positions[{i}].info")
        leverage = parse.num(info, "leverage", where, "positive", Decimal(1000))
        indexes.add(parse.label(info.get("positionIdx")))
        trade_mode = parse.label(info.get("tradeMode"))
    if not indexes <= {"0", "1", "2"}:
        raise BadReply(f"{where}: unknown positionIdx in {sorted(indexes)}")
    one_way = None if not indexes else indexes == {"0"}
    if account_info is not None:
        result = parse.mapping(parse.mapping(account_info, where).get("result"), f"{where}: result")
        mode = MARGIN_MODES.get(parse.label(result.get("marginMode")))
        if mode is None:
            raise BadReply(f"{where}: unknown marginMode {parse.show(result.get('marginMode'))}")
    else:
        mode = {"0": "cross", "1": "isolated"}.get(trade_mode or "")
    return AccountSettings(leverage, mode, one_way, unified, ts)


def parse_funding(raw: object, symbol: str, market_id: str) -> list[FundingEvent]:
    """Funding executions (ccxt income entries); `execFee` > 0 was paid, so received = -execFee."""
    events = []
    for i, item in enumerate(parse.items(raw, f"funding {symbol}")):
        at = f"funding {symbol}[{i}]"
        info = parse.mapping(parse.mapping(item, at).get("info"), f"{at}.info")
        if info.get("symbol") != market_id:
            raise BadReply(f"{at}: for {parse.show(info.get('symbol'))}, asked for {market_id!r}")
        if info.get("execType", "Funding") != "Funding":
            continue
        paid = parse.num(info, "execFee", at)
        stamp = parse.num(info, "execTime", at, "positive", Decimal(10) ** 14)
        rate = parse.opt_num(info, "feeRate", at)
        events.append(FundingEvent(symbol, -paid, float(stamp) / 1000, rate))
    return events


def _leverage_arg(leverage: Decimal) -> int | float:
    return int(leverage) if leverage == leverage.to_integral_value() else float(leverage)


class BybitQuirks(Quirks):
    ccxt_options: dict[str, Any] = {  # noqa: RUF012 - copied into each client
        "fetchMarkets": {"types": ["spot", "linear", "inverse"]},  # thousands of options: skip
    }
    duplicate_codes = frozenset({"110072"})
    unchanged_codes = frozenset({"110043", "110025", "110026"})

    def __init__(self) -> None:
        self.spot_account = "SPOT"
        self.derivatives_account = "CONTRACT"

    def error_code(self, exc: BaseException) -> str | None:
        found = RET_CODE.search(str(exc))
        return found.group(1) if found else None

    async def on_open(self, venue: CcxtVenue) -> None:
        margin, account = await venue.read(lambda ex: ex.is_unified_enabled())
        status = venue.exchange.options.get("unifiedMarginStatus") or 0
        uta = bool(margin or account)
        self.spot_account = "UNIFIED" if uta else "SPOT"
        self.derivatives_account = "UNIFIED" if uta and status >= 5 else "CONTRACT"
        unified = self.spot_account == self.derivatives_account
        if venue.cfg.unified is not None and venue.cfg.unified != unified:
            raise VenueError(
                f"{venue.name}: configured unified = {venue.cfg.unified}, but the exchange says"
                f" spot is in {self.spot_account} and inverse in {self.derivatives_account}"
            )
        venue.unified = unified

    def share_state(self, rest: Exchange, pro: Exchange) -> None:
        for key in UNIFIED_STATE:
            pro.options[key] = rest.options.get(key)

    def order_params(self, request: OrderRequest) -> dict[str, Any]:
        return {**super().order_params(request), "positionIdx": 0}

    async def spot(self, venue: CcxtVenue, asset: str) -> Stamped:
        raw = await venue.read(lambda ex: ex.fetch_balance({"type": "spot", "coin": asset}))
        entry = wallet_coin(balance_info(raw), self.spot_account, asset)
        field = "equity" if self.spot_account == "UNIFIED" else "walletBalance"
        return Stamped(parse.num(entry, field, f"spot {asset}"), venue.now())

    async def collateral(self, venue: CcxtVenue, market: MarketSpec) -> Collateral:
        sub = market.kind.value
        params = {"type": "swap", "subType": sub, "coin": market.settle}
        raw = await venue.read(lambda ex: ex.fetch_balance(params))
        entry = wallet_coin(balance_info(raw), self.derivatives_account, market.settle)
        return parse_coin(entry, market.settle, venue.now(), venue.unified)

    async def settings(self, venue: CcxtVenue, symbol: str) -> AccountSettings:
        positions = await venue.read(lambda ex: ex.fetch_positions([symbol]))
        account = None
        if self.spot_account == "UNIFIED":
            account = await venue.read(lambda ex: ex.private_get_v5_account_info())
        return parse_settings(positions, account, symbol, venue.unified, venue.now())

    async def ensure_settings(
        self, venue: CcxtVenue, symbol: str, leverage: Decimal, margin_mode: str
    ) -> None:
        await venue.write(lambda ex: ex.set_position_mode(False, symbol), unchanged=True)
        lev = _leverage_arg(leverage)
        if self.spot_account == "UNIFIED":  # account-wide: change it only when it differs
            if (await self.settings(venue, symbol)).margin_mode != margin_mode:
                await venue.write(lambda ex: ex.set_margin_mode(margin_mode))
        else:
            params = {"leverage": lev}
            await venue.write(
                lambda ex: ex.set_margin_mode(margin_mode, symbol, params), unchanged=True
            )
        await venue.write(lambda ex: ex.set_leverage(lev, symbol), unchanged=True)

    async def find_order(self, venue: CcxtVenue, symbol: str, client_id: str) -> object | None:
        params = {"orderLinkId": client_id}
        for fetch in ("fetch_open_orders", "fetch_canceled_and_closed_orders"):
            found = await venue.read(calling(fetch, symbol, None, None, dict(params)))
            for order in parse.items(found, f"orders {client_id}"):
                if parse.mapping(order, "order").get("clientOrderId") == client_id:
                    return order
        return None

    async def cancel(self, venue: CcxtVenue, symbol: str, client_id: str, order: object) -> None:
        await venue.write(lambda ex: ex.cancel_order(None, symbol, {"orderLinkId": client_id}))

    async def funding(self, venue: CcxtVenue, symbol: str, since: float) -> list[FundingEvent]:
        market_id = venue.exchange.market(symbol)["id"]
        raw = await venue.read(lambda ex: ex.fetch_funding_history(symbol, int(since * 1000)))
        return parse_funding(raw, symbol, market_id)

    async def transfer(self, venue: CcxtVenue, asset: str, amount: Decimal) -> None:
        if self.spot_account == self.derivatives_account:
            return  # one wallet: the coin is already collateral
        source = self.spot_account.lower()
        await venue.write(lambda ex: ex.transfer(asset, float(amount), source, "contract"))

    def balance_streams(
        self, market: MarketSpec, asset: str
    ) -> list[tuple[dict[str, Any], Callable[[object, float], list[Reading]]]]:
        settle, derivatives, spot_wallet = (
            market.settle,
            self.derivatives_account,
            self.spot_account,
        )
        unified = spot_wallet == derivatives

        def spot(raw: object, ts: float) -> list[Reading]:
            entry = wallet_coin(balance_info(raw), spot_wallet, asset)
            field = "equity" if spot_wallet == "UNIFIED" else "walletBalance"
            return [SpotReading(asset, Stamped(parse.num(entry, field, f"spot {asset}"), ts))]

        def collateral(raw: object, ts: float) -> list[Reading]:
            entry = wallet_coin(balance_info(raw), derivatives, settle)
            readings: list[Reading] = [parse_coin(entry, settle, ts, unified)]
            return readings + spot(raw, ts) if unified else readings

        if unified:
            return [({}, collateral)]
        return [({"type": "swap", "subType": market.kind.value}, collateral),
                ({"type": "spot"}, spot)]  # fmt: skip
