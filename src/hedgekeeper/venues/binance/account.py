"""How a Binance account is laid out, and what `hedgekeeper check` tells its owner to change.

Binance keeps four wallets apart: spot (MAIN), COIN-M (CMFUTURE, one wallet per coin), USDⓈ-M
(UMFUTURE) and funding. The hedged coin sits in spot; the short's margin sits in the futures
wallet of the settle coin, so `auto_transfer` moves coin with the universal transfer
(`POST /sapi/v1/asset/transfer`, type MAIN_CMFUTURE or MAIN_UMFUTURE). Demo trading has no sapi
host: there a transfer is refused before anything is sent, saying so. Position mode (one-way or
hedge) is account-wide per futures family; margin mode and leverage are per symbol.
"""

from __future__ import annotations

from decimal import Decimal

from hedgekeeper.domain import AccountSettings, ContractKind
from hedgekeeper.venues.base import VenueError

SPOT_ACCOUNT = "spot"
FUTURES_ACCOUNT = {ContractKind.INVERSE: "inverse", ContractKind.LINEAR: "linear"}
TRANSFER_TYPE = {ContractKind.INVERSE: "MAIN_CMFUTURE", ContractKind.LINEAR: "MAIN_UMFUTURE"}
FAMILY = {ContractKind.INVERSE: "COIN-M", ContractKind.LINEAR: "USDⓈ-M"}
DEMO_TRANSFER = (
    "Binance demo trading has no wallet transfers (no sapi host): fund the demo {family} wallet"
    " on demo.binance.com, or set auto_transfer = false for the rehearsal"
)


def transfer_accounts(kind: ContractKind, demo: bool) -> tuple[str, str]:
    """ccxt's (fromAccount, toAccount) for spot -> the perp's futures wallet."""
    if demo:
        raise VenueError(DEMO_TRANSFER.format(family=FAMILY[kind]))
    return SPOT_ACCOUNT, FUTURES_ACCOUNT[kind]


LINEAR_MARGIN = frozenset({"USDT", "USDC"})


def check_margin_asset(kind: ContractKind, asset: str) -> None:
    """USDⓈ-M margin is the quote coin: a BTC moved there would leave the holding (X would fall
    and the hedge with it) without paying for anything."""
    if kind is ContractKind.LINEAR and asset not in LINEAR_MARGIN:
        raise VenueError(
            f"USDⓈ-M margin is USDT or USDC, not {asset}: keep the margin in the USDⓈ-M wallet"
            " (auto_transfer moves only a coin-margined perp's own coin)"
        )


def advice(
    found: AccountSettings, kind: ContractKind, leverage: Decimal, margin_mode: str
) -> list[str]:
    """One line per setting that differs from what the leg needs, saying where to change it."""
    family = FAMILY[kind]
    lines = []
    if found.one_way is False:
        lines.append(
            f"position mode is hedge (dual side) on {family}: switch it to one-way in the"
            f" {family} preferences; it is account-wide and refused while any {family} order"
            " or position is open"
        )
    if found.margin_mode is not None and found.margin_mode != margin_mode:
        lines.append(
            f"margin mode is {found.margin_mode}, the leg wants {margin_mode}: hedgekeeper sets"
            " it at start unless a position or open order on the symbol blocks the change"
            " (-4047/-4048): close them first"
        )
    if found.leverage is not None and found.leverage != leverage:
        lines.append(
            f"leverage is {found.leverage}x, the leg wants {leverage}x: hedgekeeper sets it at"
            " start (the short's margin then covers the whole face)"
        )
    return lines
