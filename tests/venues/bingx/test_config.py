"""The shipped BingX example loads, polls inside its staleness limit, and builds a BingX venue."""

from __future__ import annotations

from pathlib import Path

from hedgekeeper import config
from hedgekeeper.venues.bingx import QUIRKS
from hedgekeeper.venues.registry import make_venue

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "bingx.toml"


def test_the_example_loads_and_builds_a_polled_bingx_venue() -> None:
    settings = config.load(EXAMPLE)
    venue_cfg = settings.venues["bingx"]
    leg = settings.legs[0]
    assert venue_cfg.poll_interval is not None
    assert venue_cfg.poll_interval < leg.guards.max_age_seconds
    venue = make_venue("bingx", venue_cfg, settings.mode)
    assert getattr(venue, "quirks", None) is QUIRKS
    assert getattr(venue, "poll_seconds", None) == venue_cfg.poll_interval
