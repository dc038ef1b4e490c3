#!/usr/bin/env bash
# Load bench: Switchyard vs HAProxy (and more) in front of one nginx origin, same run.
#   bash bench/run.sh [tcp|http|tls|rules]   (from the repo root, after pnpm install && pnpm build; default tcp)
#   rules: HTTP scenario 1 (small keep-alive) on haproxy and switchyard, each without and with a
#   rule set (20 ACLs, 8 deny rules, a 10k-entry map_beg, 10 header rewrites); cost vs issue 5's target.
# Env: BENCH_SECONDS (10), BENCH_WARMUP (2), BENCH_PORT_BASE (just above the ephemeral port range),
#      BENCH_DIRECT (1: also measure nginx without a proxy), BENCH_RETRIES (1),
#      BENCH_SWITCHYARD (path of the switchyard binary), BENCH_KEEP_TMP (0),
#      BENCH_NODE_HTTP_PROXY (1; http only: 0 skips node-http-proxy and its npm install),
#      http only: BENCH_SCENARIOS (e.g. 1,3); http and rules: BENCH_TARGETS (e.g. haproxy,switchyard),
#      rules only: BENCH_ROUNDS (1: none/rules pairs per proxy; medians when > 1), BENCH_VARIANTS (none,rules),
#      BENCH_SWITCHYARD_NODE_ARGS (node options for Switchyard, e.g. --cpu-prof).
#      tls: needs openssl and cc (wrk runs with bench/lib/wrk-no-resume.c preloaded: full handshakes).
# See bench/README.md for what each number means.
set -euo pipefail

MODE="${1:-tcp}"
case "$MODE" in
  tcp) DRIVER_FILE=tcp-mode.mjs ;;
  http) DRIVER_FILE=http-mode.mjs ;;
  tls) DRIVER_FILE=tls-mode.mjs ;;
  rules) DRIVER_FILE=rules-mode.mjs ;;
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
  *) echo "bench/run.sh: unknown mode '$MODE' (supported: tcp, http, tls, rules)" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$PATH:/usr/sbin:/sbin"

# --- tools ------------------------------------------------------------------
missing=()
for tool in haproxy nginx wrk; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y "${missing[@]}"; then
    apt-get update && apt-get install -y "${missing[@]}"
  fi
fi
for tool in node taskset getconf; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench/run.sh: '$tool' is required" >&2; exit 2; }
done
# tls: openssl makes the certificate, cc builds wrk's no-resume shim (bench/lib/wrk-no-resume.c).
if [[ "$MODE" == tls ]]; then
  for tool in openssl cc; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench/run.sh: '$tool' is required in tls mode" >&2; exit 2; }
  done
fi
if (($(nproc --all) < 2)); then
  echo "bench/run.sh: needs 2 cores (proxy on cpu 0, nginx + wrk on cpu 1); this machine has $(nproc --all)" >&2
  exit 2
fi
if ! taskset -c 0,1 true 2>/dev/null; then
  echo "bench/run.sh: cannot pin to cpus 0 and 1 (taskset -c 0,1 failed)" >&2
  exit 2
fi

# wrk -c 50 through a proxy needs a few hundred fds per process; be generous.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- temp dir and cleanup ---------------------------------------------------
BENCH_TMP="$(mktemp -d /tmp/switchyard-bench.XXXXXX)"
export BENCH_TMP
: >"$BENCH_TMP/pids"
DRIVER_PID=""

# Every process the driver starts is a process-group leader whose pid is in
# $BENCH_TMP/pids; stop those groups (and only those) whatever happened.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$DRIVER_PID" ]] && kill -0 "$DRIVER_PID" 2>/dev/null; then
    kill -TERM "$DRIVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$DRIVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DRIVER_PID" 2>/dev/null || true
  fi
  local pid left=()
  while read -r pid; do
    [[ -n "$pid" ]] || continue
    if kill -TERM -- "-$pid" 2>/dev/null; then left+=("$pid"); fi
  done <"$BENCH_TMP/pids"
  if ((${#left[@]})); then
    sleep 1
    for pid in "${left[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  fi
  if [[ "${BENCH_KEEP_TMP:-0}" == 1 ]] || ((rc != 0 && rc != 130 && rc != 143)); then
    echo "bench temp dir (configs, logs): $BENCH_TMP" >&2
  else
    rm -rf "$BENCH_TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The command line recorded in the report, with any overrides in effect.
cmd="bash bench/run.sh $MODE"
for v in BENCH_SECONDS BENCH_WARMUP BENCH_RETRIES BENCH_PORT_BASE BENCH_DIRECT BENCH_SWITCHYARD BENCH_NODE_HTTP_PROXY BENCH_SCENARIOS BENCH_TARGETS BENCH_ROUNDS BENCH_VARIANTS BENCH_SWITCHYARD_NODE_ARGS; do
  if [[ -n "${!v:-}" ]]; then cmd="$v=${!v} $cmd"; fi
done
export BENCH_COMMAND="$cmd"

# In the background + wait, so a signal to this script runs the trap at once.
node "$ROOT/bench/$DRIVER_FILE" &
DRIVER_PID=$!
wait "$DRIVER_PID"
