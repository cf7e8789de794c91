#!/usr/bin/python3
"""End-to-end checks of `seekforge data tokenize` and `data stats` (run by ctest with the
binary's path): a generated two-domain corpus (JSONL and .txt) -> tokenizer train -> tokenize ->
stats table -> a few training steps on the dataset with each loader; and bad input (missing
input, binary file, bad JSONL line, a tokenizer file that does not load) fails with exit status 1
and a message naming the input. Standard library only.
"""
import json
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


tmp = tempfile.mkdtemp(prefix="sf-dataset-cli-")
try:
    corpus = os.path.join(tmp, "corpus")
    os.makedirs(os.path.join(corpus, "code"))
    with open(os.path.join(corpus, "prose.jsonl"), "w") as f:
        for i in range(60):
            text = f"Sentence {i}: the quick brown fox jumps over the lazy dog, again and again."
            f.write(json.dumps({"id": i, "text": text, "domain": "prose"}) + "\n")
    for i in range(20):
        with open(os.path.join(corpus, "code", f"f{i}.txt"), "w") as f:
            f.write(f"int f{i}(int x) {{\n  return x * {i} + 1;\n}}\n" * 3)
    train_text = os.path.join(tmp, "train.txt")
    with open(train_text, "w") as f:
        f.write(open(os.path.join(corpus, "prose.jsonl")).read() + open(os.path.join(corpus, "code", "f1.txt")).read())
    tok = os.path.join(tmp, "tok.json")
    run("tokenizer", "train", "--in", train_text, "--vocab-size", "400", "--out", tok)

    out = os.path.join(tmp, "ds")
    p = run("data", "tokenize", "--tokenizer", tok, "--in", corpus, "--out", out, "--val-fraction", "0.1")
    check("80 documents" in p.stdout, f"tokenize summary: {p.stdout}")
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    check(set(manifest["stats"]["domains"]) == {"prose", "code"}, f"domains: {manifest['stats']}")
    check(manifest["tokenizer_hash"].startswith("fnv1a64:"), "tokenizer hash recorded")
    p = run("data", "stats", out)
    rows = {l.split()[0]: l.split() for l in p.stdout.splitlines() if l.startswith("  ")}
    check("prose" in rows and "code" in rows and "total" in rows, f"stats table: {p.stdout}")
    check("train" in p.stdout and "val" in p.stdout, f"stats splits: {p.stdout}")

    # A few training steps on the dataset, packed with domain mixing and bucketed.
    tiny = os.path.join(ROOT, "configs", "tiny.toml")
    for extra in (["--set", "data.domain_weights={prose = 0.5, code = 0.5}"],
                  ["--set", "data.loader=bucketed"]):
        run_dir = os.path.join(tmp, "run-" + str(len(extra[1])))
        run("train", "--config", tiny, "--set", "model.vocab_size=512", "--set", "data.synthetic=",
            "--set", "data.path=" + out, "--set", "train.max_steps=3", "--set", "train.eval_every=3",
            "--set", "train.eval_steps=1", "--set", "train.seq_len=16",
            "--set", "train.out_dir=" + run_dir, *extra)

    # Bad input.
    p = run("data", "tokenize", "--tokenizer", tok, "--in", os.path.join(tmp, "nope"), "--out", out, expect=1)
    check("nope" in p.stderr and "no such file" in p.stderr, f"missing input: {p.stderr}")
    with open(os.path.join(tmp, "bin.txt"), "wb") as f:
        f.write(b"abc\0def")
    p = run("data", "tokenize", "--tokenizer", tok, "--in", os.path.join(tmp, "bin.txt"), "--out", out, expect=1)
    check("bin.txt" in p.stderr and "binary" in p.stderr, f"binary input: {p.stderr}")
    with open(os.path.join(tmp, "bad.jsonl"), "w") as f:
        f.write('{"text": "fine"}\n{"text": broken}\n')
    p = run("data", "tokenize", "--tokenizer", tok, "--in", os.path.join(tmp, "bad.jsonl"), "--out", out, expect=1)
    check("bad.jsonl:2" in p.stderr, f"bad JSONL line: {p.stderr}")
    with open(os.path.join(tmp, "badtok.json"), "w") as f:
        f.write("{not json")
    p = run("data", "tokenize", "--tokenizer", os.path.join(tmp, "badtok.json"), "--in", corpus, "--out", out, expect=1)
    check("badtok.json" in p.stderr, f"bad tokenizer: {p.stderr}")
    p = run("data", "stats", os.path.join(tmp, "nope"), expect=1)
    check("nope" in p.stderr, f"stats of a missing dataset: {p.stderr}")
    check("Traceback" not in p.stderr, "no traceback")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

for f in failures:
    print("FAIL:", f)
print("dataset cli:", "ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
