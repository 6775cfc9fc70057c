#!/usr/bin/env bash
# Runs shop-load at each concurrency against a fresh release `shop` on each database and keeps
# every run's figures (`--json`) in OUT_DIR as <database>-<concurrency>.json, for plot.py.
# Usage: load/sweep/run.sh OUT_DIR [SECONDS]   (PostgreSQL too when SHOP_SWEEP_POSTGRES is a
# server URL, e.g. postgres://postgres@127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:?a directory for the figures of the runs}
SECONDS_EACH=${2:-10}
CONCURRENCIES=${SHOP_SWEEP_CONCURRENCIES:-1 2 4 8 16 32 64 128 256}
BASE=${SHOP_SWEEP_BASE_PORT:-26081}
PASSWORD=sweep-admin-password
mkdir -p "$OUT"
cargo build --release -q -p shop -p shop-load

# run_on DATABASE "SHOP_ARGS" "LOAD_ARGS"
run_on() {
  local database=$1 shop_args=$2 load_args=$3
  local data
  data=$(mktemp -d)
  SHOP_ADMIN_PASSWORD=$PASSWORD RUST_LOG=error target/release/shop --data-dir "$data" \
    --base-port "$BASE" $shop_args >"$data/shop.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$((BASE + 5))/health/ready" >/dev/null 2>&1 && break
    sleep 0.1
  done
  for c in $CONCURRENCIES; do
    SHOP_ADMIN_PASSWORD=$PASSWORD target/release/shop-load --base-port "$BASE" \
      --concurrency "$c" --shoppers "$((c > 64 ? c : 64))" --duration "$SECONDS_EACH" \
      --health-seconds 0 --shop-pid "$pid" $load_args --json "$OUT/$database-$c.json" |
      grep "orders/s"
  done
  kill "$pid"
  wait "$pid" || true
  rm -rf "$data"
}

# shellcheck disable=SC2086 # the argument lists split on purpose
echo "--- SQLite (the embedded default)"
run_on sqlite "" ""
if [ -n "${SHOP_SWEEP_POSTGRES:-}" ]; then
  echo "--- PostgreSQL"
  server=(--postgres "$SHOP_SWEEP_POSTGRES" --database-prefix "sweep$(date +%s)")
  run_on postgres "${server[*]}" "${server[*]}"
fi
