"""The shipped MEXC example loads, consents to no probe, and builds a MEXC venue."""

from __future__ import annotations

from pathlib import Path

from hedgekeeper import config
from hedgekeeper.venues.mexc import QUIRKS
from hedgekeeper.venues.registry import make_venue

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "mexc.toml"


def test_the_example_loads_without_consent_to_a_probe() -> None:
    settings = config.load(EXAMPLE)
    venue_cfg = settings.venues["mexc"]
    assert venue_cfg.probe_orders is False
    venue = make_venue("mexc", venue_cfg, settings.mode)
    assert getattr(venue, "quirks", None) is QUIRKS
