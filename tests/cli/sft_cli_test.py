#!/usr/bin/python3
"""End-to-end checks of `seekforge sft` (run by ctest with the binary's path): fine-tune
configs/tiny-chat.toml for a few steps on 2-digit additions written here with a worked format
("12+34" -> "<think>2+4=6, 1+3=4</think><answer>46</answer>"), then check metrics.jsonl, the
run's tokenizer.json, `eval` on the checkpoint, `generate --chat`, a second run started from the
first one's weights with --init (which keeps its tokenizer), --resume, and the refusals: a bad
JSONL line named file:line, `generate --chat` on a model without chat tokens. Standard library
only.
"""
import json
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_support import Checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = sys.argv[1]
CONFIG = os.path.join(ROOT, "configs", "tiny-chat.toml")
checks = Checks(BIN, timeout=300)
run, check, failures = checks.run, checks.check, checks.failures


def worked(a, b):
    ones = a % 10 + b % 10
    carry = ones // 10
    tens = a // 10 + b // 10 + carry
    second = f"{a // 10}+{b // 10}+{carry}={tens}" if carry else f"{a // 10}+{b // 10}={tens}"
    return f"<think>{a % 10}+{b % 10}={ones}, {second}</think><answer>{a + b}</answer>"


def metrics(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


tmp = tempfile.mkdtemp(prefix="sf-sft-cli-")
try:
    data = os.path.join(tmp, "add.jsonl")
    rng = random.Random(0)
    with open(data, "w") as f:
        for _ in range(400):
            a, b = rng.randrange(10, 100), rng.randrange(10, 100)
            f.write(json.dumps({"prompt": f"{a}+{b}", "response": worked(a, b)}) + "\n")

    first = os.path.join(tmp, "first")
    p = run("sft", "--config", CONFIG, "--data", data, "--set", f"train.out_dir={first}",
            "--set", "train.max_steps=20", "--set", "train.eval_every=10",
            "--set", "train.eval_steps=2", "--set", "train.log_every=10")
    check("sft: data " + data in p.stdout and "tokenizer byte-chat" in p.stdout,
          f"sft says what it reads: {p.stdout}")
    check("SFT examples" in p.stdout and "done: 20 steps" in p.stdout, f"summary: {p.stdout}")
    ckpt = os.path.join(first, "step-000020")
    check(os.path.isfile(os.path.join(ckpt, "model.safetensors")), f"{ckpt} written")
    lines = metrics(first) if os.path.isfile(os.path.join(first, "metrics.jsonl")) else []
    steps = [m for m in lines if "loss" in m]
    evals = [m for m in lines if "val_loss" in m]
    check(len(steps) == 20 and len(evals) == 2, f"20 step lines and 2 evaluations: {lines[:3]}")
    if steps and evals:
        check(steps[-1]["loss"] < steps[0]["loss"], "the loss falls")
        check(0 < evals[-1]["val_loss"] < steps[0]["loss"], f"val loss {evals[-1]}")
    tok_path = os.path.join(first, "tokenizer.json")
    check(os.path.isfile(tok_path), "the run directory holds its tokenizer")
    if os.path.isfile(tok_path):
        tok = json.load(open(tok_path))
        check(tok.get("format") == "seekforge-tokenizer" and tok.get("vocab_size") == 266,
              f"tokenizer.json is the byte chat tokenizer: {str(tok)[:200]}")

    p = run("eval", "--checkpoint", ckpt, "--batches", "2")
    check("val_loss" in p.stdout and "over 0 tokens" not in p.stdout, f"eval: {p.stdout}")
    p = run("generate", "--checkpoint", ckpt, "--chat", "--prompt", "12+34", "--temperature", "0",
            "--max-tokens", "30")
    check(not p.stdout.startswith("12+34") and p.stdout.endswith("\n"),
          f"generate --chat prints the response only: {p.stdout!r}")

    # A second stage from the first one's weights: its tokenizer comes along, the optimiser
    # starts again, and the first loss is the trained model's, well below a fresh start's.
    second = os.path.join(tmp, "second")
    p = run("sft", "--config", CONFIG, "--data", data, "--init", ckpt,
            "--set", f"train.out_dir={second}", "--set", "train.max_steps=3",
            "--set", "train.eval_every=0")
    check("weights from " + ckpt in p.stdout and "tokenizer " + tok_path in p.stdout,
          f"--init names the weights and the tokenizer: {p.stdout}")
    if os.path.isfile(os.path.join(second, "metrics.jsonl")) and steps:
        again = [m for m in metrics(second) if "loss" in m]
        check(len(again) == 3 and again[0]["loss"] < steps[0]["loss"] - 1.0,
              f"--init starts from the trained weights: {again[:1]} vs {steps[:1]}")
    check(os.path.isfile(os.path.join(second, "tokenizer.json")), "the second run's tokenizer")

    p = run("sft", "--config", CONFIG, "--data", data, "--resume", ckpt,
            "--set", f"train.out_dir={first}", "--set", "train.max_steps=22",
            "--set", "train.eval_every=0")
    check("resumed at step 20" in p.stdout and "done: 22 steps" in p.stdout, f"resume: {p.stdout}")

    bad = os.path.join(tmp, "bad.jsonl")
    with open(bad, "w") as f:
        f.write(json.dumps({"prompt": "1+1", "response": "<answer>2</answer>"}) + "\n")
        f.write(json.dumps({"prompt": "2+2"}) + "\n")
    p = run("sft", "--config", CONFIG, "--data", bad, "--set", f"train.out_dir={tmp}/bad",
            expect=1)
    check(f"{bad}:2:" in p.stderr and '"response" is missing' in p.stderr,
          f"a bad line is named: {p.stderr}")

    # A model whose ids have no text form has no chat template.
    plain = os.path.join(tmp, "plain")
    run("train", "--config", os.path.join(ROOT, "configs", "tiny.toml"),
        "--set", "train.max_steps=1", "--set", f"train.out_dir={plain}")
    p = run("generate", "--checkpoint", os.path.join(plain, "step-000001"), "--chat",
            "--prompt", "hi", expect=1)
    check("--chat" in p.stderr and "no chat special tokens" in p.stderr,
          f"--chat without chat tokens: {p.stderr}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

for f in failures:
    print("FAIL:", f)
print("sft cli:", "ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
