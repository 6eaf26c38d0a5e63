"""Binance JSON shapes (COIN-M dapi, USDⓈ-M fapi, spot api, sapi, user-data and market streams).

Modelled on Binance's API documentation and the responses ccxt records in its static tests
(ts/src/test/static/response/binance.json). Every number is a string, as Binance sends them,
except ids and times (integers) and a few booleans. Inputs are plain values, so the dialect can
feed them from whatever the emulator core keeps.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Json = dict[str, Any]
EIGHT = Decimal("0.00000001")
COINM_ID, USDM_ID, SPOT_ID = "BTCUSD_PERP", "BTCUSDT", "BTCUSDT"
COINM_CONTRACT = Decimal(100)  # USD per BTCUSD_PERP contract
USDM_STEP, USDM_MIN_NOTIONAL = Decimal("0.001"), Decimal(100)
TICK = Decimal("0.1")


def s(value: Decimal | None, places: int = 8) -> str:
    """Binance's fixed-point string (no exponent; "0" for None)."""
    if value is None:
        return "0"
    text = format(value.quantize(Decimal(1).scaleb(-places)), "f")
    return "0" if Decimal(text) == 0 else text


def error(code: int, msg: str) -> Json:
    return {"code": code, "msg": msg}


ERRORS = {
    -1003: "Too many requests; current limit is 2400 requests per minute.",
    -1007: "Timeout waiting for response from backend server. Send status unknown;"
    " execution status unknown.",
    -1022: "Signature for this request is not valid.",
    -2013: "Order does not exist.",
    -2015: "Invalid API-key, IP, or permissions for action.",
    -2019: "Margin is insufficient.",
    -2022: "ReduceOnly Order is rejected.",
    -4046: "No need to change margin type.",
    -4059: "No need to change position side.",
    -4116: "ClientOrderId is duplicated.",
    -4164: "Order's notional must be no smaller than 100 (unless you choose reduce only).",
}


def signature_ok(query: str, secret: str) -> bool:
    """`...&signature=<hex>` last, HMAC-SHA256 of everything before it (query or form body)."""
    payload, sep, sig = query.rpartition("&signature=")
    if not sep:
        return False
    want = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, sig)


# -- markets --------------------------------------------------------------------------------


def _filters(tick: Decimal, step: Decimal, min_qty: Decimal, notional: bool) -> list[Json]:
    filters: list[Json] = [
        {"filterType": "PRICE_FILTER", "minPrice": "1000", "maxPrice": "4529764",
         "tickSize": s(tick, 1)},
        {"filterType": "LOT_SIZE", "minQty": s(min_qty, 3), "maxQty": "1000",
         "stepSize": s(step, 3)},
        {"filterType": "MARKET_LOT_SIZE", "minQty": s(min_qty, 3), "maxQty": "120",
         "stepSize": s(step, 3)},
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500",
         "multiplierDecimal": 4},
    ]  # fmt: skip
    if notional:
        filters.append({"filterType": "MIN_NOTIONAL", "notional": s(USDM_MIN_NOTIONAL, 0)})
    return filters


