"""OKX v5 JSON shapes, modelled on the responses recorded in ccxt's static tests
(ts/src/test/static/response/okx.json) and the examples in ccxt's okx.py and pro/okx.py.

Every number is a string, as OKX sends them; empty strings where OKX has no value. OKX charges
fees as negative numbers, names a net-mode position's side "net" and signs its `pos`.
"""

from __future__ import annotations

from decimal import Decimal

from tests.emulators.core.account import Account
from tests.emulators.core.model import UNIFIED, ZERO, Execution, Instrument, Order, now_ms
from tests.emulators.dialects.okx_style import STATE, Json, s

FUNDING = "funding"  # the emulator's name of OKX's funding account ('6'); trading is UNIFIED


def envelope(data: object, code: str = "0", msg: str = "") -> Json:
    return {"code": code, "msg": msg, "data": data}


def instrument(i: Instrument) -> Json:
    return {
        "alias": "",
        "baseCcy": "",
        "category": "1",
        "ctMult": "1",
        "ctType": i.kind,
        "ctVal": s(i.contract_size),
        "ctValCcy": i.quote if i.inverse else i.base,
        "expTime": "",
        "instFamily": f"{i.base}-{i.quote}",
        "instId": i.id,
        "instType": "SWAP",
        "lever": "125",
        "listTime": "1611916828000",
        "lotSz": s(i.qty_step),
        "maxLmtSz": "100000000",
        "maxMktSz": "10000",
        "minSz": s(i.min_qty),
        "optType": "",
        "quoteCcy": "",
        "settleCcy": i.settle,
        "state": "live",
        "stk": "",
        "tickSz": s(i.tick),
        "uly": f"{i.base}-{i.quote}",
    }


def spot_instrument(base: str, quote: str) -> Json:
    return {
        "alias": "", "baseCcy": base, "category": "1", "ctMult": "", "ctType": "", "ctVal": "",
        "ctValCcy": "", "expTime": "", "instFamily": "", "instId": f"{base}-{quote}",
        "instType": "SPOT", "lever": "10", "listTime": "1606468572000", "lotSz": "0.00000001",
        "maxLmtSz": "9999999999", "maxMktSz": "1000000", "minSz": "0.00001", "optType": "",
        "quoteCcy": quote, "settleCcy": "", "state": "live", "stk": "", "tickSz": "0.1", "uly": "",
    }  # fmt: skip


def mark_price(account: Account, i: Instrument) -> Json:
    return {"instType": "SWAP", "instId": i.id, "markPx": s(account.mark), "ts": str(now_ms())}


def ticker(account: Account, i: Instrument) -> Json:
    last = s(account.mark)
    return {
        "instType": "SWAP", "instId": i.id, "last": last, "lastSz": "1", "askPx": last,
        "askSz": "100", "bidPx": last, "bidSz": "100", "open24h": last, "high24h": last,
        "low24h": last, "volCcy24h": "1000", "vol24h": "100000", "ts": str(now_ms()),
        "sodUtc0": last, "sodUtc8": last,
    }  # fmt: skip


def detail(account: Account, coin: str) -> Json:
    """One coin of the trading account: eq = cashBal + upl, availEq after margin and orders."""
    cash = account.wallet(UNIFIED, coin)
    upl = account.upnl(coin)
    imr = account.position_im(coin)
    frozen = account.order_im(coin)
    available = account.available(UNIFIED, coin)
    stamp = str(now_ms())
    return {
        "accAvgPx": "", "availBal": s(max(cash - frozen, ZERO)), "availEq": s(available),
        "borrowFroz": "0", "cashBal": s(cash), "ccy": coin, "clSpotInUseAmt": "",
        "crossLiab": "0", "disEq": s(cash + upl), "eq": s(cash + upl), "eqUsd": "",
        "fixedBal": "0", "frozenBal": s(imr + frozen), "imr": s(imr), "interest": "0",
        "isoEq": "0", "isoLiab": "0", "isoUpl": "0", "liab": "0", "maxLoan": "0",
        "mgnRatio": "", "mmr": "", "notionalLever": "", "ordFrozen": s(frozen),
        "spotInUseAmt": "", "stgyEq": "0", "twap": "0", "uTime": stamp, "upl": s(upl),
        "uplLiab": "0",
    }  # fmt: skip


def balance(account: Account, coins: list[str] | None = None) -> Json:
    """`/account/balance` data[0] (and the `account` channel's): only coins the account holds."""
    held = [c for c, v in account.wallets[UNIFIED].items() if v or account.upnl(c)]
    wanted = held if coins is None else [c for c in coins if c in held]
    upl = sum((account.upnl(c) for c in wanted), ZERO)
    return {
        "adjEq": "", "borrowFroz": "", "details": [detail(account, c) for c in wanted],
        "imr": "", "isoEq": "0", "mgnRatio": "", "mmr": "", "notionalUsd": "",
        "ordFroz": "", "totalEq": "", "uTime": str(now_ms()), "upl": s(upl),
    }  # fmt: skip


def funding_balances(account: Account, coins: list[str] | None = None) -> list[Json]:
    """`/asset/balances`: the funding account, coins with a balance only."""
    wallet = account.wallets.get(FUNDING, {})
    rows = []
    for coin, bal in wallet.items():
        if bal and (coins is None or coin in coins):
            rows.append({"availBal": s(bal), "bal": s(bal), "ccy": coin, "frozenBal": "0"})
    return rows


