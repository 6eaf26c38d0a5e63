"""Deribit v2 JSON-RPC payloads as ccxt's recorded responses show them (static/response/
deribit.json), built from the emulator's neutral values.

Amounts on the wire are the exchange's: USD for BTC-PERPETUAL (10 USD contracts), BTC for
BTC_USDC-PERPETUAL (0.001 BTC contracts); the emulator counts contracts, so `amount` = qty · K.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from tests.emulators.core.account import Account
from tests.emulators.core.model import UNIFIED, Execution, Instrument, Order, now_ms

Json = dict[str, Any]
PERPETUAL_EXPIRY = 32503708800000  # Deribit's "never" for perpetuals
STATES = {"new": "open", "partially_filled": "open", "filled": "filled",
          "cancelled": "cancelled", "partially_filled_cancelled": "cancelled"}  # fmt: skip
TIF = {"GTC": "good_til_cancelled", "IOC": "immediate_or_cancel", "FOK": "fill_or_kill"}


def num(value: Decimal) -> int | float:
    """A JSON number as Deribit writes it."""
    return int(value) if value == value.to_integral_value() else float(value)


def envelope(result: object, *, started: float) -> Json:
    us_in, us_out = int(started * 1e6), int(time.time() * 1e6)
    return {"jsonrpc": "2.0", "result": result, "usIn": us_in, "usOut": us_out,
            "usDiff": us_out - us_in, "testnet": True}  # fmt: skip


def error(code: int, message: str, reason: str) -> Json:
    return {"jsonrpc": "2.0", "error": {"message": message, "data": {"reason": reason},
            "code": code}, "testnet": True}  # fmt: skip


def currency(code: str) -> Json:
    return {"currency": code, "currency_long": {"BTC": "Bitcoin"}.get(code, code),
            "coin_type": "BITCOIN" if code == "BTC" else "ERC20", "fee_precision": 4,
            "min_confirmations": 1, "min_withdrawal_fee": 0.0001, "withdrawal_fee": 0.0001,
            "withdrawal_priorities": []}  # fmt: skip


def instrument(i: Instrument) -> Json:
    kind = "reversed" if i.inverse else "linear"
    return {
        "instrument_name": i.id, "kind": "future", "settlement_period": "perpetual",
        "base_currency": i.base, "counter_currency": i.quote, "quote_currency": i.quote,
        "settlement_currency": i.settle, "contract_size": num(i.contract_size),
        "min_trade_amount": num(i.min_qty * i.contract_size), "tick_size": num(i.tick),
        "taker_commission": 0.0005, "maker_commission": 0.0, "is_active": True,
        "expiration_timestamp": PERPETUAL_EXPIRY, "creation_timestamp": 1534242287000,
        "instrument_type": kind, "future_type": kind, "max_leverage": 50, "rfq": False,
        "price_index": f"{i.base.lower()}_{i.quote.lower()}", "tick_size_steps": [],
        "block_trade_commission": 0.00025, "block_trade_min_trade_amount": 200000,
        "block_trade_tick_size": num(i.tick), "max_liquidation_commission": 0.0075,
        "instrument_id": 124972 if i.inverse else 211704,
    }  # fmt: skip


def ticker(account: Account, i: Instrument) -> Json:
    mark, index = num(account.mark), num(account.index)
    return {
        "instrument_name": i.id, "timestamp": now_ms(), "state": "open",
        "mark_price": mark, "index_price": index, "last_price": mark,
        "best_bid_price": num(account.mark - i.tick), "best_ask_price": num(account.mark + i.tick),
        "best_bid_amount": 1000, "best_ask_amount": 1000, "settlement_price": mark,
        "current_funding": 0.0, "funding_8h": 0.0001, "interest_value": 0.0,
        "open_interest": 1000000, "min_price": num(account.mark * Decimal("0.97")),
        "max_price": num(account.mark * Decimal("1.03")), "estimated_delivery_price": index,
        "stats": {"volume_usd": 1000000, "volume": 100, "price_change": 0.0,
                  "low": mark, "high": mark},
    }  # fmt: skip


def summary(account: Account, code: str, user_id: int, margin_model: str) -> Json:
    equity = account.equity(UNIFIED, code)
    im = account.position_im(code) + account.order_im(code)
    held = [(i, account.positions[i.id]) for i in account.instruments.values() if i.settle == code]
    mm = sum((i.value(p.size, account.mark) * account.maintenance for i, p in held), Decimal(0))
    free = account.available(UNIFIED, code)
    return {
        "currency": code, "equity": num(equity), "balance": num(account.wallet(UNIFIED, code)),
        "margin_balance": num(equity), "available_funds": num(free),
        "available_withdrawal_funds": num(free), "initial_margin": num(im),
        "maintenance_margin": num(mm), "projected_initial_margin": num(im),
        "projected_maintenance_margin": num(mm), "session_upl": num(account.upnl(code)),
        "session_rpl": 0, "total_pl": num(account.upnl(code)), "futures_pl": 0,
        "options_pl": 0, "delta_total": 0, "fee_balance": 0, "spot_reserve": 0,
        "margin_model": margin_model, "portfolio_margining_enabled": margin_model.endswith("_pm"),
        "cross_collateral_enabled": False, "id": user_id, "username": "emulator",
        "type": "main", "system_name": "emulator", "email": "emulator@example.invalid",
        "creation_timestamp": 1534242287000, "limits": {},
    }  # fmt: skip


def position(account: Account, i: Instrument) -> Json:
    p = account.positions[i.id]
    size = p.size * i.contract_size
    mark = account.mark
    pnl = i.pnl(p.size, p.entry, mark) if p.size and p.entry else Decimal(0)
    direction = "zero" if not p.size else "buy" if p.size > 0 else "sell"
    value = i.value(p.size, mark)
    return {
        "instrument_name": i.id, "kind": "future", "size": num(size), "direction": direction,
        "average_price": num(p.entry) if p.entry else 0, "mark_price": num(mark),
        "index_price": num(account.index), "floating_profit_loss": num(pnl),
        "total_profit_loss": num(pnl), "realized_profit_loss": num(p.cum_realised),
        "size_currency": num(-value if p.size < 0 else value), "leverage": 50,
        "initial_margin": num(value / p.leverage), "open_orders_margin": 0,
        "maintenance_margin": num(value * account.maintenance), "delta": 0,
        "estimated_liquidation_price": None, "settlement_price": num(mark),
        "interest_value": 0, "realized_funding": 0,
    }  # fmt: skip


def order(o: Order) -> Json:
    i = o.instrument
    return {
        "order_id": o.order_id, "label": o.client_id, "instrument_name": i.id,
        "direction": o.side, "amount": num(o.qty * i.contract_size),
        "filled_amount": num(o.cum_qty * i.contract_size), "contracts": num(o.qty),
        "average_price": num(o.avg_price) if o.avg_price is not None else 0,
        "price": "market_price" if o.price is None else num(o.price),
        "order_type": "market" if o.price is None else "limit",
        "order_state": STATES[o.status], "time_in_force": TIF.get(o.tif, "good_til_cancelled"),
        "reduce_only": o.reduce_only, "post_only": False, "commission": num(o.cum_fee),
        "creation_timestamp": o.created_ms, "last_update_timestamp": o.updated_ms or o.created_ms,
        "api": True, "web": False, "is_liquidation": False, "replaced": False, "mmp": False,
        "risk_reducing": False, "max_show": num(o.qty * i.contract_size),
    }  # fmt: skip


def trade(e: Execution) -> Json:
    i = e.instrument
    return {
        "trade_id": e.exec_id, "order_id": e.order.order_id if e.order else None,
        "label": e.order.client_id if e.order else "", "instrument_name": i.id,
        "direction": e.side, "amount": num(e.qty * i.contract_size), "price": num(e.price),
        "fee": num(e.fee), "fee_currency": i.settle, "timestamp": e.time_ms, "state": "filled",
        "liquidity": "T", "order_type": "market",
    }  # fmt: skip


def settlement(e: Execution, account: Account) -> Json:
    """A funding row of the transaction log: `interest_pl` received when positive."""
    i = e.instrument
    return {
        "id": int("".join(c for c in e.exec_id if c.isdigit()) or 0),
        "type": "settlement", "instrument_name": i.id, "currency": i.settle,
        "timestamp": e.time_ms, "interest_pl": num(-e.fee), "session_upl": 0,
        "session_rpl": 0, "change": num(-e.fee), "cashflow": num(-e.fee),
        "balance": num(account.wallet(UNIFIED, i.settle)),
        "equity": num(account.equity(UNIFIED, i.settle)), "position": num(e.qty),
        "price": num(e.price), "user_id": 1, "username": "emulator", "info": {},
    }  # fmt: skip
