"""Seeing a policy live: the engine's status (what `status` and /status show) and /metrics."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hedgekeeper.engine import LegEngine
from hedgekeeper.journal import Journal
from hedgekeeper.metrics import Metrics
from hedgekeeper.ops import OpsServer
from hedgekeeper.policy import LegValues, evaluate, parse_spec
from hedgekeeper.policy.keeper import status_line
from hedgekeeper.venues.sim import SimVenue
from tests.test_simulate import prices_csv, settings

D = Decimal


def test_metrics_show_v_f_cushion_v_over_f_target_h_and_near_floor() -> None:
    spec = parse_spec("cppi:floor_pct=0.8,multiplier=3")
    first = evaluate(spec, LegValues(0.0, D(100000), D(1)), None)
    metrics = Metrics()
    metrics.observe_policy("btc", first)
    text = metrics.render().decode()
    for line in (
        'hedgekeeper_policy_value{leg="btc"} 100000.0',
        'hedgekeeper_policy_floor{leg="btc"} 80000.0',
        'hedgekeeper_policy_cushion{leg="btc"} 20000.0',
        'hedgekeeper_policy_value_over_floor{leg="btc"} 1.25',
        'hedgekeeper_policy_target_ratio{leg="btc"} 0.4',
        'hedgekeeper_policy_near_floor{leg="btc"} 0.0',
    ):
        assert line in text
    low = evaluate(spec, LegValues(1.0, D(79000), D(1)), first.state)
    metrics.observe_policy("btc", low)
    assert 'hedgekeeper_policy_near_floor{leg="btc"} 1.0' in metrics.render().decode()
    constant = evaluate(parse_spec("constant:1"), LegValues(0.0, D(100), D(1)), None)
    metrics.observe_policy("eth", constant)
    assert 'hedgekeeper_policy_floor{leg="eth"} NaN' in metrics.render().decode()


async def test_the_engine_status_and_the_ops_status_carry_the_policy(tmp_path: Path) -> None:
    cfg = settings(hedge_ratio=None, policy={"kind": "cppi", "floor_pct": "0.8", "multiplier": "3"})
    sim = cfg.venues["sim"].sim
    assert sim is not None
    from hedgekeeper.pricepath import load_csv

    path = load_csv(prices_csv(tmp_path, [("50000",), ("45000",)]))
    venue = SimVenue("sim", sim.model_copy(update={"prices": None}), path)
    journal = Journal(tmp_path / "j.sqlite")
    metrics = Metrics()
    engine = LegEngine(cfg.legs[0], {"sim": venue}, journal, metrics)
    try:
        await engine.start()
        await engine.step()
        status = engine.status()
        assert status["policy"] == "cppi:floor_pct=0.8,multiplier=3"
        assert (status["value"], status["floor"], status["cushion"]) == (
            D(50000),
            D(40000),
            D(10000),
        )
        assert status["value_over_floor"] == D("1.25") and status["target_h"] == D("0.4")
        assert status["near_floor"] is False and status["hedge_ratio"] == "0.4"
        line = status_line({k: str(v) if isinstance(v, D) else v for k, v in status.items()})
        assert line == (
            "policy cppi:floor_pct=0.8,multiplier=3  V 50,000.00  F 40,000.00  "
            "cushion 10,000.00  V/F 1.2500  target h 0.4000"
        )
        server = OpsServer("127.0.0.1", 0, lambda: (True, "ok"), engine.status, metrics)
        port = await server.start()
        import aiohttp

        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/status") as reply:
                body = await reply.json()
            async with http.get(f"http://127.0.0.1:{port}/metrics") as reply:
                text = await reply.text()
        await server.stop()
        assert (body["floor"], body["target_h"], body["near_floor"]) == ("40000.0", "0.4", False)
        assert 'hedgekeeper_policy_value_over_floor{leg="btc"} 1.25' in text
    finally:
        journal.close()
        await venue.close()
