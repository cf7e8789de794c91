#!/usr/bin/env python3
"""Reads metrics.jsonl of balance runs and prints, per MoE layer, max/mean expert load averaged
over the last 50 logged steps (1.0 is perfect balance; E is every token on one expert)."""
import json
import sys


def load_ratio(run_dir, window=50):
    lines = [json.loads(l) for l in open(f"{run_dir}/metrics.jsonl") if '"moe"' in l]
    lines = lines[-window:]
    layers = len(lines[0]["moe"])
    out = []
    for i in range(layers):
        ratios = []
        for l in lines:
            load = l["moe"][i]["load"]
            ratios.append(max(load) / (sum(load) / len(load)))
        out.append(sum(ratios) / len(ratios))
    final_loss = lines[-1]["loss"]
    return out, final_loss, lines[-1]["step"]


runs = sys.argv[1:]
results = {r: load_ratio(r) for r in runs}
print("| run | step | final loss | " + " | ".join(f"layer {i + 1}" for i in range(len(next(iter(results.values()))[0]))) + " | mean |")
print("|---|---|---|" + "---|" * (len(next(iter(results.values()))[0]) + 1))
for r, (ratios, loss, step) in results.items():
    print(f"| {r} | {step} | {loss:.3f} | " + " | ".join(f"{x:.2f}" for x in ratios) +
          f" | {sum(ratios) / len(ratios):.2f} |")
