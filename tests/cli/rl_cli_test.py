#!/usr/bin/python3
"""End-to-end check of R1-style post-training (run by ctest with the binary's path): write
2-digit addition problems with worked solutions (`seekforge tasks`), fine-tune configs/tiny-chat.toml
on them just long enough to learn the format and part of the arithmetic (`seekforge sft`),
measure held-out accuracy (`rl --eval-only`), run GRPO with configs/rl-addition.toml and require
the held-out accuracy to rise by at least 15 points; then a few steps of PPO and of evolution
strategies from the same start, the RL report, and the refusals (an unknown config key named
with its line, a starting checkpoint without a chat tokenizer). Standard library only.
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_support import Checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = sys.argv[1]
MODEL = os.path.join(ROOT, "configs", "tiny-chat.toml")
RL = os.path.join(ROOT, "configs", "rl-addition.toml")
SFT_STEPS = 150
# The config's own 160 steps: with 120 the lift was +25 points on one build and +19 on another
# whose exp rounds differently (SFT ends elsewhere), too close to the +15 required.
GRPO_STEPS = 160
checks = Checks(BIN, timeout=900)
run, check, failures = checks.run, checks.check, checks.failures


def metrics(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def held_out(lines):
    return [m["test_accuracy"] for m in lines if "test_accuracy" in m]


tmp = tempfile.mkdtemp(prefix="sf-rl-cli-")
try:
    started = time.time()
    train = os.path.join(tmp, "train.jsonl")
    test = os.path.join(tmp, "test.jsonl")
    run("tasks", "--task", "addition", "--min-digits", "1", "--max-digits", "2", "--split", "train",
        "--count", "20000", "--seed", "1", "--out", train)
    run("tasks", "--task", "addition", "--min-digits", "1", "--max-digits", "2", "--split", "test",
        "--count", "200", "--out", test)
    if os.path.isfile(train) and os.path.isfile(test):
        train_prompts = {json.loads(l)["prompt"] for l in open(train)}
        test_prompts = {json.loads(l)["prompt"] for l in open(test)}
        check(len(test_prompts) == 200, f"200 distinct test problems, got {len(test_prompts)}")
        check(not (train_prompts & test_prompts),
              f"train and test share prompts: {sorted(train_prompts & test_prompts)[:5]}")
        first = json.loads(open(train).readline())
        check(re.fullmatch(r"<think>.*</think><answer>\d+</answer>", first["response"]) is not None,
              f"worked solution in the R1 format: {first}")

    sft = os.path.join(tmp, "sft")
    run("sft", "--config", MODEL, "--data", train, "--set", f"train.out_dir={sft}",
        "--set", f"train.max_steps={SFT_STEPS}", "--set", "train.eval_every=0")
    start = os.path.join(sft, f"step-{SFT_STEPS:06d}")
    sft_s = time.time() - started

    p = run("rl", "--config", RL, "--checkpoint", start, "--eval-only")
    m = re.search(r"held-out accuracy ([0-9.]+)%", p.stdout)
    check(m is not None, f"--eval-only prints the accuracy: {p.stdout}")
    before = float(m.group(1)) / 100 if m else 0.0

    grpo = os.path.join(tmp, "grpo")
    t0 = time.time()
    p = run("rl", "--config", RL, "--checkpoint", start, "--out-dir", grpo,
            "--set", f"rl.steps={GRPO_STEPS}")
    grpo_s = time.time() - t0
    lines = metrics(grpo)
    acc = held_out(lines)
    check(len(acc) >= 2, f"evaluations at the start and the end: {acc}")
    if len(acc) >= 2:
        # --eval-only prints one decimal of a percent, so equal means equal to that precision.
        check(abs(round(100 * acc[0], 1) - 100 * before) < 1e-6,
              f"the run's first evaluation {acc[0]} is --eval-only's {before}")
        lift = acc[-1] - acc[0]
        print(f"GRPO: held-out accuracy {100 * acc[0]:.1f}% -> {100 * acc[-1]:.1f}% "
              f"({100 * lift:+.1f} points) in {GRPO_STEPS} steps, {grpo_s:.0f} s, "
              f"after {sft_s:.0f} s of SFT")
        check(lift >= 0.15, f"GRPO must lift held-out accuracy by >= 15 points: {acc}")
    steps = [m for m in lines if "reward_mean" in m]
    for key in ("reward_std", "accuracy", "format_rate", "kl", "clip_fraction", "response_len",
                "rollout_s", "score_s", "update_s", "reward_accuracy", "reward_format"):
        check(all(key in m for m in steps), f"every GRPO step line has {key}")
    final = [d for d in sorted(os.listdir(grpo)) if d.startswith("step-")] if os.path.isdir(grpo) else []
    check(bool(final), "GRPO wrote a checkpoint")
    if final:
        ckpt = os.path.join(grpo, final[-1])
        p = run("generate", "--checkpoint", ckpt, "--chat", "--prompt", "47+38",
                "--temperature", "0", "--max-tokens", "40")
        check("<answer>" in p.stdout, f"the RL checkpoint answers in the format: {p.stdout}")
    p = run("report", grpo)
    check(os.path.isfile(os.path.join(grpo, "report.html")), f"RL report written: {p.stdout}")

    ppo = os.path.join(tmp, "ppo")
    run("rl", "--config", RL, "--checkpoint", start, "--algo", "ppo", "--out-dir", ppo,
        "--set", "rl.steps=4", "--set", "rl.group_size=2", "--set", "rl.eval_problems=20",
        "--set", "rl.ppo.replay_fraction=0.5")
    ppo_steps = [m for m in metrics(ppo) if "reward_mean" in m]
    check(len(ppo_steps) == 4, f"PPO ran 4 steps: {len(ppo_steps)}")
    check(all("value_loss" in m and "clip_eps" in m for m in ppo_steps), "PPO logs value loss and clip")
    check(sum(m.get("replayed", 0) for m in ppo_steps[1:]) > 0, "PPO replays older rollouts")

    es = os.path.join(tmp, "es")
    run("rl", "--config", RL, "--checkpoint", start, "--algo", "es", "--out-dir", es,
        "--set", "rl.steps=3", "--set", "rl.es.population=4", "--set", "rl.es.problems=16",
        "--set", "rl.eval_problems=20")
    best = [m["best_fitness"] for m in metrics(es) if "best_fitness" in m]
    check(len(best) == 3 and best == sorted(best), f"ES best fitness never falls: {best}")
    es_ckpt = [d for d in sorted(os.listdir(es)) if d.startswith("step-")] if os.path.isdir(es) else []
    if es_ckpt:  # the best member hands over to GRPO
        run("rl", "--config", RL, "--checkpoint", os.path.join(es, es_ckpt[-1]), "--out-dir",
            os.path.join(tmp, "es-then-grpo"), "--set", "rl.steps=1", "--set", "rl.eval_problems=10")

    bad = os.path.join(tmp, "bad.toml")
    with open(bad, "w") as f:
        f.write("[rl]\nsteps = 3\ngroup_sise = 4\n")
    p = run("rl", "--config", bad, "--checkpoint", start, expect=1)
    check("bad.toml:3:1: unknown key 'rl.group_sise' (did you mean 'group_size'?)" in p.stderr,
          f"unknown key named with its line: {p.stderr}")
    p = run("rl", "--config", RL, "--checkpoint", start, "--set", "rl.group_size=1", expect=1)
    check("rl.group_size = 1" in p.stderr, f"out-of-range value named: {p.stderr}")
    p = run("tasks", "--task", "poetry", "--split", "train", "--count", "1", "--out",
            os.path.join(tmp, "x.jsonl"), expect=1)
    check("poetry" in p.stderr, f"unknown task named: {p.stderr}")
    # A model trained on synthetic ids has no text form, let alone chat tokens.
    plain = os.path.join(tmp, "plain")
    run("train", "--config", os.path.join(ROOT, "configs", "tiny.toml"), "--set",
        f"train.out_dir={plain}", "--set", "train.max_steps=2", "--set", "train.eval_every=0")
    p = run("rl", "--config", RL, "--checkpoint", os.path.join(plain, "step-000002"),
            "--set", "rl.steps=1", expect=1)
    check("seekforge sft" in p.stderr,
          f"a start without a chat tokenizer is refused saying what to do: {p.stderr}")
    print(f"rl_cli: {time.time() - started:.0f} s")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    print("\n\n".join(failures))
    sys.exit(1)
print("rl_cli: all checks passed")
