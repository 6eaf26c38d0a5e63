"""SIGKILL mid-order, restart: the order is recovered as what the exchange did with it.

A real `hedgekeeper run` per exchange market (the sim's exchange dies with the daemon, so only
markets whose exchange lives outside it take part). The daemon is killed the moment its order for
a deposit reaches the exchange, which executes it after the client is dead; the restarted daemon
must settle that intent as filled, by its client id, before it decides anything, and send no
order twice. The 50-kill chains over every moment of placement are tests/test_crash.py's.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.conformance.broken import RECOVERY_BREAKER
from tests.conformance.harness import Market, WireHarness
from tests.conformance.markets import EXTERNAL
from tests.emulators.core.server import OrderLogEntry
from tests.processes import WAIT, DaemonProcess, is_event, is_recovery, reap, start_daemon


def on_target(line: dict[str, object]) -> bool:
    return (
        line.get("event") == "decision"
        and line.get("action") == "hold"
        and str(line.get("reason", "")).startswith(("on target", "within deadband"))
    )


async def sigkill_recovers_the_order(
    h: WireHarness, tmp_path: Path, launcher: tuple[str, ...] = ("hedgekeeper.cli",)
) -> None:
    emu = h.emu
    journal = tmp_path / "journal.sqlite"
    path = tmp_path / "hk.toml"
    path.write_text(h.toml(journal))
    running: DaemonProcess = await start_daemon(path, tmp_path, launcher)
    try:
        async with asyncio.timeout(WAIT):
            await running.wait_for(on_target, await running.wait_for(is_event("daemon_ready")))
            base = len(emu.order_log)

            def at_arrival(entry: OrderLogEntry) -> None:
                running.kill()  # the emulator executes the order after this returns

            emu.order_hooks.append(at_arrival)
            await h.deposit(h.market.deposit)
            assert await running.proc.wait() == -signal.SIGKILL, running.log()
            await reap(running)
            emu.order_hooks.clear()
            lost = emu.order_log[base]
            assert lost.order_id is not None, "the exchange did not execute the order"
            running = await start_daemon(path, tmp_path, launcher)
            ready = await running.wait_for(is_event("daemon_ready"))
            recovered = {x["client_id"]: x["state"] for x in running.lines[:ready]
                         if is_recovery(x)}  # fmt: skip
            state = recovered.get(lost.client_id)
            assert state == "filled", f"the killed order recovered as {state}, not filled"
            await running.wait_for(on_target, ready)
            running.proc.send_signal(signal.SIGTERM)
            assert await running.proc.wait() == 0, running.log()
    finally:
        await reap(running)
    assert emu.duplicate_client_ids() == [], "a client id reached the exchange twice"
    assert h.position() < 0


@pytest.mark.parametrize("market", EXTERNAL, ids=[m.id for m in EXTERNAL])
async def test_sigkill_mid_order_then_restart(
    market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if market.mode == "live":  # an emulator in live's place: `run` still wants the consent
        monkeypatch.setenv("HEDGEKEEPER_CONFIRM_LIVE", "1")
    async with WireHarness(market) as h:
        await sigkill_recovers_the_order(h, tmp_path)


async def test_sigkill_check_fails_when_the_lookup_never_finds(tmp_path: Path) -> None:
    variant, failure = RECOVERY_BREAKER
    async with WireHarness(EXTERNAL[0]) as h:
        with pytest.raises(AssertionError, match=failure):
            await sigkill_recovers_the_order(
                h, tmp_path, ("tests.conformance.broken_run", variant.__name__)
            )
