"""Another trader on the account: another hedgekeeper's orders halt the leg and alert; position
changes no order of ours explains are journaled with what the daemon does about them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hedgekeeper import trespass
from hedgekeeper.alerting import Alerting
from hedgekeeper.config import AlertsConfig
from hedgekeeper.domain import OrderRequest, Side
from hedgekeeper.journal import client_id_for
from tests.fakes import Rig

D = Decimal
SYMBOL = "BTC/USD:BTC"


def cover(client_id: str, contracts: str = "1000") -> OrderRequest:
    """A reduce-only buy of the short (it needs no margin: the daemon used all of it)."""
    return OrderRequest(SYMBOL, Side.BUY, D(contracts), True, None, client_id)


def test_only_another_hedgekeepers_ids_count_as_foreign() -> None:
    ours, theirs = client_id_for("aaaaaa", 1, 5), client_id_for("bbbbbb", 3, 9)
    ids = [ours, theirs, "web-1234", "hk1", theirs]
    assert trespass.foreign(ids, "aaaaaa") == [theirs]
    assert trespass.foreign([ours, "manual-order"], "aaaaaa") == []


def test_a_move_is_unexplained_only_without_an_order_of_ours() -> None:
    assert trespass.unexplained(D(-5), D(-8), None, False)
    assert not trespass.unexplained(D(-5), D(-5), None, False)
    assert not trespass.unexplained(None, D(-8), None, False)  # the first reading
    assert not trespass.unexplained(D(-5), D(-8), D(-8), False)  # our fill, not yet seen
    assert not trespass.unexplained(D(-5), D(-8), None, True)  # our order in flight


async def test_another_hedgekeepers_order_halts_the_leg_and_alerts(tmp_path: Path) -> None:
    rig = await Rig(tmp_path).start()
    await rig.settle()
    orders = rig.journal.count("intents")
    await rig.engine.check_foreign()
    assert rig.engine.memory.halted is None  # only our own orders so far
    intruder = client_id_for("ffffff", 1, 1)
    rig.ex.place(cover(intruder))
    await rig.engine.check_foreign()
    assert rig.engine.memory.halted and intruder in rig.engine.memory.halted
    alerting = Alerting(AlertsConfig(), rig.metrics)
    alerting.check([rig.engine], lambda: False)
    alerting.check([rig.engine], lambda: False)  # once, not on every tick
    assert 'hedgekeeper_alerts_total{kind="foreign_order"} 1.0' in rig.metrics.render().decode()
    await rig.step()
    assert rig.journal.count("intents") == orders  # halted: the short it sees is not all ours
    assert rig.engine.state == "halted"
    assert rig.journal.count("events") >= 1


async def test_a_position_change_we_did_not_cause_is_journaled_with_what_follows(
    tmp_path: Path,
) -> None:
    rig = await Rig(tmp_path).start()
    await rig.settle()
    before = rig.position()
    rig.ex.place(cover("placed-by-hand"))  # not a hedgekeeper order: the owner's own business
    await rig.step()
    [(detail,)] = rig.journal.store.query(
        "SELECT detail FROM events WHERE kind = 'position_unexplained'"
    )
    assert f"{before} -> {before + 1000}" in detail and "trades back to the target" in detail
    await rig.settle()
    assert abs(rig.position() - before) < 100  # and it did
    assert rig.engine.memory.halted is None
