"""Bybit v5 JSON shapes, modelled on the responses recorded in ccxt's static tests and Bybit's docs.

Every number is a string, as Bybit sends them; empty strings where Bybit has no value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.emulators.bybit_v5_state import (
    INVERSE_SYMBOL,
    MIN_QTY,
    QTY_STEP,
    TICK,
    ZERO,
    Account,
    Execution,
    Order,
    now_ms,
)

Json = dict[str, Any]
EIGHT = Decimal("0.00000001")


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


def _contract(
    symbol: str, contract_type: str, quote: str, settle: str, lots: Json, tick: str
) -> Json:
    return {
        "symbol": symbol,
        "contractType": contract_type,
        "status": "Trading",
        "baseCoin": "BTC",
        "quoteCoin": quote,
        "settleCoin": settle,
        "launchTime": "1585526400000",
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": "2",
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": tick, "maxPrice": "1999999.00", "tickSize": tick},
        "lotSizeFilter": lots,
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "copyTrading": "none",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
    }


def instruments(category: str) -> list[Json]:
    if category == "spot":
        return [
            {
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
        ]
    if category == "linear":
        lots = {
            "maxOrderQty": "1190.000",
            "minOrderQty": "0.001",
            "qtyStep": "0.001",
            "postOnlyMaxOrderQty": "1190.000",
            "maxMktOrderQty": "500.000",
            "minNotionalValue": "5",
        }
        return [_contract("BTCUSDT", "LinearPerpetual", "USDT", "USDT", lots, "0.10")]
    if category == "inverse":
        lots = {
            "maxOrderQty": "1000000",
            "minOrderQty": s(MIN_QTY),
            "qtyStep": s(QTY_STEP),
            "postOnlyMaxOrderQty": "1000000",
            "maxMktOrderQty": "1000000",
            "minNotionalValue": "",
        }
        return [_contract(INVERSE_SYMBOL, "InversePerpetual", "USD", "BTC", lots, s(TICK))]
    return []


def ticker(account: Account, category: str) -> Json:
    mark, index = account.mark, account.index
    if category == "spot":
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
    symbol = INVERSE_SYMBOL if category == "inverse" else "BTCUSDT"
    return {
        "symbol": symbol,
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
        "bid1Price": s(mark - TICK),
        "ask1Price": s(mark),
        "bid1Size": "9000",
        "basis": "",
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
    }


def coin_entry(account: Account, wallet_type: str, coin: str) -> Json:
    balance = account.wallet(wallet_type, coin)
    equity = account.coin_equity(wallet_type, coin)
    derivatives = wallet_type == account.derivatives_account and coin == "BTC"
    usd = account.index if coin == "BTC" else Decimal(1)
    entry = {
        "coin": coin,
        "equity": s(equity),
        "usdValue": s(equity * usd),
        "walletBalance": s(balance),
        "locked": "0",
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "availableToWithdraw": s(account.available(wallet_type, coin)),
        "availableToBorrow": "",
        "accruedInterest": "0",
        "totalOrderIM": s(account.order_im() if derivatives else ZERO),
        "totalPositionIM": s(account.position_im() if derivatives else ZERO),
        "totalPositionMM": s(account.position_im() / 200 if derivatives else ZERO),
        "unrealisedPnl": s(account.upnl() if derivatives else ZERO),
        "cumRealisedPnl": s(account.position.cum_realised if derivatives else ZERO),
        "bonus": "0",
        "marginCollateral": True,
        "collateralSwitch": True,
    }
    if wallet_type == "SPOT":
        entry["free"] = s(balance)
    return entry


def wallet_entry(account: Account, wallet_type: str, omit: frozenset[str] = frozenset()) -> Json:
    coins = [c for c in sorted(account.wallets.get(wallet_type, {})) if c not in omit]
    entries = [coin_entry(account, wallet_type, c) for c in coins]
    total = sum((Decimal(e["usdValue"]) for e in entries), ZERO)
    unified = wallet_type == "UNIFIED"
    return {
        "accountType": wallet_type,
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


def _liq_price(account: Account) -> str:
    p = account.position
    if account.liq_price_override is not None:
        return s(account.liq_price_override)
    if p.size == 0 or p.entry is None:
        return ""
    lev = p.leverage
    if p.size > 0:
        return s((p.entry * lev / (lev + 1)).quantize(TICK))
    if lev <= 1:
        return ""  # a 1x short inverse position cannot be liquidated before fees
    return s((p.entry * lev / (lev - 1)).quantize(TICK))


def positions(account: Account, ws: bool = False) -> list[Json]:
    p = account.position
    size = abs(p.size)
    side = "" if p.size == 0 else ("Buy" if p.size > 0 else "Sell")
    value = size / p.entry if p.entry is not None else ZERO
    base: Json = {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "150",
        "symbol": INVERSE_SYMBOL,
        "side": side,
        "size": s(size),
        "positionValue": s(value),
        "tradeMode": p.trade_mode,
        "autoAddMargin": 0,
        "positionStatus": "Normal",
        "leverage": s(p.leverage),
        "markPrice": s(account.mark),
        "liqPrice": _liq_price(account),
        "bustPrice": _liq_price(account),
        "positionIM": s(account.position_im()),
        "positionMM": s(account.position_im() / 200),
        "positionBalance": s(account.position_im()),
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "sessionAvgPrice": "",
        "unrealisedPnl": s(account.upnl()),
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
    price_key = "entryPrice" if ws else "avgPrice"
    base[price_key] = s(p.entry) if p.entry is not None else "0"
    if ws:
        base["category"] = "inverse"
    if not account.hedge_mode:
        return [base]
    sides = []
    for idx in (1, 2):
        entry = dict(base, positionIdx=idx, side="", size="0", positionValue="0")
        sides.append(entry)
    return sides


def order(o: Order, ws: bool = False) -> Json:
    avg = o.avg_price
    shape: Json = {
        "orderId": o.order_id,
        "orderLinkId": o.link_id,
        "blockTradeId": "",
        "symbol": o.symbol,
        "price": s(o.price) if o.price is not None else "0",
        "qty": s(o.qty),
        "side": o.side,
        "isLeverage": "",
        "positionIdx": 0,
        "orderStatus": o.status,
        "cancelType": "UNKNOWN" if o.status != "Cancelled" else "CancelByUser",
        "rejectReason": o.reject_reason,
        "avgPrice": s(avg.quantize(Decimal("0.01"))) if avg is not None else "0",
        "leavesQty": s(o.qty - o.cum_qty if o.open else ZERO),
        "leavesValue": "0",
        "cumExecQty": s(o.cum_qty),
        "cumExecValue": s(o.cum_value),
        "cumExecFee": s(o.cum_fee),
        "cumFeeDetail": {"BTC": s(o.cum_fee)} if o.cum_fee else {},
        "timeInForce": o.tif,
        "orderType": o.order_type,
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
        shape["category"] = "inverse"
    return shape


def execution(e: Execution, ws: bool = False) -> Json:
    o = e.order
    shape: Json = {
        "symbol": e.symbol,
        "orderId": o.order_id if o else "",
        "orderLinkId": o.link_id if o else "",
        "side": e.side,
        "orderPrice": s(o.price) if o and o.price else "0",
        "orderQty": s(o.qty) if o else "0",
        "leavesQty": s(o.qty - o.cum_qty) if o else "0",
        "createType": "CreateByUser",
        "orderType": o.order_type if o else "UNKNOWN",
        "stopOrderType": "",
        "execFee": s(e.fee),
        "execId": e.exec_id,
        "execPrice": s(e.price),
        "execQty": s(e.qty),
        "execType": e.exec_type,
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
        shape["category"] = "inverse"
        shape["isLeverage"] = ""
    return shape


def coin_info(coin: str) -> Json:
    return {
        "name": coin,
        "coin": coin,
        "remainAmount": "1000000",
        "chains": [
            {
                "chainType": coin,
                "confirmation": "1",
                "withdrawFee": "0.0005",
                "depositMin": "0",
                "withdrawMin": "0.001",
                "chain": coin,
                "chainDeposit": "1",
                "chainWithdraw": "1",
                "minAccuracy": "8",
                "withdrawPercentageFee": "0",
                "contractAddress": "",
            }
        ],
    }
