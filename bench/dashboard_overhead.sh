#!/usr/bin/env bash
# What the live server costs a training run: small-moe-bpe trained twice for 40 steps (evaluation
# and checkpoints off), the second time with --metrics-port and a client polling /api/metrics and
# /metrics every second, as two open dashboard pages would. Prints the median tokens/s of steps
# 6-40 of each. Needs the default dataset (scripts/prepare-data) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-build/seekforge}
port=${PORT:-9471}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {
  "$bin" train --config configs/small-moe-bpe.toml --set train.max_steps=40 \
    --set train.eval_every=0 --set train.checkpoint_every=0 --set train.out_dir="$out/$1" "${@:2}" \
    >"$out/$1.log" 2>&1
}
run off
run on --metrics-port "$port" --sample-every 1000000 &
pid=$!
sleep 3
while kill -0 "$pid" 2>/dev/null; do
  curl -s "127.0.0.1:$port/api/metrics?since=0" >/dev/null || true
  curl -s "127.0.0.1:$port/metrics" >/dev/null || true
  sleep 1
done
wait "$pid"
for m in off on; do
  /usr/bin/python3 - "$out/$m/metrics.jsonl" "$m" <<'PY'
import json, statistics, sys
v = [json.loads(l)["tokens_per_s"] for l in open(sys.argv[1]) if "tokens_per_s" in l][5:]
print(f"server {sys.argv[2]:3}: median {statistics.median(v):.0f} tokens/s over {len(v)} steps")
PY
done
