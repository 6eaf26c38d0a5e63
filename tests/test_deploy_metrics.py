"""The alert rules and the Grafana dashboard in deploy/ name only metrics the daemon exposes
(the CI script checks the same against a running process; this catches a rename at once)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from hedgekeeper.supervisor import Daemon
from tests.test_supervisor import run_to_the_end, sim_settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("metric_names", DEPLOY / "ci/metric_names.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_every_metric_named_in_deploy_exists(tmp_path: Path) -> None:
    daemon = Daemon(sim_settings(tmp_path))
    await run_to_the_end(daemon)
    names = checker()
    rules = (DEPLOY / "prometheus/hedgekeeper.rules.yml").read_text()
    dashboard = (DEPLOY / "grafana/hedgekeeper.json").read_text()
    assert names.missing(daemon.metrics.render().decode(), rules, dashboard) == []
    # and the check can fail: a dashboard naming a metric nobody exports
    board = json.loads(dashboard)
    board["panels"][0]["targets"][0]["expr"] = "hedgekeeper_no_such_thing"
    gaps = names.missing(daemon.metrics.render().decode(), rules, json.dumps(board))
    assert gaps == ["hedgekeeper_no_such_thing (named by the dashboard)"]
    assert {"hedgekeeper_leg_state", "hedgekeeper_kill_switch"} <= names.named_by_rules(rules)
