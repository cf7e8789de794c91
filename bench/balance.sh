#!/usr/bin/env bash
# Expert balance on small-moe: 300 steps with the auxiliary-loss-free correction bias, and 300
# without it (bias_update_speed = 0, no balance loss), on the demo corpus. Prints max/mean
# expert load per MoE layer, averaged over the last 50 steps, from each run's metrics.jsonl.
# Usage: bench/balance.sh [steps]   (from the repository root, after building)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300}
scripts/fetch-corpus
common=(--set train.max_steps="$steps" --set train.eval_every=0 --set train.checkpoint_every=0
        --set train.log_every=50)
./build/seekforge train --config configs/small-moe.toml "${common[@]}" \
  --set train.out_dir=runs/balance-bias
./build/seekforge train --config configs/small-moe.toml "${common[@]}" \
  --set train.out_dir=runs/balance-none --set model.moe.bias_update_speed=0 \
  --set model.moe.aux_loss_coef=0
python3 bench/balance_report.py runs/balance-bias runs/balance-none
