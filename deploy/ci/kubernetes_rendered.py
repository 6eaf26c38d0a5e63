"""Checks one rendered overlay (argv[1]) and its config (argv[2]) against the fleet's design:
what the schemas cannot say. Exits non-zero naming what is wrong."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from hedgekeeper import config


def main(rendered: Path, toml: Path) -> list[str]:
    docs = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
    kinds: dict[str, dict[str, Any]] = {d["kind"]: d for d in docs}
    problems = [
        f"no {k}" for k in ("Deployment", "PodDisruptionBudget", "NetworkPolicy") if k not in kinds
    ]
    if problems:
        return problems
    deployment = kinds["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    checks = {
        "two replicas (active + standby)": deployment["spec"]["replicas"] == 2,
        "liveness on /healthz": container["livenessProbe"]["httpGet"]["path"] == "/healthz",
        "readiness on /readyz": container["readinessProbe"]["httpGet"]["path"] == "/readyz",
        "keys from a Secret": any("secret" in v for v in pod["volumes"]),
        "resource requests and limits": {"requests", "limits"} <= set(container["resources"]),
        "runs as non-root": pod["securityContext"]["runAsNonRoot"] is True,
        "egress only": "Egress" in kinds["NetworkPolicy"]["spec"]["policyTypes"],
    }
    problems = [what for what, ok in checks.items() if not ok]
    settings = config.load(toml)  # raises with one line per problem
    if not settings.journal.startswith("postgresql://"):
        problems.append("the journal is not PostgreSQL: replicas would not share a lease")
    if settings.ops.port != 9108:
        problems.append("the ops port is not the probes' 9108")
    return problems


if __name__ == "__main__":
    found = main(Path(sys.argv[1]), Path(sys.argv[2]))
    for line in found:
        print(f"{sys.argv[1]}: {line}", file=sys.stderr)
    sys.exit(1 if found else 0)
