"""The metrics the engine reports come out of /metrics under the names operators alert on."""

from __future__ import annotations

import math
from decimal import Decimal

from prometheus_client.parser import text_string_to_metric_families

from hedgekeeper.metrics import CONTENT_TYPE, Metrics


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the rendered text, keyed by name and sorted labels."""
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_observe_plan_sets_the_leg_gauges() -> None:
    """Each reconciliation number lands in its own gauge, labelled by leg."""
    m = Metrics()
    m.observe_plan(
        "btc", Decimal("2.5"), Decimal(162500), Decimal(160000), Decimal(2500), Decimal("0.98")
    )
    got = samples(m)
    leg = (("leg", "btc"),)
    assert got[("hedgekeeper_exposure", leg)] == 2.5
    assert got[("hedgekeeper_target_contracts", leg)] == 162500
    assert got[("hedgekeeper_position_contracts", leg)] == 160000
    assert got[("hedgekeeper_drift_contracts", leg)] == 2500
    assert got[("hedgekeeper_hedge_ratio_achieved", leg)] == 0.98


def test_unknown_achieved_ratio_is_nan_not_zero() -> None:
    """No exposure to hedge must not read as a fully unhedged leg."""
    m = Metrics()
    m.observe_plan("eth", Decimal(0), Decimal(0), Decimal(0), Decimal(0), None)
    assert math.isnan(samples(m)[("hedgekeeper_hedge_ratio_achieved", (("leg", "eth"),))])


def test_counters_count_by_their_labels() -> None:
    """Orders, guard trips and reconnects are counters with the documented labels."""
    m = Metrics()
    m.order("btc", "filled")
    m.order("btc", "filled")
    m.order("btc", "rejected")
    m.guard_trip("btc", "stale_data")
    m.reconnect("bybit", "positions")
    m.data_age("btc", 3.5)
    got = samples(m)
    assert got[("hedgekeeper_orders_total", (("leg", "btc"), ("outcome", "filled")))] == 2
    assert got[("hedgekeeper_orders_total", (("leg", "btc"), ("outcome", "rejected")))] == 1
    assert got[("hedgekeeper_guard_trips_total", (("guard", "stale_data"), ("leg", "btc")))] == 1
    key = ("hedgekeeper_stream_reconnects_total", (("stream", "positions"), ("venue", "bybit")))
    assert got[key] == 1
    assert got[("hedgekeeper_data_age_seconds", (("leg", "btc"),))] == 3.5


def test_funding_splits_received_and_paid_as_positive_totals() -> None:
    """Paid funding is counted as a positive amount in its own counter."""
    m = Metrics()
    m.funding("btc", Decimal("0.001"))
    m.funding("btc", Decimal("-0.0004"))
    m.funding("btc", Decimal("-0.0001"))
    m.funding("btc", Decimal(0))
    got = samples(m)
    leg = (("leg", "btc"),)
    assert math.isclose(got[("hedgekeeper_funding_received_total", leg)], 0.001)
    assert math.isclose(got[("hedgekeeper_funding_paid_total", leg)], 0.0005)


def test_leg_state_has_exactly_one_current_state() -> None:
    """Known states are present from the start; an unforeseen state is accepted too."""
    m = Metrics()
    m.leg_state("btc", "live")
    m.leg_state("btc", "degraded")
    m.leg_state("btc", "draining")
    got = {
        dict(labels)["state"]: value
        for (name, labels), value in samples(m).items()
        if name == "hedgekeeper_leg_state"
    }
    assert got["draining"] == 1
    assert got["live"] == got["degraded"] == got["halted"] == 0
    assert sum(got.values()) == 1


def test_registries_are_independent() -> None:
    """Two instances in one process neither clash nor share values."""
    a, b = Metrics(), Metrics()
    a.order("btc", "filled")
    assert ("hedgekeeper_orders_total", (("leg", "btc"), ("outcome", "filled"))) in samples(a)
    assert not any(name == "hedgekeeper_orders_total" for name, _ in samples(b))
    assert CONTENT_TYPE.startswith("text/plain")
