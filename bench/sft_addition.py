#!/usr/bin/python3
"""How far supervised fine-tuning takes configs/tiny-chat.toml on 2-digit addition (the table in
docs/sft.md). Writes the 8,100 sums a+b with a, b in 10..99 in the worked format
("57+68" -> "<think>7+8=15, 5+6+1=12</think><answer>125</answer>"), holds 50 of them out, runs
`seekforge sft` with a checkpoint every --every steps, then prints the greedy exact-answer
accuracy of each checkpoint on the held-out prompts (`generate --chat --temperature 0`).

  bench/sft_addition.py [--bin build/seekforge] [--steps 300] [--every 25] [--seed 0] [--keep DIR]

Standard library only. With --keep DIR the data, run directory and held-out prompts stay in DIR
(a starting point for RL on the same task); otherwise a temporary directory is removed.
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worked(a, b):
    ones = a % 10 + b % 10
    carry = ones // 10
    tens = a // 10 + b // 10 + carry
    second = f"{a // 10}+{b // 10}+{carry}={tens}" if carry else f"{a // 10}+{b // 10}={tens}"
    return f"<think>{a % 10}+{b % 10}={ones}, {second}</think><answer>{a + b}</answer>"


def accuracy(binary, checkpoint, held):
    right = well_formed = 0
    for a, b in held:
        out = subprocess.run([binary, "generate", "--checkpoint", checkpoint, "--chat",
                              "--prompt", f"{a}+{b}", "--temperature", "0", "--max-tokens", "48"],
                             capture_output=True, text=True, check=True).stdout.strip()
        m = re.fullmatch(r"<think>.*</think><answer>(\d+)</answer>", out)
        well_formed += m is not None
        right += m is not None and m.group(1) == str(a + b)
    return right, well_formed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "seekforge"))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", help="keep the data and the run in this directory")
    args = ap.parse_args()

    work = args.keep or tempfile.mkdtemp(prefix="sf-sft-addition-")
    os.makedirs(work, exist_ok=True)
    try:
        pairs = [(a, b) for a in range(10, 100) for b in range(10, 100)]
        random.Random(0).shuffle(pairs)
        held, train = pairs[:50], pairs[50:]
        data = os.path.join(work, "add.jsonl")
        with open(data, "w") as f:
            for a, b in train:
                f.write(json.dumps({"prompt": f"{a}+{b}", "response": worked(a, b)}) + "\n")
        with open(os.path.join(work, "held_out.jsonl"), "w") as f:
            for a, b in held:
                f.write(json.dumps({"prompt": f"{a}+{b}", "answer": str(a + b)}) + "\n")
        run_dir = os.path.join(work, "run")
        shutil.rmtree(run_dir, ignore_errors=True)
        start = time.monotonic()
        subprocess.run([args.bin, "sft", "--config", os.path.join(ROOT, "configs", "tiny-chat.toml"),
                        "--data", data, "--set", f"train.out_dir={run_dir}",
                        "--set", f"train.max_steps={args.steps}", "--set", f"train.seed={args.seed}",
                        "--set", f"train.checkpoint_every={args.every}",
                        "--set", f"train.keep_checkpoints={args.steps // args.every + 1}"],
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.monotonic() - start
        print(f"sft: {args.steps} steps in {seconds:.1f} s (seed {args.seed})")
        with open(os.path.join(run_dir, "metrics.jsonl")) as f:
            for line in f:
                m = json.loads(line)
                if "val_loss" in m:
                    print(f"  step {m['step']}: val_loss {m['val_loss']:.4f}")
        for name in sorted(os.listdir(run_dir)):
            if name.startswith("step-"):
                right, ok = accuracy(args.bin, os.path.join(run_dir, name), held)
                print(f"  {name}: accuracy {right}/{len(held)} = {right / len(held):.0%}, "
                      f"well-formed {ok}/{len(held)}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
