"""Alerts end to end: the real daemon on the sim, driven into every condition, sending through
apprise's `json://` to a real HTTP endpoint on 127.0.0.1; `alert-test`; and a hanging alert
service that never delays an order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hedgekeeper import cli
from hedgekeeper.config import Settings
from hedgekeeper.domain import Intent, Prices, Side
from hedgekeeper.journal import Journal
from hedgekeeper.supervisor import Daemon
from hedgekeeper.venues.base import OrderRejected
from hedgekeeper.venues.sim import SimVenue
from tests.fakes import sim_leg

D = Decimal
TOKEN = "tok-SECRET-5b1e9c"  # part of the alert URL: must never be printed or logged


@dataclass
class Endpoint:
    """A webhook receiver; with `hang`, it takes each request and never answers."""

    port: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    hang: bool = False
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook/{TOKEN}"

    async def handle(self, request: web.Request) -> web.Response:
        self.messages.append(json.loads(await request.read()))
        self.arrived.set()
        if self.hang:
            await asyncio.Event().wait()
        return web.Response(text="ok")

    def titles(self) -> list[str]:
        return [m["title"] for m in self.messages]


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    ep = Endpoint()
    app = web.Application()
    app.router.add_post("/hook/{token}", ep.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    ep.port = runner.addresses[0][1]
    yield ep
    await runner.cleanup()


def settings_for(tmp_path: Path, url: str, **alerts: Any) -> Settings:
    """Two legs on a sim whose clock moves 15 simulated seconds per path step, 600 x real time."""
    return Settings.model_validate(
        {
            "journal": str(tmp_path / "journal.sqlite"),
            "kill_file": str(tmp_path / "STOP"),
            "ops": {"enabled": False},
            "log": {"heartbeat_seconds": 0},
            "alerts": {
                "urls": [url],
                "under_hedged_seconds": 120,
                "degraded_seconds": 60,
                "settle_seconds": 120,
                "funding_rate_above": "0.001",
                "tick_seconds": 0.01,
                **alerts,
            },
            "venues": {
                "sim": {
                    "exchange": "sim",
                    "rest_interval": 0.05,
                    "sim": {
                        "seed": 5,
                        "volatility": "0.0005",
                        "step_seconds": 15,
                        "speed": 600,
                        "spot": {"BTC": "0"},
                        "derivatives": {"BTC": "2", "USDT": "40000"},
                        "funding_rate": "-0.002",  # the shorts pay
                        "funding_interval_hours": 0.25,
                    },
                }
            },
            "legs": [
                sim_leg(
                    guards={"max_age_seconds": 20, "breaker_failures": 2, "orders_per_minute": 1000}
                ),
                {
                    "name": "cold",
                    "asset": "BTC",
                    "perp": {"venue": "sim", "symbol": "BTC/USDT:USDT"},
                    "spot": [{"amount": "0.5"}],
                    "hedge_ratio": "1",
                    "count_collateral": False,
                    "guards": {"max_age_seconds": 20},
                },
            ],
        }
    )


async def start(daemon: Daemon) -> tuple[asyncio.Task[int], SimVenue]:
    task = asyncio.create_task(daemon.run())
    while not daemon.engines or daemon.engines[0].feed is None:
        await asyncio.sleep(0)
    venue = daemon.venues["sim"]
    assert isinstance(venue, SimVenue)
    return task, venue


async def test_each_condition_alerts_once_and_resolves_once(
    tmp_path: Path, endpoint: Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path, endpoint.url)
    journal = Journal(settings.journal)  # an intent a crash left unfinished: recovered at start
    journal.open_intent(
        Intent("btc", "BTC/USD:BTC", Side.SELL, D(5), False, None, "before the crash"), 0.0, "sim"
    )
    journal.close()
    daemon = Daemon(settings)
    task, venue = await start(daemon)
    ex = venue.exchange
    t0 = ex.now()

    async def at(minutes: float) -> None:
        await venue.wait_for(lambda: ex.now() >= t0 + minutes * 60)

    kill = tmp_path / "STOP"
    await at(3)
    kill.touch()
    await at(6)
    kill.unlink()
    await at(8)
    ex.deposit("BTC", D(1), "spot")  # no auto_transfer: the collateral cannot follow
    await at(16)
    ex.deposit("BTC", D(1), "derivatives")
    ex.withdraw("BTC", D(1), "spot")
    await at(20)
    real_prices = ex.prices
    frozen: list[Prices] = []

    def flapping(symbol: str | None = None) -> Prices:  # frozen a minute, fresh a minute, 10 min
        if int((ex.now() - t0) // 60) % 2 == 0:
            if not frozen:
                frozen.append(real_prices(symbol))
            return frozen[0]
        frozen.clear()
        return real_prices(symbol)

    ex.prices = flapping  # type: ignore[method-assign]
    await at(30)
    ex.prices = real_prices  # type: ignore[method-assign]
    await at(34)
    ex.withdraw("USDT", D(38000), "derivatives")
    await at(40)
    ex.deposit("USDT", D(38000), "derivatives")
    await at(44)

    def reject(_request: Any) -> Any:
        raise OrderRejected("sim: rejected for the test")

    ex.place = reject  # type: ignore[method-assign]
    ex.deposit("BTC", D(1), "derivatives")
    await at(45)  # halted at once; under-hedged again too, but for less than its 2 minutes
    daemon.stop.set()
    assert await asyncio.wait_for(task, 20) == 0

    titles = endpoint.titles()
    assert len(titles) == len(set(titles)), "a duplicate:\n" + "\n".join(titles)
    expected = {
        "hedgekeeper: daemon started",
        "hedgekeeper: btc: recovered an order after a crash",
        "hedgekeeper: btc: funding paid above the alert rate",
        "hedgekeeper: cold: funding paid above the alert rate",
        "hedgekeeper: kill switch ON: all trading halted",
        "hedgekeeper: resolved: kill switch off",
        "hedgekeeper: btc: under-hedged beyond the deadband",
        "hedgekeeper: resolved: btc: hedged again",
        "hedgekeeper: btc: degraded: data stale or the exchange unreachable, holding",
        "hedgekeeper: resolved: btc: data fresh again",
        "hedgekeeper: cold: degraded: data stale or the exchange unreachable, holding",
        "hedgekeeper: resolved: cold: data fresh again",
        "hedgekeeper: cold: liquidation closer than its limit",
        "hedgekeeper: resolved: cold: liquidation distance back above its limit",
        "hedgekeeper: btc: circuit breaker halted the leg",
        "hedgekeeper: daemon stopped",
    }
    assert set(titles) == expected, "\n".join(sorted(set(titles) ^ expected))
    assert titles[0] == "hedgekeeper: daemon started"
    assert titles[-1] == "hedgekeeper: daemon stopped"
    types = {m["title"]: m["type"] for m in endpoint.messages}
    assert types["hedgekeeper: btc: circuit breaker halted the leg"] == "failure"
    assert types["hedgekeeper: resolved: btc: hedged again"] == "success"
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err
    metrics = daemon.metrics.render().decode()
    assert 'hedgekeeper_alerts_total{kind="degraded"} 4.0' in metrics  # 2 legs, open + resolved


async def test_a_hanging_alert_service_never_delays_an_order(
    tmp_path: Path, endpoint: Endpoint
) -> None:
    """The service takes the "started" alert and never answers; the daemon hedges meanwhile."""
    endpoint.hang = True
    daemon = Daemon(settings_for(tmp_path, endpoint.url, send_timeout_seconds=3600))
    task, venue = await start(daemon)
    ex = venue.exchange
    await asyncio.wait_for(endpoint.arrived.wait(), 20)  # the request is in, and hangs
    await venue.wait_for(lambda: len(ex.fills) >= 2)  # both legs hedged regardless
    ex.deposit("BTC", D("0.5"), "derivatives")
    await venue.wait_for(lambda: len(ex.fills) >= 3)  # and a later order too
    assert len(endpoint.messages) == 1  # still the first one, unanswered
    daemon.stop.set()
    assert await asyncio.wait_for(task, 20) == 0  # a hung alert does not hold the exit either


def test_alert_test_sends_one_message_and_never_prints_the_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    received: list[dict[str, Any]] = []

    async def scenario() -> int:
        async def handle(request: web.Request) -> web.Response:
            received.append(json.loads(await request.read()))
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/hook/{token}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        urls = tmp_path / "alert-urls"
        urls.write_text(f"# the team's webhook\njson://127.0.0.1:{port}/hook/{TOKEN}\n")
        config = tmp_path / "hk.toml"
        config.write_text(
            f'[alerts]\nurls_file = "{urls}"\n[venues.sim]\nexchange = "sim"\n[[legs]]\n'
            'name = "btc"\nasset = "BTC"\nperp = { venue = "sim", symbol = "BTC/USD:BTC" }\n'
            "hedge_ratio = 1\n"
        )
        try:
            return await asyncio.to_thread(cli.main, ["alert-test", "--config", str(config)])
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == 0
    assert [m["title"] for m in received] == ["hedgekeeper: test alert"]
    out = capsys.readouterr()
    assert "alert-test: ok — sent to 1 service(s)" in out.out
    assert TOKEN not in out.out + out.err


def test_alert_test_without_urls_or_with_a_bad_one_says_what_to_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["alert-test"]) == 2
    assert "no alert URLs: set [alerts] urls or urls_file" in capsys.readouterr().out
    config = tmp_path / "hk.toml"
    config.write_text(
        f'[alerts]\nurls = ["nosuchservice://{TOKEN}"]\n[venues.sim]\nexchange = "sim"\n'
        '[[legs]]\nname = "btc"\nasset = "BTC"\n'
        'perp = { venue = "sim", symbol = "BTC/USD:BTC" }\nhedge_ratio = 1\n'
    )
    assert cli.main(["alert-test", "--config", str(config)]) == 2
    out = capsys.readouterr().out
    assert "alerts.urls[0]: not a URL apprise can send to (scheme 'nosuchservice')" in out
    assert TOKEN not in out
    assert cli.main(["run", "--config", str(config)]) == 2  # refused before starting


async def test_a_floor_policy_alerts_within_its_buffer_then_below_its_floor(
    tmp_path: Path, endpoint: Endpoint
) -> None:
    """CPPI from V0 = 130,000 USD, floor 80 %, buffer 5 %: a slide into the buffer, then a gap
    through the floor; one message for each, however many hours they last."""
    prices = [65000] * 3 + [65000 - 600 * i for i in range(1, 18)] + [15000] * 15
    path = tmp_path / "path.csv"
    path.write_text(
        "timestamp,price\n"
        + "".join(f"{1_700_000_000 + 3600 * i},{p}\n" for i, p in enumerate(prices))
    )
    base = settings_for(tmp_path, endpoint.url)
    venue = base.venues["sim"]
    assert venue.sim is not None
    sim = venue.sim.model_copy(
        update={"prices": path, "step_seconds": 3600, "speed": 36000, "funding_rate": D(0)}
    )
    leg = base.legs[0].model_validate(
        {
            **base.legs[0].model_dump(exclude={"hedge_ratio", "policy"}),
            "policy": {
                "kind": "cppi",
                "floor_pct": "0.8",
                "multiplier": "4",
                "floor_buffer": "0.05",
            },
        }
    )
    settings = base.model_copy(
        update={"venues": {"sim": venue.model_copy(update={"sim": sim})}, "legs": (leg,)}
    )
    daemon = Daemon(settings)
    task, sim_venue = await start(daemon)
    await sim_venue.wait_for(lambda: sim_venue.exchange.finished)
    daemon.stop.set()
    assert await asyncio.wait_for(task, 20) == 0
    floors = [t for t in endpoint.titles() if "floor" in t]
    assert sorted(floors) == [
        "hedgekeeper: btc: value below the floor",
        "hedgekeeper: btc: value within the floor's buffer",
    ], endpoint.titles()
