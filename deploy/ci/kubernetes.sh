#!/usr/bin/env bash
# Kubernetes checks, run by .ci/run: every overlay in deploy/kubernetes/overlays renders with
# `kubectl kustomize` (Debian's kubernetes-client, installed when no kubectl is there), the output
# validates against the Kubernetes schemas (kubernetes-validate, strict), each overlay's
# hedgekeeper.toml is a valid config, and the fleet's promises hold in what is rendered: two
# replicas, liveness on /healthz, readiness on /readyz, keys from a Secret, a disruption budget
# and a network policy per account.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
if ! command -v kubectl >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
fi
"$python" -m pip install -q kubernetes-validate
out=$(mktemp -d "${TMPDIR:-/tmp}/hedgekeeper-k8s.XXXXXX")
trap 'rm -rf "$out"' EXIT
for overlay in "$root"/deploy/kubernetes/overlays/*/; do
  name=$(basename "$overlay")
  kubectl kustomize "$overlay" > "$out/$name.yaml"
  "$python" -m kubernetes_validate --strict --quiet "$out/$name.yaml"
  "$python" "$root/deploy/ci/kubernetes_rendered.py" "$out/$name.yaml" "$overlay/hedgekeeper.toml"
  echo "PASS  kubernetes: $name renders, validates and keeps the fleet's promises"
done