def position(account: Account, i: Instrument) -> Json:
    """A net-mode position (`pos` signed), as REST and the `positions` channel send it."""
    p = account.positions[i.id]
    upl = i.pnl(p.size, p.entry, account.mark) if p.entry else ZERO
    imr = i.value(p.size, p.entry) / p.leverage if p.entry else ZERO
    notional_usd = abs(p.size) * i.contract_size * (ONE if i.inverse else account.mark)
    return {
        "adl": "1", "availPos": "", "avgPx": s(p.entry), "cTime": str(p.created_ms),
        "ccy": i.settle, "deltaBS": "", "deltaPA": "", "gammaBS": "", "gammaPA": "",
        "imr": s(imr), "instId": i.id, "instType": "SWAP", "interest": "", "last": s(account.mark),
        "lever": s(p.leverage), "liab": "", "liabCcy": "", "liqPx": "", "margin": "",
        "markPx": s(account.mark), "mgnMode": "cross", "mgnRatio": "", "mmr": "",
        "notionalUsd": s(notional_usd), "optVal": "", "pTime": str(now_ms()), "pos": s(p.size),
        "posCcy": "", "posId": f"pos-{i.id}", "posSide": "net", "thetaBS": "", "thetaPA": "",
        "tradeId": "", "uTime": str(p.updated_ms), "upl": s(upl), "uplRatio": "", "vegaBS": "",
        "vegaPA": "",
    }  # fmt: skip


ONE = Decimal(1)


def leverage_info(account: Account, i: Instrument, margin_mode: str) -> list[Json]:
    lever = s(account.positions[i.id].leverage)
    return [{"instId": i.id, "lever": lever, "mgnMode": margin_mode, "posSide": "net"}]


def order(o: Order) -> Json:
    """`/trade/order` (and the `orders` channel): fees negative when charged."""
    i = o.instrument
    return {
        "accFillSz": s(o.cum_qty), "algoClOrdId": "", "algoId": "", "attachAlgoClOrdId": "",
        "avgPx": s(o.avg_price) if o.cum_qty else "", "cTime": str(o.created_ms),
        "cancelSource": "", "category": "normal", "ccy": "", "clOrdId": o.client_id,
        "fee": s(-o.cum_fee), "feeCcy": i.settle, "fillPx": s(o.avg_price) if o.cum_qty else "",
        "fillSz": s(o.cum_qty), "fillTime": str(o.updated_ms) if o.cum_qty else "",
        "instId": i.id, "instType": "SWAP", "lever": "", "ordId": o.order_id,
        "ordType": "market" if o.price is None else ("ioc" if o.tif == "IOC" else "limit"),
        "pnl": "0", "posSide": "net", "px": s(o.price), "rebate": "0", "rebateCcy": i.settle,
        "reduceOnly": "true" if o.reduce_only else "false", "side": o.side, "slOrdPx": "",
        "slTriggerPx": "", "source": "", "state": STATE[o.status], "sz": s(o.qty), "tag": "",
        "tdMode": "cross", "tgtCcy": "", "tpOrdPx": "", "tpTriggerPx": "", "tradeId": "",
        "uTime": str(o.updated_ms),
    }  # fmt: skip


def placed(o: Order) -> Json:
    """One item of a batch-orders reply."""
    return {"clOrdId": o.client_id, "ordId": o.order_id, "sCode": "0", "sMsg": "Order placed",
            "tag": "", "ts": str(now_ms())}  # fmt: skip


def failed(client_id: str, code: str, msg: str) -> Json:
    return {"clOrdId": client_id, "ordId": "", "sCode": code, "sMsg": msg, "tag": "",
            "ts": str(now_ms())}  # fmt: skip


def bill(e: Execution, balance_after: Decimal, seq: int) -> Json:
    """A funding bill (type 8): `balChg` > 0 received (subType 174), < 0 paid (173)."""
    received = -e.fee
    return {
        "bal": s(balance_after), "balChg": s(received), "billId": f"{seq:018d}",
        "ccy": e.instrument.settle, "clOrdId": "", "execType": "", "fee": "0",
        "fillTime": str(e.time_ms), "from": "", "instId": e.instrument.id, "instType": "SWAP",
        "interest": "0", "mgnMode": "cross", "notes": "", "ordId": "", "pnl": s(received),
        "posBal": "0", "posBalChg": "0", "px": s(e.price), "subType": "174" if received >= 0 else
        "173", "sz": s(e.qty), "tag": "", "to": "", "tradeId": "", "ts": str(e.time_ms),
        "type": "8",
    }  # fmt: skip


def account_config(uid: str, level: str, hedge: bool) -> Json:
    return {
        "acctLv": level, "acctStpMode": "cancel_maker", "autoLoan": False, "ctIsoMode":
        "automatic", "enableSpotBorrow": False, "greeksType": "PA", "ip": "", "kycLv": "2",
        "label": "hedgekeeper-emulator", "level": "Lv1", "levelTmp": "", "liquidationGear": "-1",
        "mainUid": uid, "mgnIsoMode": "automatic", "opAuth": "1", "perm": "read_only,trade",
        "posMode": "long_short_mode" if hedge else "net_mode", "roleType": "0",
        "spotBorrowAutoRepay": False, "spotOffsetType": "", "spotRoleType": "0",
        "spotTraderInsts": [], "traderInsts": [], "type": "0", "uid": uid,
    }  # fmt: skip
