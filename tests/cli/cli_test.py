#!/usr/bin/python3
"""End-to-end checks of the seekforge program (run by ctest with the binary's path):

- fwdbwd on a whole-model fixture reproduces the PyTorch reference's loss and every gradient;
- train -> eval -> generate on the tiny config, then a resume that continues the same run;
- bad input (unknown config key, malformed batch, corrupt checkpoint) fails with exit status 1
  and a message naming the problem, without a traceback or a crash.
Uses only the standard library and numpy (the fixtures' reader).
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_support import Checks  # noqa: E402
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import st_io  # noqa: E402

BIN = sys.argv[1]
checks = Checks(BIN, timeout=600)
run, check, failures = checks.run, checks.check, checks.failures


def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


tmp = tempfile.mkdtemp(prefix="sf-cli-")
try:
    # fwdbwd against the reference
    t, meta = st_io.read_safetensors(os.path.join(ROOT, "tests/reference/fixtures/model_gqa_window_moe_sigmoid.safetensors"))
    cfg = os.path.join(tmp, "model.toml")
    with open(cfg, "w") as f:
        f.write(meta["config"])
    skip = {"input_ids", "labels", "loss", "logits", "ce", "balance", "mtp_loss", "train_losses"}
    weights = [(k, v) for k, v in t.items()
               if k not in skip and not k.endswith(".grad") and not k.startswith("moe.")]
    st_io.write_safetensors(os.path.join(tmp, "w.safetensors"), weights, {})
    with open(os.path.join(tmp, "batch.json"), "w") as f:
        json.dump({"input_ids": t["input_ids"].tolist(), "labels": t["labels"].tolist()}, f)
    out = os.path.join(tmp, "out.safetensors")
    run("fwdbwd", "--config", cfg, "--weights", os.path.join(tmp, "w.safetensors"),
        "--batch", os.path.join(tmp, "batch.json"), "--out", out)
    o, _ = st_io.read_safetensors(out)
    check(rel_err(o["loss"], t["loss"]) < 2e-5, f"fwdbwd loss {o['loss']} vs {t['loss']}")
    check(rel_err(o["logits"], t["logits"]) < 2e-5, "fwdbwd logits")
    grads = [k for k in t if k.endswith(".grad")]
    check(len(grads) > 10 and all(k in o for k in grads), "fwdbwd wrote every gradient")
    worst = max(rel_err(o[k], t[k]) for k in grads)
    check(worst < 2e-5, f"fwdbwd worst gradient error {worst}")

    # train, eval, generate, resume on the tiny config
    run_dir = os.path.join(tmp, "run")
    tiny = os.path.join(ROOT, "configs/tiny.toml")
    sets = ["--set", f"train.out_dir={run_dir}", "--set", "train.max_steps=20",
            "--set", "train.checkpoint_every=10", "--set", "train.eval_every=10"]
    p = run("train", "--config", tiny, *sets)
    check("step 20/20" in p.stdout, "train shows progress")
    check(os.path.isdir(os.path.join(run_dir, "step-000020")), "final checkpoint written")
    lines = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    check(sum("loss" in l for l in lines) == 20 and sum("val_loss" in l for l in lines) == 2,
          "metrics.jsonl has 20 step lines and 2 evaluations")
    p = run("eval", "--checkpoint", os.path.join(run_dir, "step-000020"))
    check("val_loss" in p.stdout and "perplexity" in p.stdout, "eval prints loss and perplexity")
    p = run("generate", "--checkpoint", os.path.join(run_dir, "step-000020"),
            "--prompt-ids", "5 6 7 8", "--max-tokens", "5", "--temperature", "0")
    check(p.stdout.count("<") == 9, f"generate streams 4 prompt + 5 new tokens: {p.stdout!r}")
    run("train", "--config", tiny, *sets, "--set", "train.max_steps=30",
        "--resume", os.path.join(run_dir, "step-000020"))
    lines = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    steps = [l["step"] for l in lines if "loss" in l]
    check(steps == list(range(1, 31)), f"resumed metrics tell one history: {steps}")

    # bad input
    p = run("train", "--config", tiny, "--set", "model.d_modle=3", expect=1)
    check("d_modle" in p.stderr and "did you mean 'model.d_model'" in p.stderr, f"unknown key: {p.stderr}")
    with open(os.path.join(tmp, "bad.json"), "w") as f:
        f.write('{"input_ids": [[1, 2], [3]], "labels": [[1, 2], [3, 4]]}')
    p = run("fwdbwd", "--config", cfg, "--weights", os.path.join(tmp, "w.safetensors"),
            "--batch", os.path.join(tmp, "bad.json"), "--out", os.path.join(tmp, "x.safetensors"), expect=1)
    check("row 1" in p.stderr, f"ragged batch: {p.stderr}")
    ck = os.path.join(run_dir, "step-000030", "model.safetensors")
    with open(ck, "r+b") as f:
        f.seek(-3, 2)
        f.write(b"\x00\x01\x02")
    p = run("eval", "--checkpoint", os.path.join(run_dir, "step-000030"), expect=1)
    check("model.safetensors" in p.stderr, f"corrupt checkpoint named: {p.stderr}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    print("\n".join(failures))
    print(f"0 passed, {len(failures)} failed")
    sys.exit(1)
print("cli checks passed")
