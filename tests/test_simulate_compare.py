"""`simulate --compare` and a single `simulate --config` run of a floor policy, on generated
histories: every figure the comparison reports, checked against what the replay did."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper.cli import main
from hedgekeeper.policy import parse_spec
from hedgekeeper.simulate import SimulateError, prepare, run
from hedgekeeper.simulate_compare import BreachCause, breach_cause, outcome
from tests.test_simulate import prices_csv, settings

D = Decimal
SPECS = [
    "constant:1",
    "constant:0.5",
    "cppi:floor_pct=0.8,multiplier=3",
    "tipp:floor_pct=0.8,multiplier=4,lock_in=0.8",
    "put:strike_pct=0.9,horizon_days=2",
]


def walk(n: int, seed: int = 3, funding: str | None = None) -> list[tuple[str, ...]]:
    rng = random.Random(seed)
    price, rows = 50000.0, []
    for _ in range(n):
        rows.append((f"{price:.2f}",) if funding is None else (f"{price:.2f}", funding))
        price *= 1 + rng.gauss(0, 0.02)
    return rows


def test_a_cppi_leg_replayed_through_the_engine_keeps_its_floor(tmp_path: Path) -> None:
    rows = [("50000",), ("45000",), ("40000",), ("36000",), ("33000",), ("30000",)]
    cfg = settings(hedge_ratio=None, policy={"kind": "cppi", "floor_pct": "0.8", "multiplier": "3"})
    r = run(prepare(cfg, prices_csv(tmp_path, rows)), tmp_path / "out")
    first, last = r.hours[0], r.hours[-1]
    assert first.floor == D(40000) and first.value == D(50000)
    assert abs(first.target_coin / first.exposure - D("0.4")) < D("0.0001")  # h0 = 1 - 3·0.2
    # No fees, no funding, falls of 10 % < 1/3: the value never goes below the floor, and the
    # hedge grows as the cushion is spent.
    assert all(h.value is not None and h.floor is not None and h.value >= h.floor for h in r.hours)
    ratios = [h.target_coin / h.exposure for h in r.hours]
    assert ratios == sorted(ratios) and ratios[-1] > D("0.85")
    assert last.hedged_coin == pytest.approx(last.target_coin, rel=D("0.001"))
    # The state is in the run's journal.
    import sqlite3

    db = sqlite3.connect(tmp_path / "out" / "journal.sqlite")
    (text,) = db.execute("SELECT value FROM meta WHERE key='policy_state:btc'").fetchone()
    db.close()
    assert json.loads(text)["floor"] == "40000.0"


def test_compare_json_fields_and_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = prices_csv(tmp_path, walk(150, funding="-0.0002"))
    out = tmp_path / "cmp"
    args = ["simulate", "--prices", str(path), "--start-coin", "1", "--out", str(out), "--json"]
    assert main([*args, "--compare", *SPECS]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["points"] == 150 and doc["start_value"] == "50000.00"
    names = [p["policy"] for p in doc["policies"]]
    assert names == [
        "constant:1",
        "constant:0.5",
        "cppi:floor_pct=0.8,multiplier=3",
        "tipp:floor_pct=0.8,multiplier=4,lock_in=0.8",
        "put:strike_pct=0.9,horizon_days=2",
    ]
    for p in doc["policies"]:
        for key in (
            "hedged_final",
            "min_value",
            "min_value_over_floor",
            "breach_cause",
            "max_drawdown",
            "upside_kept",
            "trades",
            "fees_quote",
            "funding_quote",
            "final_h",
        ):
            assert key in p
        assert D(p["min_value"]) <= D(p["hedged_final"])
        assert D(p["upside_kept"]) == D(p["hedged_final"]) / D(doc["unhedged_final"])
    constant = doc["policies"][0]
    assert constant["min_value_over_floor"] is None and constant["final_h"] == "1"
    assert D(doc["policies"][2]["min_value_over_floor"]) > 0
    assert (out / "compare-value.png").stat().st_size > 10_000
    assert (out / "compare-ratio.png").stat().st_size > 5_000
    assert json.loads((out / "compare.json").read_text()) == doc


def test_compare_table_and_a_bad_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = prices_csv(tmp_path, walk(30))
    assert (
        main(["simulate", "--prices", str(path), "--compare", "constant:1", "cppi:floor_pct=0.8"])
        == 0
    )
    text = capsys.readouterr().out
    assert "lowest V/F" in text and "cppi:floor_pct=0.8,multiplier=3" in text
    assert main(["simulate", "--prices", str(path), "--compare", "cppi:floor_pct=2"]) == 2
    assert "--compare 'cppi:floor_pct=2': floor_pct:" in capsys.readouterr().err
    assert main(["simulate", "--prices", str(path), "--ratio", "1", "--compare", "constant:1"]) == 2


def test_a_multiplier_the_history_step_cannot_defend_is_refused(tmp_path: Path) -> None:
    rows = walk(5)
    path = tmp_path / "8h.csv"
    path.write_text(
        "timestamp,price\n"
        + "".join(f"{1_704_067_200 + i * 8 * 3600},{r[0]}\n" for i, r in enumerate(rows))
    )
    with pytest.raises(SimulateError, match=r"multiplier: 5 cannot defend the floor .* every 8 h"):
        prepare(None, path, policy=parse_spec("cppi:floor_pct=0.8,multiplier=5"))


def test_a_breach_while_locked_is_funding_and_a_crash_through_the_cushion_is_a_gap(
    tmp_path: Path,
) -> None:
    # Funding: with the buffer the policy works against 49,600, so it starts locked at h = 1
    # (snapped from 0.984), and then the short pays 0.8 % an hour (more than 1 % in one
    # evaluation would read as a withdrawal).
    locked = [("50000", "-0.008")] * 30
    buffered = parse_spec("cppi:floor_pct=0.8,multiplier=2,floor_buffer=0.24")
    r = run(prepare(settings(), prices_csv(tmp_path, locked, "a.csv"), policy=buffered))
    assert all(h.target_coin == h.exposure for h in r.hours)
    assert breach_cause(r.hours) is BreachCause.FUNDING
    # A gap: with m = 2, 40 % of V is exposed; a fall of 55 % (more than 1/m) costs 22 % of V,
    # more than the 20 % cushion.
    spec = parse_spec("cppi:floor_pct=0.8,multiplier=2,deadband_h=0")
    crash = [("50000",), ("22500",), ("22500",)]
    r = run(prepare(settings(), prices_csv(tmp_path, crash, "b.csv"), policy=spec))
    assert breach_cause(r.hours) is BreachCause.GAP
    fig = outcome("cppi", r.hours, r.orders)
    assert fig.min_value_over_floor is not None and fig.min_value_over_floor < 1
    assert fig.breach_cause is BreachCause.GAP


def test_the_policies_share_one_reading_of_the_history_and_replay_alike(tmp_path: Path) -> None:
    from hedgekeeper.simulate_compare import compare, setups

    path = prices_csv(tmp_path, [(str(50000 - 500 * i),) for i in range(24)])
    specs = ["constant:1", "cppi:floor_pct=0.8,multiplier=3"]
    replays = setups(settings(), path, [parse_spec(s) for s in specs])
    assert replays[0].path is replays[1].path
    one = prepare(settings(), path, policy=parse_spec(specs[1]))
    assert replays[1] == one  # what a replay of its own would run
    apart = compare(replays, jobs=1)
    together = compare(replays, jobs=2)  # in worker processes, handed the setups once
    assert [r[0] for r in apart] == [r[0] for r in together]
