#!/usr/bin/env bash
# Prometheus and Grafana checks, run by .ci/run (about 30 s once the package is installed):
#   1. promtool check rules      deploy/prometheus/hedgekeeper.rules.yml
#   2. promtool test rules       deploy/prometheus/hedgekeeper.rules.test.yml
#   3. the Grafana dashboard is valid JSON
#   4. a real daemon on the sim (deploy/ci/degraded_daemon.py) exposes every metric the rules
#      and the dashboard name, on 127.0.0.1
#   5. a real Prometheus scraping it every second sees HedgekeeperDegraded fire once the daemon
#      is held degraded (the rules' `for:` shortened to 3 s in a copy; the file itself is step 2's)
# Installs Debian's `prometheus` package when promtool or prometheus is missing. Prints one
# PASS/FAIL line per check and exits non-zero if any failed. Needs the project's .venv.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
py="$root/.venv/bin/python"
rules="$root/deploy/prometheus/hedgekeeper.rules.yml"
dashboard="$root/deploy/grafana/hedgekeeper.json"
work=$(mktemp -d "${TMPDIR:-/tmp}/hedgekeeper-prom.XXXXXX")
failed=()
pids=()

log() { printf '%4ss %s\n' "$SECONDS" "$*"; }
pass() { log "PASS  $1"; }
fail() { log "FAIL  $1"; failed+=("$1"); }

cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  log "installing Debian's prometheus package"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus; } \
    >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; fail "install prometheus"; exit 1; }
fi

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---- 1, 2, 3: the files --------------------------------------------------------------------
if promtool check rules "$rules" >"$work/check.log" 2>&1; then
  pass "promtool check rules ($(grep -o '[0-9]* rules found' "$work/check.log"))"
else
  cat "$work/check.log"; fail "promtool check rules"
fi
if (cd "$root/deploy/prometheus" && promtool test rules hedgekeeper.rules.test.yml) >"$work/test.log" 2>&1; then
  pass "promtool test rules"
else
  cat "$work/test.log"; fail "promtool test rules"
fi
if "$py" -m json.tool "$dashboard" >/dev/null; then
  pass "Grafana dashboard is valid JSON"
else
  fail "Grafana dashboard is valid JSON"
fi

# ---- 4: a daemon on the sim, and the metrics it exposes ---------------------------------------
hk_port=$(free_port)
"$py" "$root/deploy/ci/degraded_daemon.py" --port "$hk_port" --journal "$work/journal.sqlite" \
  --duration 90 2>"$work/daemon.log" &
pids+=($!)
metrics="http://127.0.0.1:$hk_port/metrics"
for _ in $(seq 300); do
  curl -sf "$metrics" >"$work/metrics.txt" 2>/dev/null \
    && grep -q '^hedgekeeper_leg_state{leg="btc",state="degraded"} 1.0' "$work/metrics.txt" && break
  sleep 0.1
done
if grep -q '^hedgekeeper_leg_state{leg="btc",state="degraded"} 1.0' "$work/metrics.txt" 2>/dev/null; then
  pass "daemon on the sim traded, then was held degraded (port $hk_port)"
else
  tail -20 "$work/daemon.log"; fail "daemon on the sim held degraded"
fi
if "$py" "$root/deploy/ci/metric_names.py" "$work/metrics.txt" "$rules" "$dashboard"; then
  pass "every metric the rules and the dashboard name is in /metrics"
else
  fail "every metric the rules and the dashboard name is in /metrics"
fi

# ---- 5: a real Prometheus sees the alert fire -------------------------------------------------
prom_port=$(free_port)
sed -E 's/^( *)for: .*/\1for: 3s/' "$rules" >"$work/rules.yml"
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$work/rules.yml"]
scrape_configs:
  - job_name: hedgekeeper
    static_configs: [{targets: ["127.0.0.1:$hk_port"]}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
firing=""
for _ in $(seq 400); do
  if curl -sf "http://127.0.0.1:$prom_port/api/v1/alerts" >"$work/alerts.json" 2>/dev/null \
    && "$py" - "$work/alerts.json" <<'PY'
import json, sys
alerts = json.load(open(sys.argv[1]))["data"]["alerts"]
sys.exit(0 if any(a["labels"]["alertname"] == "HedgekeeperDegraded" and a["state"] == "firing"
                  for a in alerts) else 1)
PY
  then
    firing=yes
    break
  fi
  sleep 0.1
done
if [[ -n $firing ]]; then
  pass "real Prometheus (port $prom_port) sees HedgekeeperDegraded firing"
else
  tail -5 "$work/prometheus.log"; cat "$work/alerts.json" 2>/dev/null
  fail "real Prometheus sees HedgekeeperDegraded firing"
fi

if ((${#failed[@]})); then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "all Prometheus checks passed"
