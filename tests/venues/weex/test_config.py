"""The shipped WEEX example loads, polls inside its staleness limit, and builds a WEEX venue."""

from __future__ import annotations

from pathlib import Path

from hedgekeeper import config
from hedgekeeper.venues.registry import make_venue
from hedgekeeper.venues.weex import QUIRKS

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "weex.toml"


def test_the_example_loads_and_builds_a_polled_weex_venue() -> None:
    settings = config.load(EXAMPLE)
    venue_cfg = settings.venues["weex"]
    leg = settings.legs[0]
    assert settings.mode == "live" and leg.perp.symbol == "BTC/USDT:USDT"
    assert venue_cfg.poll_interval is not None
    assert venue_cfg.poll_interval < leg.guards.max_age_seconds
    assert leg.guards.auto_transfer is False
    venue = make_venue("weex", venue_cfg, settings.mode)
    assert getattr(venue, "quirks", None) is QUIRKS
    assert getattr(venue, "poll_seconds", None) == venue_cfg.poll_interval
