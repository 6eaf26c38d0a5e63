"""AlertBook: one message when a condition starts, one when it is over, none for a flap."""

from __future__ import annotations

from hedgekeeper.alerts import KINDS, Alert, AlertBook, AlertKind, Timing

K = AlertKind


def book(**timing: object) -> AlertBook:
    return AlertBook(Timing(**timing))  # type: ignore[arg-type]


def test_every_kind_has_words() -> None:
    assert set(KINDS) == set(AlertKind)
    for kind in (K.STARTED, K.STOPPED, K.RECOVERED, K.FOREIGN_ORDER):
        assert KINDS[kind].resolved_title is None  # events, never "resolved"


def test_a_condition_sends_once_after_its_delay_and_resolves_once_after_settling() -> None:
    b = book(delay={K.UNDER_HEDGED: 600.0}, settle=300.0)
    sent: list[Alert] = []
    for t in range(0, 1200, 10):  # present for 20 minutes
        sent += b.observe(K.UNDER_HEDGED, "btc", True, "short 90 of 100", float(t))
    assert [(a.at, a.resolved) for a in sent] == [(600.0, False)]
    assert sent[0].title == "hedgekeeper: btc: under-hedged beyond the deadband"
    for t in range(1200, 1800, 10):  # then clear
        sent += b.observe(K.UNDER_HEDGED, "btc", False, "", float(t))
    assert [(a.at, a.resolved) for a in sent] == [(600.0, False), (1500.0, True)]
    assert sent[1].title == "hedgekeeper: resolved: btc: hedged again"
    assert sent[1].detail.startswith("short 90 of 100 (for ")
    assert b.active() == set()


def test_a_ten_minute_flap_is_one_incident() -> None:
    """Degraded on and off every 30 s for 10 simulated minutes: one alert, one resolved."""
    b = book(delay={K.DEGRADED: 60.0}, settle=120.0)
    sent: list[Alert] = []
    t = 0.0
    while t < 600:
        present = int(t // 30) % 2 == 0
        sent += b.observe(K.DEGRADED, "btc", present, "price is 40s old", t)
        t += 5
    while t < 900:
        sent += b.observe(K.DEGRADED, "btc", False, "", t)
        t += 5
    assert [a.resolved for a in sent] == [False, True]
    assert sent[0].at == 60.0  # the incident began at 0, counted through the short clears


def test_a_blip_shorter_than_the_delay_sends_nothing() -> None:
    b = book(delay={K.DEGRADED: 60.0}, settle=0.0)
    assert b.observe(K.DEGRADED, "btc", True, "x", 0.0) == []
    assert b.observe(K.DEGRADED, "btc", False, "", 30.0) == []
    assert b.observe(K.DEGRADED, "btc", True, "x", 40.0) == []
    assert b.observe(K.DEGRADED, "btc", True, "x", 99.0) == []  # a new incident from 40


def test_the_kill_switch_resolves_at_once_and_legs_are_separate() -> None:
    b = book(settle=300.0)
    on = b.observe(K.KILL_SWITCH, None, True, "all trading halted", 0.0)
    off = b.observe(K.KILL_SWITCH, None, False, "", 1.0)
    assert [a.title for a in on + off] == [
        "hedgekeeper: kill switch ON: all trading halted",
        "hedgekeeper: resolved: kill switch off",
    ]
    assert len(b.observe(K.LIQUIDATION, "btc", True, "close", 0.0)) == 1
    assert len(b.observe(K.LIQUIDATION, "eth", True, "close", 0.0)) == 1
    assert b.observe(K.LIQUIDATION, "btc", True, "closer", 5.0) == []


def test_events_are_deduplicated_for_an_hour() -> None:
    b = book(event_repeat=3600.0)
    assert len(b.event(K.FOREIGN_ORDER, "btc", "order hkabc0001 of journal abc", 0.0)) == 1
    assert b.event(K.FOREIGN_ORDER, "btc", "order hkabc0001 of journal abc", 60.0) == []
    assert len(b.event(K.FOREIGN_ORDER, "btc", "order hkdef0001 of journal def", 60.0)) == 1
    assert len(b.event(K.FOREIGN_ORDER, "btc", "order hkabc0001 of journal abc", 3600.0)) == 1


def test_the_rate_limit_drops_and_counts_then_says_so() -> None:
    b = book(per_hour=3)
    sent = [a for i in range(6) for a in b.event(K.RECOVERED, "btc", f"order {i}", float(i))]
    assert len(sent) == 3
    later = b.event(K.RECOVERED, "btc", "order 9", 3601.0)
    assert later[0].suppressed == 3
    assert "3 earlier alerts dropped by the rate limit" in later[0].body
