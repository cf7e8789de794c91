#!/usr/bin/python3
"""End-to-end checks of `seekforge tokenizer` (run by ctest with the binary's path):

- train -> encode -> decode gives back the file's bytes (invalid UTF-8 included);
- export to Hugging Face tokenizer.json and import it back gives the same ids and hash;
- bad input (missing file, binary file, small vocabulary, bad regex, malformed JSON or tiktoken
  file) fails with exit status 1 and a message naming the input.
Standard library only.
"""
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

BIN = sys.argv[1]
failures = []


def run(*args, expect=0):
    p = subprocess.run([BIN, "tokenizer", *args], capture_output=True, timeout=120)
    if p.returncode != expect:
        failures.append(f"tokenizer {' '.join(args)}: exit {p.returncode}, expected {expect}\n"
                        f"{p.stdout.decode(errors='replace')}\n{p.stderr.decode(errors='replace')}")
    return p


def check(cond, what):
    if not cond:
        failures.append(what)


def error_names(p, *fragments):
    err = p.stderr.decode(errors="replace")
    for f in fragments:
        check(f in err, f"expected '{f}' in the error: {err}")


tmp = tempfile.mkdtemp(prefix="sf-tok-cli-")
try:
    path = lambda name: os.path.join(tmp, name)  # noqa: E731
    rng = random.Random(5)
    words = ["the", "model", "routes", "tokens", "to", "experts", "中文", "😀", "don't", "42", "3.14"]
    text = " ".join(rng.choice(words) for _ in range(20000)).encode() + b"\xff\xfe broken \xc3"
    with open(path("corpus.txt"), "wb") as f:
        f.write(text)

    p = run("train", "--in", path("corpus.txt"), "--vocab-size", "400", "--out", path("t.json"))
    check(b"hash" in p.stdout, f"train prints the hash: {p.stdout}")
    train_hash = p.stdout.split(b"hash ")[-1]
    check(b"merges" in p.stderr, "train shows progress on stderr")
    run("encode", "--tokenizer", path("t.json"), "--in", path("corpus.txt"), "--out", path("ids.json"))
    ids = json.load(open(path("ids.json")))
    check(isinstance(ids, list) and 0 < len(ids) < len(text) // 2, "encode writes one array of ids")
    p = run("encode", "--tokenizer", path("t.json"), "--in", path("corpus.txt"))
    check(json.loads(p.stdout) == ids, "encode to stdout equals --out")
    p = run("decode", "--tokenizer", path("t.json"), "--in", path("ids.json"))
    check(p.stdout == text, "decode(encode(x)) == x through the program")

    run("export", "--tokenizer", path("t.json"), "--hf", path("hf.json"))
    check(json.load(open(path("hf.json")))["model"]["type"] == "BPE", "export writes a BPE model")
    p = run("import", "--hf", path("hf.json"), "--out", path("t2.json"))
    check(p.stdout.split(b"hash ")[-1] == train_hash, "the HF round trip keeps the tokenizer hash")
    run("encode", "--tokenizer", path("t2.json"), "--in", path("corpus.txt"), "--out", path("ids2.json"))
    check(json.load(open(path("ids2.json"))) == ids, "HF round trip encodes the same")
    # A tiktoken file with the 256 bytes and two merges.
    lines = [base64.b64encode(bytes([b])).decode() + f" {b}" for b in range(256)]
    lines += [base64.b64encode(b"th").decode() + " 256", base64.b64encode(b"the").decode() + " 257"]
    with open(path("t.tiktoken"), "w") as f:
        f.write("\n".join(lines) + "\n")
    run("import", "--tiktoken", path("t.tiktoken"), "--pattern", "gpt2", "--out", path("tt.json"))
    with open(path("the.txt"), "wb") as f:
        f.write(b"the")
    p = run("encode", "--tokenizer", path("tt.json"), "--in", path("the.txt"))
    check(json.loads(p.stdout) == [257], f"tiktoken import encodes 'the' as 257: {p.stdout}")

    # Bad input.
    error_names(run("train", "--in", path("missing.txt"), "--vocab-size", "400", "--out", path("x.json"),
                    expect=1), "missing.txt")
    with open(path("bin.dat"), "wb") as f:
        f.write(b"ab\x00cd")
    error_names(run("train", "--in", path("bin.dat"), "--vocab-size", "400", "--out", path("x.json"),
                    expect=1), "bin.dat", "NUL byte")
    open(path("empty.txt"), "wb").close()
    error_names(run("train", "--in", path("empty.txt"), "--vocab-size", "400", "--out", path("x.json"),
                    expect=1), "empty.txt", "is empty")
    error_names(run("train", "--in", path("corpus.txt"), "--vocab-size", "100", "--out", path("x.json"),
                    expect=1), "vocabulary size 100")
    error_names(run("train", "--in", path("corpus.txt"), "--vocab-size", "400", "--pattern", "[a-",
                    "--out", path("x.json"), expect=1), "invalid pre-tokenisation regex '[a-'", "offset")
    with open(path("bad.json"), "w") as f:
        f.write('{"format": "seekforge-tokenizer",\n "version": 1,\n oops}')
    error_names(run("encode", "--tokenizer", path("bad.json"), "--in", path("the.txt"), expect=1),
                "bad.json", "line 3")
    with open(path("bad.tiktoken"), "w") as f:
        f.write("\n".join(lines[:10]) + "\nnot-base64 10\n")
    error_names(run("import", "--tiktoken", path("bad.tiktoken"), "--pattern", "gpt2", "--out",
                    path("x.json"), expect=1), "bad.tiktoken", "line 11")
    error_names(run("import", "--tiktoken", path("t.tiktoken"), "--pattern", "gpt9", "--out",
                    path("x.json"), expect=1), "gpt9", "gpt2, cl100k, o200k")
    with open(path("bad_ids.json"), "w") as f:
        f.write("[1, 2, 999999]")
    error_names(run("decode", "--tokenizer", path("t.json"), "--in", path("bad_ids.json"), expect=1),
                "id 999999")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

for f in failures:
    print("FAIL:", f)
print(f"tokenizer cli: {'ok' if not failures else f'{len(failures)} failures'}")
sys.exit(1 if failures else 0)
