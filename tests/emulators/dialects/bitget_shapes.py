"""Bitget v2 (classic account) JSON shapes, modelled on the responses recorded in ccxt's static
tests (ts/src/test/static/response/bitget.json) and the examples in ccxt's bitget.py and
pro/bitget.py.

Every number is a string. Amounts are in the base coin on both markets: a coin-futures (inverse)
position of `total` BTC was opened at `openPriceAvg`, so its USD face is total x entry, which the
core keeps as the position's size (contracts of 1 USD); `btc()` turns a face back into coin.
"""

from __future__ import annotations

from decimal import Decimal

from tests.emulators.core.account import Account
from tests.emulators.core.model import DERIVATIVES, SPOT, ZERO, Execution, Instrument, Order, now_ms
from tests.emulators.dialects.okx_style import STATE, Json, s

PRODUCT = {"inverse": "COIN-FUTURES", "linear": "USDT-FUTURES"}


def envelope(data: object, code: str = "00000", msg: str = "success") -> Json:
    return {"code": code, "msg": msg, "requestTime": now_ms(), "data": data}


def btc(i: Instrument, qty: Decimal, price: Decimal | None) -> Decimal:
    """An amount in the core's units as Bitget's base-coin amount (inverse: face / price)."""
    if not i.inverse:
        return qty
    if not qty or price is None:
        return ZERO
    return qty / price


def contract(i: Instrument, step: Decimal, minimum: Decimal) -> Json:
    return {
        "symbol": i.id, "baseCoin": i.base, "quoteCoin": i.quote, "buyLimitPriceRatio": "0.9",
        "sellLimitPriceRatio": "0.9", "feeRateUpRatio": "0.1", "makerFeeRate": "0.0002",
        "takerFeeRate": "0.0006", "openCostUpRatio": "0.1", "supportMarginCoins": [i.settle],
        "minTradeNum": s(minimum), "priceEndStep": "1", "volumePlace": str(-step.as_tuple()
        .exponent), "pricePlace": "1", "sizeMultiplier": s(step), "symbolType": "perpetual",
        "minTradeUSDT": "5", "maxSymbolOrderNum": "200", "maxProductOrderNum": "400",
        "maxPositionNum": "150", "symbolStatus": "normal", "offTime": "-1", "limitOpenTime": "-1",
        "deliveryTime": "", "deliveryStartTime": "", "launchTime": "", "fundInterval": "8",
        "minLever": "1", "maxLever": "125", "posLimit": "0.05", "maintainTime": "",
    }  # fmt: skip


def spot_symbol(base: str, quote: str) -> Json:
    return {
        "symbol": f"{base}{quote}", "baseCoin": base, "quoteCoin": quote,
        "minTradeAmount": "0", "maxTradeAmount": "10000000000", "takerFeeRate": "0.002",
        "makerFeeRate": "0.002", "pricePrecision": "2", "quantityPrecision": "6",
        "quotePrecision": "8", "status": "online", "minTradeUSDT": "1", "buyLimitPriceRatio":
        "0.05", "sellLimitPriceRatio": "0.05",
    }  # fmt: skip


def ticker(account: Account, i: Instrument, ws: bool = False) -> Json:
    last = s(account.mark)
    row = {
        "symbol": i.id, "lastPr": last, "askPr": last, "bidPr": last, "bidSz": "10",
        "askSz": "10", "high24h": last, "low24h": last, "ts": str(now_ms()),
        "change24h": "0", "baseVolume": "1000", "quoteVolume": "65000000", "usdtVolume":
        "65000000", "openUtc": last, "changeUtc24h": "0", "indexPrice": s(account.index),
        "fundingRate": "0.0001", "holdingAmount": "1000", "deliveryStartTime": None,
        "deliveryTime": None, "deliveryStatus": "", "open24h": last, "markPrice": last,
    }  # fmt: skip
    if ws:
        row["instId"] = row.pop("symbol")
    return row


def futures_account(account: Account, coin: str) -> Json:
    """One margin coin of a futures account (`/mix/account/accounts` and the `account` channel)."""
    cash = account.wallet(DERIVATIVES, coin)
    equity = account.equity(DERIVATIVES, coin)
    free = account.available(DERIVATIVES, coin)
    upl = account.upnl(coin)
    return {
        "marginCoin": coin, "locked": s(account.order_im(coin)), "available": s(cash),
        "crossedMaxAvailable": s(free), "isolatedMaxAvailable": s(free),
        "maxTransferOut": s(free), "accountEquity": s(equity), "usdtEquity": "", "btcEquity": "",
        "crossedRiskRate": "0", "unrealizedPL": s(upl), "coupon": "0",
        "crossedUnrealizedPL": s(upl), "isolatedUnrealizedPL": "0", "assetMode": "single",
    }  # fmt: skip


