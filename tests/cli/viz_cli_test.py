#!/usr/bin/python3
"""End-to-end checks of `seekforge viz attention|experts|saliency` (run by ctest with the binary's
path): a byte-level copy of configs/tiny.toml (vocab 256) trained for a few steps, then each view
on a short prompt and on one long enough to be tiled; files exist, PNGs are PNGs, the HTML holds
the prompt's tokens; bad input (missing or corrupt checkpoint, layer, head or target out of
range, empty prompt, experts of a dense model) exits with status 1 and a message naming the
problem. Standard library only.
"""
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_support import Checks  # noqa: E402
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = sys.argv[1]
checks = Checks(BIN, timeout=300)
run, check, failures = checks.run, checks.check, checks.failures


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def train(out_dir, *extra):
    tiny = os.path.join(ROOT, "configs", "tiny.toml")
    run("train", "--config", tiny, "--set", "model.vocab_size=256", "--set", "train.max_steps=4",
        "--set", "train.eval_every=4", "--set", "train.eval_steps=1", "--set", "train.checkpoint_every=4",
        "--set", "train.batch_size=4", "--set", "train.seq_len=32", "--set", "train.out_dir=" + out_dir, *extra)
    ckpts = sorted(glob.glob(os.path.join(out_dir, "step-*")))
    check(len(ckpts) == 1, f"one checkpoint in {out_dir}: {ckpts}")
    return ckpts[-1] if ckpts else os.path.join(out_dir, "missing")


tmp = tempfile.mkdtemp(prefix="sf-viz-cli-")
try:
    ckpt = train(os.path.join(tmp, "run"))
    prompt = "the cat sat on the mat"

    out = os.path.join(tmp, "att")
    run("viz", "attention", "--checkpoint", ckpt, "--prompt", prompt, "--out", out)
    pngs = sorted(glob.glob(os.path.join(out, "*.png")))
    check(len(pngs) == 2, f"one image per layer: {pngs}")  # 2 layers, one block each
    check(all(is_png(p) for p in pngs), "attention PNGs are PNGs")
    check(len(glob.glob(os.path.join(out, "*.svg"))) == 2, "attention SVGs")
    html = open(os.path.join(out, "attention.html"), encoding="utf-8").read()
    check('"c","a","t"' in html and "\u2423" in html, "attention HTML holds the tokens")

    # A long prompt in blocks of 16 positions, one head of one layer.
    long_prompt = "abcdefghijklmnopqrstuvwxyz0123456789"  # 36 tokens: 3 query blocks, 6 tiles
    out = os.path.join(tmp, "att-long")
    run("viz", "attention", "--checkpoint", ckpt, "--prompt", long_prompt, "--layer", "1", "--head", "2",
        "--block", "16", "--out", out)
    pngs = sorted(os.path.basename(p) for p in glob.glob(os.path.join(out, "*.png")))
    check(len(pngs) == 6 and "attention-L1-H2-q32-35-k16-31.png" in pngs, f"tiles: {pngs}")

    out = os.path.join(tmp, "exp")
    run("viz", "experts", "--checkpoint", ckpt, "--prompt", prompt, "--out", out)
    for f in ("experts.html", "experts-load.png", "experts-load.svg", "experts-tokens.png"):
        check(os.path.exists(os.path.join(out, f)), f"experts wrote {f}")
    check(is_png(os.path.join(out, "experts-load.png")), "experts PNG is a PNG")
    html = open(os.path.join(out, "experts.html"), encoding="utf-8").read()
    check(">c</span>" in html and "gate weight" in html, "experts HTML holds the tokens and weights")

    out = os.path.join(tmp, "sal")
    p = run("viz", "saliency", "--checkpoint", ckpt, "--prompt", prompt, "--target", "8", "--out", out)
    check("most salient input" in p.stdout, f"saliency summary: {p.stdout}")
    for f in ("saliency.html", "saliency.png", "saliency.svg"):
        check(os.path.exists(os.path.join(out, f)), f"saliency wrote {f}")
    check(is_png(os.path.join(out, "saliency.png")), "saliency PNG is a PNG")
    html = open(os.path.join(out, "saliency.html"), encoding="utf-8").read()
    check(">c</span>" in html and "lm_head.weight" in html, "saliency HTML holds tokens and parameters")
    run("viz", "saliency", "--checkpoint", ckpt, "--prompt", prompt, "--target", str(len(prompt)), "--out", out)

    # Bad input.
    p = run("viz", "attention", "--checkpoint", os.path.join(tmp, "nope"), "--prompt", "x", expect=1)
    check("nope" in p.stderr and "does not exist" in p.stderr, f"missing checkpoint: {p.stderr}")
    bad = os.path.join(tmp, "corrupt")
    shutil.copytree(ckpt, bad)
    with open(os.path.join(bad, "model.safetensors"), "r+b") as f:
        f.truncate(100)
    p = run("viz", "experts", "--checkpoint", bad, "--prompt", "x", expect=1)
    check("model.safetensors" in p.stderr, f"corrupt checkpoint: {p.stderr}")
    p = run("viz", "attention", "--checkpoint", ckpt, "--prompt", "x", "--layer", "2", expect=1)
    check("--layer 2" in p.stderr and "0 to 1" in p.stderr, f"layer out of range: {p.stderr}")
    p = run("viz", "attention", "--checkpoint", ckpt, "--prompt", "x", "--head", "4", expect=1)
    check("--head 4" in p.stderr and "0 to 3" in p.stderr, f"head out of range: {p.stderr}")
    p = run("viz", "saliency", "--checkpoint", ckpt, "--prompt", "abc", "--target", "4", expect=1)
    check("--target 4" in p.stderr and "[1, 3]" in p.stderr, f"target out of range: {p.stderr}")
    p = run("viz", "saliency", "--checkpoint", ckpt, "--prompt", "abc", "--target", "0", expect=1)
    check("[1, 3]" in p.stderr, f"target 0: {p.stderr}")
    p = run("viz", "experts", "--checkpoint", ckpt, "--prompt", "", expect=1)
    check("prompt is empty" in p.stderr, f"empty prompt: {p.stderr}")
    dense = train(os.path.join(tmp, "dense"), "--set", "model.first_dense_layers=2")
    p = run("viz", "experts", "--checkpoint", dense, "--prompt", "x", expect=1)
    check("no MoE layers" in p.stderr, f"experts of a dense model: {p.stderr}")
    check("Traceback" not in p.stderr, "no traceback")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

for f in failures:
    print("FAIL:", f)
print("viz cli:", "ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
