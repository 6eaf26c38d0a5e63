"""Every metric the alert rules and the Grafana dashboard name must exist in a daemon's /metrics.

    python deploy/ci/metric_names.py METRICS_TEXT_OR_URL RULES.yml DASHBOARD.json

Prints one line per missing metric and exits 1 if any; `up` (Prometheus' own) is not ours.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path

NAME = re.compile(r"\bhedgekeeper_[a-z_]+[a-z]\b")


def named_by_rules(text: str) -> set[str]:
    return {n for line in text.splitlines() if "expr:" in line for n in NAME.findall(line)}


def named_by_dashboard(text: str) -> set[str]:
    names: set[str] = set()
    for panel in json.loads(text)["panels"]:
        for target in panel.get("targets", []):
            names |= set(NAME.findall(target["expr"]))
    return names


def exposed(text: str) -> set[str]:
    """Sample names in a Prometheus text exposition."""
    return {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def missing(metrics: str, rules: str, dashboard: str) -> list[str]:
    have = exposed(metrics)
    wanted = {(n, "rules") for n in named_by_rules(rules)}
    wanted |= {(n, "dashboard") for n in named_by_dashboard(dashboard)}
    return sorted(f"{name} (named by the {where})" for name, where in wanted if name not in have)


def main(argv: list[str]) -> int:
    source, rules, dashboard = argv
    if source.startswith("http"):
        with urllib.request.urlopen(source, timeout=5) as reply:
            metrics = reply.read().decode()
    else:
        metrics = Path(source).read_text()
    gaps = missing(metrics, Path(rules).read_text(), Path(dashboard).read_text())
    for gap in gaps:
        print(f"missing from /metrics: {gap}")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
