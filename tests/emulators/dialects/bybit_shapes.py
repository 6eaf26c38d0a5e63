"""Bybit v5 JSON shapes, modelled on the responses recorded in ccxt's static tests
(ts/src/test/static/response/bybit.json) and Bybit's docs.

Every number is a string, as Bybit sends them; empty strings where Bybit has no value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.emulators.core.account import Account
from tests.emulators.core.model import (
    DERIVATIVES,
    SPOT,
    UNIFIED,
    ZERO,
    Execution,
    Instrument,
    Order,
    now_ms,
)

Json = dict[str, Any]
EIGHT = Decimal("0.00000001")
WALLETS = {UNIFIED: "UNIFIED", SPOT: "SPOT", DERIVATIVES: "CONTRACT"}  # ours -> accountType
STATUS = {
    "new": "New",
    "partially_filled": "PartiallyFilled",
    "filled": "Filled",
    "cancelled": "Cancelled",
    "partially_filled_cancelled": "PartiallyFilledCanceled",
}
EXEC_TYPE = {"trade": "Trade", "funding": "Funding", "liquidation": "BustTrade"}


def s(value: Decimal | None) -> str:
    """Plain decimal string (no exponent), "" for None."""
    if value is None:
        return ""
    if value.as_tuple().exponent < -8:  # type: ignore[operator]
        value = value.quantize(EIGHT)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def envelope(result: object, code: int = 0, msg: str = "OK") -> Json:
    return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms()}


def side(ours: str) -> str:
    return "Buy" if ours == "buy" else "Sell"


def instrument(i: Instrument) -> Json:
    contract_type = "InversePerpetual" if i.inverse else "LinearPerpetual"
    lots = {
        "maxOrderQty": "1000000" if i.inverse else "1190.000",
        "minOrderQty": s(i.min_qty),
        "qtyStep": s(i.qty_step),
        "postOnlyMaxOrderQty": "1000000" if i.inverse else "1190.000",
        "maxMktOrderQty": "1000000" if i.inverse else "500.000",
        "minNotionalValue": "" if i.inverse else "5",
    }
    return {
        "symbol": i.id,
        "contractType": contract_type,
        "status": "Trading",
        "baseCoin": i.base,
        "quoteCoin": i.quote,
        "settleCoin": i.settle,
        "launchTime": "1585526400000",
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": "2",
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": s(i.tick), "maxPrice": "1999999.00", "tickSize": s(i.tick)},
        "lotSizeFilter": lots,
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "copyTrading": "none",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
    }


SPOT_BTCUSDT: Json = {
    "symbol": "BTCUSDT",
    "baseCoin": "BTC",
    "quoteCoin": "USDT",
    "innovation": "0",
    "status": "Trading",
    "marginTrading": "utaOnly",
    "stTag": "0",
    "lotSizeFilter": {
        "basePrecision": "0.000001",
        "quotePrecision": "0.00000001",
        "minOrderQty": "0.000048",
        "maxOrderQty": "71.73956243",
        "minOrderAmt": "1",
        "maxOrderAmt": "2000000",
    },
    "priceFilter": {"tickSize": "0.01"},
    "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
}


def spot_ticker(account: Account) -> Json:
    index = account.index
    return {
        "symbol": "BTCUSDT",
        "bid1Price": s(index - Decimal("0.01")),
        "bid1Size": "1.5",
        "ask1Price": s(index),
        "ask1Size": "0.8",
        "lastPrice": s(index),
        "prevPrice24h": s(index),
        "price24hPcnt": "0",
        "highPrice24h": s(index),
        "lowPrice24h": s(index),
        "turnover24h": "1000000",
        "volume24h": "15.5",
        "usdIndexPrice": s(index),
    }


def ticker(account: Account, i: Instrument) -> Json:
    mark, index = account.mark, account.index
    return {
        "symbol": i.id,
        "lastPrice": s(mark),
        "indexPrice": s(index),
        "markPrice": s(mark),
        "prevPrice24h": s(mark),
        "price24hPcnt": "0",
        "highPrice24h": s(mark),
        "lowPrice24h": s(mark),
        "prevPrice1h": s(mark),
        "openInterest": "500000000",
        "openInterestValue": "7692.31",
        "turnover24h": "3000.5",
        "volume24h": "195000000",
        "fundingRate": "0.0001",
        "nextFundingTime": str(now_ms() + 3_600_000),
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "",
        "deliveryTime": "0",
        "ask1Size": "12000",
        "bid1Price": s(mark - i.tick),
        "ask1Price": s(mark),
        "bid1Size": "9000",
        "basis": "",
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
    }


def coin_entry(account: Account, wallet: str, coin: str) -> Json:
    balance = account.wallet(wallet, coin)
    derivatives = wallet == account.derivatives_wallet
    usd = account.index if coin == "BTC" else Decimal(1)
    im = account.position_im(coin) if derivatives else ZERO
    realised = sum(
        (account.positions[i.id].cum_realised for i in account.instruments.values()
         if i.settle == coin),
        ZERO,
    )  # fmt: skip
    entry = {
        "coin": coin,
        "equity": s(account.equity(wallet, coin)),
        "usdValue": s(account.equity(wallet, coin) * usd),
        "walletBalance": s(balance),
        "locked": "0",
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "availableToWithdraw": s(account.available(wallet, coin)),
        "availableToBorrow": "",
        "accruedInterest": "0",
        "totalOrderIM": s(account.order_im(coin) if derivatives else ZERO),
        "totalPositionIM": s(im),
        "totalPositionMM": s(im / 200),
        "unrealisedPnl": s(account.upnl(coin) if derivatives else ZERO),
        "cumRealisedPnl": s(realised if derivatives else ZERO),
        "bonus": "0",
        "marginCollateral": True,
        "collateralSwitch": True,
    }
    if wallet == SPOT:
        entry["free"] = s(balance)
    return entry


def wallet_entry(account: Account, wallet: str) -> Json:
    entries = [coin_entry(account, wallet, c) for c in sorted(account.wallets.get(wallet, {}))]
    total = sum((Decimal(e["usdValue"]) for e in entries), ZERO)
    unified = wallet == UNIFIED
    return {
        "accountType": WALLETS[wallet],
        "accountIMRate": "0" if unified else "",
        "accountMMRate": "0" if unified else "",
        "accountLTV": "0" if unified else "",
        "totalEquity": s(total) if unified else "",
        "totalWalletBalance": s(total) if unified else "",
        "totalMarginBalance": s(total) if unified else "",
        "totalAvailableBalance": s(total) if unified else "",
        "totalPerpUPL": "0" if unified else "",
        "totalInitialMargin": "0" if unified else "",
        "totalMaintenanceMargin": "0" if unified else "",
        "coin": entries,
    }


def liq_price(account: Account, i: Instrument, override: Decimal | None) -> str:
    """Isolated-style for inverse (as Bybit shows it per position); cross for linear."""
    p = account.positions[i.id]
    if override is not None:
        return s(override)
    if p.size == 0 or p.entry is None:
        return ""
    lev, mm = p.leverage, account.maintenance
    if i.inverse:
        if p.size > 0:
            return s((p.entry * lev / (lev + 1)).quantize(i.tick))
        return "" if lev <= 1 else s((p.entry * lev / (lev - 1)).quantize(i.tick))
    n = abs(p.size) * i.contract_size
    wallet = account.wallet(account.derivatives_wallet, i.settle)
    if p.size > 0:
        liq = (n * p.entry - wallet) / (n * (1 - mm))
    else:
        liq = (wallet + n * p.entry) / (n * (1 + mm))
    return s(max(liq, ZERO).quantize(i.tick))


def positions(
    account: Account, i: Instrument, ws: bool = False, liq: Decimal | None = None
) -> list[Json]:
    p = account.positions[i.id]
    size = abs(p.size)
    im = i.value(size, p.entry) / p.leverage if p.entry else ZERO
    base: Json = {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "150",
        "symbol": i.id,
        "side": "" if p.size == 0 else ("Buy" if p.size > 0 else "Sell"),
        "size": s(size),
        "positionValue": s(i.value(size, p.entry) if p.entry else ZERO),
        "tradeMode": 1 if p.isolated else 0,
        "autoAddMargin": 0,
        "positionStatus": "Normal",
        "leverage": s(p.leverage),
        "markPrice": s(account.mark),
        "liqPrice": liq_price(account, i, liq),
        "bustPrice": liq_price(account, i, liq),
        "positionIM": s(im),
        "positionMM": s(im / 200),
        "positionBalance": s(im),
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "sessionAvgPrice": "",
        "unrealisedPnl": s(i.pnl(p.size, p.entry, account.mark) if p.entry else ZERO),
        "curRealisedPnl": s(p.cur_realised),
        "cumRealisedPnl": s(p.cum_realised),
        "adlRankIndicator": 2 if size else 0,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "createdTime": str(p.created_ms),
        "updatedTime": str(p.updated_ms),
        "seq": p.seq,
    }
    base["entryPrice" if ws else "avgPrice"] = s(p.entry) if p.entry is not None else "0"
    if ws:
        base["category"] = i.kind
    if not account.hedge_mode:
        return [base]
    return [dict(base, positionIdx=x, side="", size="0", positionValue="0") for x in (1, 2)]


def order(o: Order, ws: bool = False) -> Json:
    avg = o.avg_price
    shape: Json = {
        "orderId": o.order_id,
        "orderLinkId": o.client_id,
        "blockTradeId": "",
        "symbol": o.instrument.id,
        "price": s(o.price) if o.price is not None else "0",
        "qty": s(o.qty),
        "side": side(o.side),
        "isLeverage": "",
        "positionIdx": 0,
        "orderStatus": STATUS[o.status],
        "cancelType": "CancelByUser" if o.status == "cancelled" else "UNKNOWN",
        "rejectReason": "EC_NoError",
        "avgPrice": s(avg.quantize(Decimal("0.01"))) if avg is not None else "0",
        "leavesQty": s(o.qty - o.cum_qty if o.open else ZERO),
        "leavesValue": "0",
        "cumExecQty": s(o.cum_qty),
        "cumExecValue": s(o.cum_value),
        "cumExecFee": s(o.cum_fee),
        "cumFeeDetail": {o.instrument.settle: s(o.cum_fee)} if o.cum_fee else {},
        "timeInForce": o.tif,
        "orderType": "Market" if o.price is None else "Limit",
        "stopOrderType": "",
        "orderIv": "",
        "triggerPrice": "0",
        "takeProfit": "0",
        "stopLoss": "0",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": "",
        "reduceOnly": o.reduce_only,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "UNKNOWN",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "placeType": "",
        "createdTime": str(o.created_ms),
        "updatedTime": str(o.updated_ms),
    }
    if ws:
        shape["category"] = o.instrument.kind
    return shape


def execution(e: Execution, ws: bool = False) -> Json:
    o = e.order
    shape: Json = {
        "symbol": e.instrument.id,
        "orderId": o.order_id if o else "",
        "orderLinkId": o.client_id if o else "",
        "side": side(e.side),
        "orderPrice": s(o.price) if o and o.price else "0",
        "orderQty": s(o.qty) if o else "0",
        "leavesQty": s(o.qty - o.cum_qty) if o else "0",
        "createType": "CreateByUser",
        "orderType": ("Market" if o.price is None else "Limit") if o else "UNKNOWN",
        "stopOrderType": "",
        "execFee": s(e.fee),
        "execId": e.exec_id,
        "execPrice": s(e.price),
        "execQty": s(e.qty),
        "execType": EXEC_TYPE[e.kind],
        "execValue": s(e.value),
        "execTime": str(e.time_ms),
        "feeCurrency": "",
        "isMaker": False,
        "feeRate": s(e.fee_rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": s(e.price),
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": s(e.closed_size),
        "seq": 1,
        "extraFees": "",
    }
    if ws:
        shape["category"] = e.instrument.kind
        shape["isLeverage"] = ""
    return shape


def coin_info(coin: str) -> Json:
    chain = {"chainType": coin, "confirmation": "1", "withdrawFee": "0.0005", "depositMin": "0",
             "withdrawMin": "0.001", "chain": coin, "chainDeposit": "1", "chainWithdraw": "1",
             "minAccuracy": "8", "withdrawPercentageFee": "0", "contractAddress": ""}  # fmt: skip
    return {"name": coin, "coin": coin, "remainAmount": "1000000", "chains": [chain]}
