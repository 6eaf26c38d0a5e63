"""The conformance checks: what every adapter must do, each driving the real daemon.

Each check takes a harness (one adapter on one market), a scratch directory and, for the test of
the suite, a wrap that breaks the adapter; it raises AssertionError when the adapter fails it (a
wait that times out is a failure too). `CHECKS` lists them for the parametrisation.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgekeeper.domain import Plan
from tests.conformance.daemon import Run, Wrap, daemon, same
from tests.conformance.harness import Harness

Check = Callable[[Harness, Path, Wrap], Awaitable[None]]
CHECKS: dict[str, Check] = {}


def check(fn: Callable[..., Awaitable[None]]) -> Check:
    """Register a check; a wait that runs out becomes the failure it is."""

    @functools.wraps(fn)
    async def run(h: Harness, tmp_path: Path, wrap: Wrap = same) -> None:
        try:
            await fn(h, tmp_path, wrap)
        except TimeoutError as exc:
            raise AssertionError(f"{fn.__name__}: an awaited event never came") from exc

    CHECKS[fn.__name__] = run
    return run


async def deposit_settled(run: Run) -> tuple[int, Plan]:
    """Deposit, wait for its order and for the leg to hold again: (orders before, the plan)."""
    h = run.harness
    n = len(h.placements())
    await h.deposit(h.market.deposit)
    await h.wait_for_placements(n + 1)
    return n, await run.quiet()


def on_target(run: Run, plan: Any) -> None:
    assert abs(plan.drift) <= run.band(plan), f"drift {plan.drift} beyond the band"


@check
async def opening_hedge(h: Harness, tmp_path: Path, wrap: Wrap) -> None:
    """From flat: sells (never reduce-only) at 1x to the target, then it holds."""
    async with daemon(h, tmp_path, wrap) as run:
        plan = await run.quiet()
        assert h.leverage() == 1, f"leverage {h.leverage()}, not 1x"
        assert h.position() < 0, f"a hedge is short, the position is {h.position()}"
        assert all(p.side == "sell" and not p.reduce_only for p in h.placements()), "not sells"
        on_target(run, plan)
        run.check_books()


@check
async def deposit_increases(h: Harness, tmp_path: Path, wrap: Wrap) -> None:
    """A deposit grows the short by one more sell."""
    async with daemon(h, tmp_path, wrap) as run:
        before = h.position()
        n, plan = await deposit_settled(run)
        increase = h.placements()[n:]
        assert all(p.side == "sell" and not p.reduce_only for p in increase), "not sells"
        assert h.position() < before, "the short did not grow"
        on_target(run, plan)
        run.check_books()


@check
async def price_move_alone(h: Harness, tmp_path: Path, wrap: Wrap) -> None:
    """Inverse at h = 1 with the collateral counted, or linear: price moves place nothing."""
    async with daemon(h, tmp_path, wrap) as run:
        n = len(h.placements())
        for factor in (Decimal("0.8"), Decimal("0.6"), Decimal("0.9")):
            price = h.market.price * factor
            await h.set_price(price)
            await run.quiet(lambda plan, p=price: plan.mark == p)
        assert h.placements()[n:] == [], "an order on a price move alone"


@check
async def withdrawal_covers_reduce_only(h: Harness, tmp_path: Path, wrap: Wrap) -> None:
    """After a withdrawal the short shrinks by reduce-only buys."""
    async with daemon(h, tmp_path, wrap) as run:
        price = h.market.price * Decimal("0.8")  # the short's profit frees margin
        await h.set_price(price)
        await run.quiet(lambda plan: plan.mark == price)
        before, n = h.position(), len(h.placements())
        await h.withdraw(h.market.withdraw)
        await h.wait_for_placements(n + 1)
        plan = await run.quiet()
        covers = h.placements()[n:]
        assert all(p.side == "buy" for p in covers), "a cover that is not a buy"
        assert all(p.reduce_only for p in covers), "a cover that is not reduce-only"
        assert before < h.position() < 0, f"the short went from {before} to {h.position()}"
        on_target(run, plan)
        run.check_books()


@check
async def answered_late_placed_once(h: Harness, tmp_path: Path, wrap: Wrap) -> None:
    """An order executed but answered after the client's timeout is found, not sent again."""
    async with daemon(h, tmp_path, wrap, timeout_ms=800) as run:
        tried = len(h.attempts())
        h.answer_next_order_late()
        n, plan = await deposit_settled(run)
        assert len(h.attempts()) - tried == 1, "the order went out more than once"
        late = h.placements()[n].client_id
        assert run.intents()[late] == "filled", "the late order was not settled as filled"
        on_target(run, plan)
        run.check_books()