def coinm_exchange_info() -> Json:
    """`GET /dapi/v1/exchangeInfo`: the BTCUSD perpetual, 100 USD contracts, whole contracts."""
    return {
        "timezone": "UTC", "serverTime": 0, "rateLimits": [], "exchangeFilters": [],
        "symbols": [{
            "symbol": COINM_ID, "pair": "BTCUSD", "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000, "onboardDate": 1597042800000,
            "contractStatus": "TRADING", "contractSize": 100, "marginAsset": "BTC",
            "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
            "baseAsset": "BTC", "quoteAsset": "USD", "pricePrecision": 1,
            "quantityPrecision": 0, "baseAssetPrecision": 8, "quotePrecision": 8,
            "equalQtyPrecision": 4, "triggerProtect": "0.0500", "underlyingType": "COIN",
            "underlyingSubType": [], "liquidationFee": "0.015000",
            "marketTakeBound": "0.05",
            "filters": _filters(TICK, Decimal(1), Decimal(1), notional=False),
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                           "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        }],
    }  # fmt: skip


def usdm_exchange_info() -> Json:
    """`GET /fapi/v1/exchangeInfo`: BTCUSDT perpetual, amounts in BTC (0.001), 100 USDT minimum."""
    return {
        "timezone": "UTC", "serverTime": 0, "futuresType": "U_MARGINED", "rateLimits": [],
        "exchangeFilters": [], "assets": [{"asset": "USDT", "marginAvailable": True}],
        "symbols": [{
            "symbol": USDM_ID, "pair": "BTCUSDT", "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
            "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
            "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT",
            "pricePrecision": 2, "quantityPrecision": 3, "baseAssetPrecision": 8,
            "quotePrecision": 8, "underlyingType": "COIN", "underlyingSubType": ["PoW"],
            "triggerProtect": "0.0500", "liquidationFee": "0.012500",
            "marketTakeBound": "0.05", "maxMoveOrderLimit": 10000,
            "filters": _filters(TICK, USDM_STEP, USDM_STEP, notional=True),
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                           "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        }],
    }  # fmt: skip


def spot_exchange_info() -> Json:
    """`GET /api/v3/exchangeInfo`: BTCUSDT only (the spot wallet is all the daemon reads)."""
    return {
        "timezone": "UTC", "serverTime": 0, "rateLimits": [], "exchangeFilters": [],
        "symbols": [{
            "symbol": SPOT_ID, "status": "TRADING", "baseAsset": "BTC",
            "baseAssetPrecision": 8, "quoteAsset": "USDT", "quotePrecision": 8,
            "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8, "orderTypes": ["LIMIT", "MARKET"],
            "icebergAllowed": True, "ocoAllowed": True, "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": True, "permissions": [], "permissionSets": [["SPOT"]],
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                 "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
                 "stepSize": "0.00001000"},
            ],
        }],
    }  # fmt: skip


# -- accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssetRow:
    """One futures wallet: what Binance shows of it."""

    asset: str
    wallet: Decimal
    unrealised: Decimal
    initial_margin: Decimal
    available: Decimal
    updated_ms: int  # 0 for a never-used asset


@dataclass(frozen=True, slots=True)
class PositionRow:
    symbol: str
    amount: Decimal  # signed: contracts on COIN-M, BTC on USDⓈ-M
    entry: Decimal
    mark: Decimal
    unrealised: Decimal
    leverage: int
    isolated: bool
    liquidation: Decimal
    notional: Decimal  # signed: BTC on COIN-M, USDT on USDⓈ-M
    updated_ms: int


def _asset(a: AssetRow, linear: bool) -> Json:
    margin = a.wallet + a.unrealised
    row = {
        "asset": a.asset, "walletBalance": s(a.wallet), "unrealizedProfit": s(a.unrealised),
        "marginBalance": s(margin), "maintMargin": s(a.initial_margin / 2),
        "initialMargin": s(a.initial_margin), "positionInitialMargin": s(a.initial_margin),
        "openOrderInitialMargin": "0.00000000", "maxWithdrawAmount": s(a.available),
        "crossWalletBalance": s(a.wallet), "crossUnPnl": s(a.unrealised),
        "availableBalance": s(a.available), "updateTime": a.updated_ms,
    }  # fmt: skip
    if linear:
        row["marginAvailable"] = True
    return row


def futures_account(linear: bool, assets: list[AssetRow], positions: list[PositionRow]) -> Json:
    """`GET /dapi/v1/account` (every coin, every symbol) or `GET /fapi/v3/account` (only
    assets and symbols in use: v3 lists positions with an amount or open orders)."""
    total_wallet = sum((a.wallet for a in assets), Decimal(0))
    total_upl = sum((a.unrealised for a in assets), Decimal(0))
    body: Json = {
        "feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True,
        "updateTime": 0, "assets": [_asset(a, linear) for a in assets],
    }  # fmt: skip
    rows = []
    for p in positions:
        row = {
            "symbol": p.symbol, "positionAmt": s(p.amount, 3 if linear else 0),
            "initialMargin": "0", "maintMargin": "0", "unrealizedProfit": s(p.unrealised),
            "positionInitialMargin": "0", "openOrderInitialMargin": "0",
            "positionSide": "BOTH", "updateTime": p.updated_ms,
        }  # fmt: skip
        if linear:
            if not p.amount:
                continue
            row["notional"] = s(p.notional)
        else:
            row.update(leverage=str(p.leverage), isolated=p.isolated, maxQty="1000",
                       entryPrice=s(p.entry, 1), notionalValue=s(p.notional))  # fmt: skip
        rows.append(row)
    body["positions"] = rows
    if linear:
        body.update(totalWalletBalance=s(total_wallet), totalUnrealizedProfit=s(total_upl),
                    totalMarginBalance=s(total_wallet + total_upl),
                    availableBalance=s(sum((a.available for a in assets), Decimal(0))))  # fmt: skip
    return body


def position_risk(linear: bool, positions: list[PositionRow]) -> list[Json]:
    """`GET /dapi/v1/positionRisk` (every symbol, flat ones with entryPrice 0) or
    `GET /fapi/v3/positionRisk` (only symbols with a position)."""
    rows = []
    for p in positions:
        if linear and not p.amount:
            continue
        entry = p.entry if p.amount else Decimal(0)  # a flat row says entryPrice 0.0
        row: Json = {
            "symbol": p.symbol, "positionSide": "BOTH",
            "positionAmt": s(p.amount, 3 if linear else 0), "entryPrice": s(entry, 1),
            "breakEvenPrice": s(entry, 1), "markPrice": s(p.mark),
            "unRealizedProfit": s(p.unrealised), "liquidationPrice": s(p.liquidation, 1),
            "isolatedMargin": "0", "isolatedWallet": "0", "updateTime": p.updated_ms,
        }  # fmt: skip
        if linear:
            row.update(notional=s(p.notional), marginAsset="USDT", initialMargin="0",
                       maintMargin="0", adl=0, bidNotional="0", askNotional="0")  # fmt: skip
        else:
            row.update(leverage=str(p.leverage), maxQty="1000",
                       marginType="isolated" if p.isolated else "cross",
                       isAutoAddMargin="false", notionalValue=s(p.notional))  # fmt: skip
        rows.append(row)
    return rows


def symbol_config(symbol: str, leverage: int, isolated: bool) -> list[Json]:
    """`GET /fapi/v1/symbolConfig?symbol=...`."""
    return [{"symbol": symbol, "marginType": "ISOLATED" if isolated else "CROSSED",
             "isAutoAddMargin": "false", "leverage": leverage,
             "maxNotionalValue": "1000000"}]  # fmt: skip


def leverage_brackets(linear: bool, symbol: str) -> Json | list[Json]:
    """`GET /fapi/v1/leverageBracket` (list of {symbol, brackets}) or `/dapi/v2/leverageBracket`
    (list of {symbol, brackets} with qty floors)."""
    floor, cap = ("notionalFloor", "notionalCap") if linear else ("qtyFloor", "qtyCap")
    return [{"symbol": symbol, "brackets": [
        {"bracket": 1, "initialLeverage": 125, floor: 0, cap: 50000,
         "maintMarginRatio": 0.004, "cum": 0.0},
    ]}]  # fmt: skip


def spot_account(balances: dict[str, Decimal], locked: dict[str, Decimal]) -> Json:
    """`GET /api/v3/account`: every asset listed (omitZeroBalances defaults to false)."""
    return {
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
        "sellerCommission": 0, "canTrade": True, "canWithdraw": True, "canDeposit": True,
        "brokered": False, "requireSelfTradePrevention": False, "preventSor": False,
        "updateTime": 0, "accountType": "SPOT", "permissions": ["SPOT"], "uid": 354937868,
        "balances": [{"asset": a, "free": s(v), "locked": s(locked.get(a, Decimal(0)))}
                     for a, v in balances.items()],
    }  # fmt: skip


def premium_index(symbol: str, pair: str | None, mark: Decimal, index: Decimal, rate: Decimal,
                  next_funding_ms: int, now: int) -> Json:  # fmt: skip
    """`GET /dapi/v1/premiumIndex` row (a list on COIN-M) / `/fapi/v1/premiumIndex` (an object)."""
    row = {"symbol": symbol, "markPrice": s(mark), "indexPrice": s(index),
           "estimatedSettlePrice": s(index), "lastFundingRate": s(rate),
           "interestRate": "0.00010000", "nextFundingTime": next_funding_ms,
           "time": now}  # fmt: skip
    if pair is not None:
        row["pair"] = pair
    return row


def income_row(symbol: str, asset: str, amount: Decimal, time_ms: int, tran_id: int) -> Json:
    return {"symbol": symbol, "incomeType": "FUNDING_FEE", "income": s(amount), "asset": asset,
            "info": "FUNDING_FEE", "time": time_ms, "tranId": tran_id, "tradeId": ""}  # fmt: skip


# -- orders -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderRow:
    order_id: int
    client_id: str
    symbol: str
    side: str  # BUY | SELL
    kind: str  # MARKET | LIMIT
    qty: Decimal
    price: Decimal | None
    filled: Decimal
    average: Decimal | None
    status: str  # NEW | PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED
    reduce_only: bool
    time_in_force: str
    created_ms: int
    updated_ms: int
    cum: Decimal  # COIN-M: cumBase (BTC); USDⓈ-M: cumQuote (USDT)


def order(linear: bool, o: OrderRow) -> Json:
    """`POST /dapi/v1/order` with newOrderRespType RESULT, `GET .../order`, ORDER lists."""
    places = 3 if linear else 0
    body: Json = {
        "orderId": o.order_id, "symbol": o.symbol, "status": o.status,
        "clientOrderId": o.client_id, "price": s(o.price or Decimal(0), 1),
        "avgPrice": s(o.average or Decimal(0), 1), "origQty": s(o.qty, places),
        "executedQty": s(o.filled, places), "cumQty": s(o.filled, places),
        "timeInForce": o.time_in_force, "type": o.kind, "reduceOnly": o.reduce_only,
        "closePosition": False, "side": o.side, "positionSide": "BOTH", "stopPrice": "0",
        "workingType": "CONTRACT_PRICE", "priceProtect": False, "origType": o.kind,
        "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0,
        "time": o.created_ms, "updateTime": o.updated_ms,
    }  # fmt: skip
    if linear:
        body["cumQuote"] = s(o.cum)
    else:
        body["pair"], body["cumBase"] = "BTCUSD", s(o.cum)
    return body


def transfer_reply(tran_id: int) -> Json:
    return {"tranId": tran_id}


# -- streams ----------------------------------------------------------------------------------


PushedPosition = tuple[str, Decimal, Decimal, Decimal, bool]


def account_update(reason: str, now: int, wallets: list[tuple[str, Decimal]],
                   positions: list[PushedPosition]) -> Json:  # fmt: skip
    """Futures user-data ACCOUNT_UPDATE. `wallets`: (asset, wallet balance) that changed;
    `positions`: (symbol, signed amount, entry, unrealised, isolated) that changed."""
    return {
        "e": "ACCOUNT_UPDATE", "E": now, "T": now,
        "a": {
            "m": reason,
            "B": [{"a": a, "wb": s(w), "cw": s(w), "bc": "0"} for a, w in wallets],
            "P": [{"s": sym, "pa": s(amt, 3), "ep": s(ep, 1), "bep": s(ep, 1), "cr": "0",
                   "up": s(up), "mt": "isolated" if iso else "cross", "iw": "0", "ps": "BOTH"}
                  for sym, amt, ep, up, iso in positions],
        },
    }  # fmt: skip


def order_trade_update(linear: bool, o: OrderRow, last_qty: Decimal, last_price: Decimal,
                       fee: Decimal, fee_asset: str, execution: str, now: int) -> Json:  # fmt: skip
    """Futures user-data ORDER_TRADE_UPDATE for one state change of an order."""
    places = 3 if linear else 0
    return {
        "e": "ORDER_TRADE_UPDATE", "E": now, "T": now,
        "o": {
            "s": o.symbol, "c": o.client_id, "S": o.side, "o": o.kind, "f": o.time_in_force,
            "q": s(o.qty, places), "p": s(o.price or Decimal(0), 1),
            "ap": s(o.average or Decimal(0), 1), "sp": "0", "x": execution, "X": o.status,
            "i": o.order_id, "l": s(last_qty, places), "z": s(o.filled, places),
            "L": s(last_price, 1), "N": fee_asset, "n": s(fee), "T": now, "t": o.order_id,
            "b": "0", "a": "0", "m": False, "R": o.reduce_only, "wt": "CONTRACT_PRICE",
            "ot": o.kind, "ps": "BOTH", "cp": False, "rp": "0", "pP": False, "si": 0,
            "ss": 0, "V": "NONE", "pm": "NONE", "gtd": 0,
        },
    }  # fmt: skip


def mark_price_update(symbol: str, mark: Decimal, index: Decimal, rate: Decimal,
                      next_funding_ms: int, now: int) -> Json:  # fmt: skip
    """`<symbol>@markPrice@1s` push."""
    return {"e": "markPriceUpdate", "E": now, "s": symbol, "p": s(mark), "i": s(index),
            "P": s(index), "r": s(rate), "T": next_funding_ms}  # fmt: skip


def outbound_account_position(now: int, balances: list[tuple[str, Decimal, Decimal]]) -> Json:
    """Spot user-data push (sent on every balance change): (asset, free, locked)."""
    return {"e": "outboundAccountPosition", "E": now, "u": now,
            "B": [{"a": a, "f": s(f), "l": s(lk)} for a, f, lk in balances]}  # fmt: skip


def balance_update(now: int, asset: str, delta: Decimal) -> Json:
    """Spot user-data push for a deposit, withdrawal or transfer (with outboundAccountPosition)."""
    return {"e": "balanceUpdate", "E": now, "a": asset, "d": s(delta), "T": now}


def ws_api_event(subscription_id: int, event: Json) -> Json:
    """Spot user data over the WebSocket API: each event wrapped with its subscription id."""
    return {"subscriptionId": subscription_id, "event": event}


def ws_api_reply(request_id: str, result: Json | None, status: int = 200) -> Json:
    return {"id": request_id, "status": status, "result": result,
            "rateLimits": []}  # fmt: skip


def listen_key_expired(now: int, listen_key: str) -> Json:
    return {"e": "listenKeyExpired", "E": now, "listenKey": listen_key}