def ws_account(account: Account, coin: str) -> Json:
    row = futures_account(account, coin)
    return {
        "marginCoin": coin, "frozen": row["locked"], "available": row["available"],
        "maxOpenPosAvailable": row["crossedMaxAvailable"], "maxTransferOut":
        row["maxTransferOut"], "equity": row["accountEquity"], "usdtEquity": "",
        "crossedRiskRate": "0", "unrealizedPL": row["unrealizedPL"],
    }  # fmt: skip


def leverage_account(account: Account, i: Instrument, hedge: bool) -> Json:
    lever = s(account.positions[i.id].leverage)
    return {
        **futures_account(account, i.settle), "crossedMarginLeverage": lever,
        "isolatedLongLever": lever, "isolatedShortLever": lever, "marginMode": "crossed",
        "posMode": "hedge_mode" if hedge else "one_way_mode",
    }  # fmt: skip


def spot_assets(account: Account, coin: str | None) -> list[Json]:
    rows = []
    for name, bal in account.wallets.get(SPOT, {}).items():
        if bal and coin in (None, name):
            rows.append({"coin": name, "available": s(bal), "frozen": "0", "locked": "0",
                         "limitAvailable": "0", "uTime": str(now_ms())})  # fmt: skip
    return rows


def position(account: Account, i: Instrument, hedge: bool, ws: bool = False) -> Json:
    p = account.positions[i.id]
    total = btc(i, abs(p.size), p.entry)
    upl = i.pnl(p.size, p.entry, account.mark) if p.entry else ZERO
    margin = i.value(p.size, p.entry) / p.leverage if p.entry else ZERO
    row = {
        "marginCoin": i.settle, "symbol": i.id, "holdSide": "short" if p.size < 0 else "long",
        "openDelegateSize": "0", "marginSize": s(margin), "available": s(total),
        "locked": "0", "total": s(total), "leverage": s(p.leverage), "achievedProfits": "0",
        "openPriceAvg": s(p.entry), "marginMode": "crossed",
        "posMode": "hedge_mode" if hedge else "one_way_mode", "unrealizedPL": s(upl),
        "liquidationPrice": "0", "keepMarginRate": "0.004", "markPrice": s(account.mark),
        "breakEvenPrice": s(p.entry), "totalFee": "", "deductedFee": "",
        "marginRatio": "0", "cTime": str(p.created_ms), "uTime": str(p.updated_ms),
    }  # fmt: skip
    if ws:
        row["instId"] = row.pop("symbol")
        row["posId"] = f"pos-{i.id}"
    return row


def order(o: Order, size: Decimal, hedge: bool) -> Json:
    """`/mix/order/detail`: `size` and `baseVolume` in coin, fees negative when charged."""
    i = o.instrument
    average = o.avg_price
    filled = size * o.cum_qty / o.qty if i.inverse else o.cum_qty  # coin, as asked
    return {
        "symbol": i.id, "size": s(size), "orderId": o.order_id, "clientOid": o.client_id,
        "baseVolume": s(filled), "fee": s(-o.cum_fee), "price": s(o.price),
        "priceAvg": s(average) if o.cum_qty else "", "state": STATE[o.status], "side": o.side,
        "force": "ioc" if o.tif == "IOC" else o.tif.lower(), "totalProfits": "0",
        "posSide": "net", "marginCoin": i.settle, "quoteVolume": s(o.cum_value),
        "leverage": "1", "marginMode": "crossed", "enterPointSource": "API",
        "tradeSide": f"{o.side}_single", "posMode": "hedge_mode" if hedge else "one_way_mode",
        "orderType": "market" if o.price is None else "limit", "orderSource": "normal",
        "reduceOnly": "YES" if o.reduce_only else "NO", "presetStopSurplusPrice": "",
        "presetStopLossPrice": "", "cTime": str(o.created_ms), "uTime": str(o.updated_ms),
    }  # fmt: skip


def bill(e: Execution, balance_after: Decimal) -> Json:
    """A funding settlement (`contract_settle_fee`): `amount` > 0 received."""
    return {
        "billId": f"bill-{e.exec_id}", "symbol": e.instrument.id, "amount": s(-e.fee),
        "fee": "0", "feeByCoupon": "", "businessType": "contract_settle_fee",
        "coin": e.instrument.settle, "balance": s(balance_after), "cTime": str(e.time_ms),
    }  # fmt: skip