@check
async def duplicate_is_settled(h: Harness, tmp_path: Path, wrap: Wrap) -> None:
    """A "duplicate client id" answer means the order is there: settled from it, not re-sent."""
    async with daemon(h, tmp_path, wrap) as run:
        h.duplicate_next_order()
        n, plan = await deposit_settled(run)
        assert len(h.placements()) == n + 1, "the duplicate's order was sent again"
        settled = run.intents()[h.placements()[n].client_id]
        assert settled == "filled", f"the duplicate was settled as {settled}, not filled"
        on_target(run, plan)
        run.check_books()


@check
async def margin_reject_no_loop(h: Harness, tmp_path: Path, wrap: Wrap) -> None:
    """Orders refused for margin leave the leg under-hedged and halted, not placing in a loop."""
    async with daemon(h, tmp_path, wrap, rest_interval=0.2) as run:
        before, tried = h.position(), len(h.attempts())
        limit = run.engine.leg.guards.breaker_failures
        h.refuse_orders(1000)
        await h.deposit(h.market.deposit)
        async with asyncio.timeout(h.timeout):
            while run.engine.memory.halted is None:
                await run.settled()
        for _ in range(3):  # a few more decisions, each on a fresh REST read
            await run.settled()
        assert len(h.attempts()) - tried <= limit, "orders sent in a loop"
        assert h.position() == before, "the position changed"
        plan = run.engine.last.plan if run.engine.last else None
        assert plan is not None and plan.drift < -run.band(plan), "not under-hedged"
        assert run.engine.status()["halted"], "the leg does not say it is halted"
        refused = [run.intents()[a.client_id] for a in h.attempts()[tried:]]
        assert set(refused) == {"rejected"}, f"refused orders journaled as {refused}"


@check
async def stream_drop_caught_up(h: Harness, tmp_path: Path, wrap: Wrap) -> None:
    """A deposit the private stream never told is caught by the REST read after a drop."""
    async with daemon(h, tmp_path, wrap, rest_interval=30.0) as run:  # no periodic read
        before, n = h.position(), len(h.placements())
        h.silence_private()
        await h.deposit(h.market.deposit)
        await h.drop_streams()
        await h.wait_for_placements(n + 1)
        h.silence_private(False)
        plan = await run.quiet()
        assert h.position() < before, "the short did not grow"
        on_target(run, plan)
        run.check_books()


@check
async def rate_limit_backs_off(h: Harness, tmp_path: Path, wrap: Wrap) -> None:
    """A create refused with the exchange's rate-limit error is not re-sent at once nor under
    the same client id; the deposit is hedged by one later order."""
    async with daemon(h, tmp_path, wrap) as run:
        tried = len(h.attempts())
        h.rate_limit_next_order()
        n, plan = await deposit_settled(run)
        first, second, *more = h.attempts()[tried:]
        assert more == [] and len(h.placements()) == n + 1, "more than one order after the limit"
        assert first.client_id != second.client_id, "re-sent under the same client id"
        assert second.at - first.at >= 0.1, "no back-off after the rate limit"
        assert run.intents()[first.client_id] == "rejected", "the refused order is not rejected"
        on_target(run, plan)
        run.check_books()


@check
async def empty_wallet_no_order(h: Harness, tmp_path: Path, wrap: Wrap) -> None:
    """Balance replies without the coin are no reading (never a zero): no order on them."""
    async with daemon(h, tmp_path, wrap, rest_interval=0.2) as run:
        before, n = h.position(), len(h.placements())
        reads = h.wallet_reads()
        h.empty_wallet()
        async with asyncio.timeout(h.timeout):
            while h.wallet_reads() < reads + 3:  # periodic reads and any confirmation
                await run.settled()
            await run.settled()
        h.empty_wallet(False)
        reads = h.wallet_reads()
        async with asyncio.timeout(h.timeout):
            while h.wallet_reads() < reads + 1:
                await run.settled()
            await run.settled()
        assert h.placements()[n:] == [], "an order on an empty balance reply"
        assert h.position() == before, "the position changed"
