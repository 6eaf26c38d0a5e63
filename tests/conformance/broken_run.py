"""`python -m tests.conformance.broken_run <Variant> run --config F`: the daemon, its venues
wrapped in one of broken.py's variants (for the SIGKILL check's test of the suite)."""

from __future__ import annotations

import sys

from hedgekeeper import cli, supervisor
from hedgekeeper.config import VenueConfig
from hedgekeeper.venues.base import Venue
from tests.conformance import broken


def main(argv: list[str]) -> int:
    variant = getattr(broken, argv[0])
    original = supervisor.make_venue

    def build(name: str, cfg: VenueConfig, mode: str) -> Venue:
        wrapped: Venue = variant(original(name, cfg, mode))
        return wrapped

    supervisor.make_venue = build  # type: ignore[assignment]
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
