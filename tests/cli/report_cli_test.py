#!/usr/bin/python3
"""End-to-end checks of `seekforge report` (run by ctest with the binary's path): train
configs/tiny.toml for 30 steps with evaluations and checkpoints, report on the run directory
(into it and into --out), check report.html and each chart's PNG and SVG; a torn last metrics
line still reports with a warning naming the line; a missing run directory fails with exit
status 1 naming it; a run directory with rl.toml (written by hand) gets the RL report.
Standard library only.
"""
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_support import Checks  # noqa: E402
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = sys.argv[1]
checks = Checks(BIN, timeout=300)
run, check, failures = checks.run, checks.check, checks.failures
CHARTS = ["loss", "lr", "grad_norm", "throughput", "expert_load_layer0", "expert_tokens_layer0"]


def check_report(out):
    html_path = os.path.join(out, "report.html")
    check(os.path.isfile(html_path), f"{html_path} written")
    if os.path.isfile(html_path):
        html = open(html_path, encoding="utf-8").read()
        check("data:image/png;base64," in html, "charts embedded in the HTML")
        check("<script" not in html and "http://" not in html and "https://" not in html,
              "report.html fetches nothing")
        check("finished (30 of 30 steps)" in html, "status in the summary table")
    for name in CHARTS:
        png = os.path.join(out, name + ".png")
        svg = os.path.join(out, name + ".svg")
        check(os.path.isfile(png) and os.path.getsize(png) > 0, f"{png} written")
        check(os.path.isfile(svg) and "</svg>" in open(svg).read(), f"{svg} written")
        if os.path.isfile(png):
            data = open(png, "rb").read(24)
            check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is a PNG")
            w, h = struct.unpack(">II", data[16:24])
            check(w > 0 and h > 0, f"{png} has a size ({w} x {h})")


tmp = tempfile.mkdtemp(prefix="sf-report-cli-")
try:
    runs = os.path.join(tmp, "run")
    run("train", "--config", os.path.join(ROOT, "configs", "tiny.toml"),
        "--set", "train.max_steps=30", "--set", f"train.out_dir={runs}",
        "--set", "train.eval_every=10", "--set", "train.checkpoint_every=15")
    p = run("report", runs)
    check("report.html" in p.stdout, f"report prints what it wrote: {p.stdout}")
    check_report(runs)
    out = os.path.join(tmp, "elsewhere")
    run("report", runs, "--out", out)
    check_report(out)

    with open(os.path.join(runs, "metrics.jsonl"), "a") as f:
        f.write('{"step":31,"loss":1.2,"ce_')  # a crash mid-write
    lines = sum(1 for _ in open(os.path.join(runs, "metrics.jsonl")))
    p = run("report", runs)
    check(f"metrics.jsonl:{lines}" in p.stderr and "warning" in p.stderr,
          f"torn last line warned about: {p.stderr}")

    rl = os.path.join(tmp, "rl")
    os.makedirs(rl)
    with open(os.path.join(rl, "rl.toml"), "w") as f:
        f.write('[rl]\nalgo = "grpo"\n[task]\nname = "arithmetic"\n')
    with open(os.path.join(rl, "metrics.jsonl"), "w") as f:
        f.write('{"step":0,"test_accuracy":0.2,"test_format_rate":0.5,"eval_s":1.0}\n')
        for s in range(1, 11):
            f.write(f'{{"step":{s},"reward_mean":{0.1 * s},"reward_std":0.2,'
                    f'"reward_accuracy":{0.05 * s},"accuracy":{0.05 * s},"kl":{0.001 * s},'
                    f'"clip_fraction":0.01,"rollout_s":1.0,"score_s":0.01,"update_s":0.5}}\n')
        f.write('{"step":10,"test_accuracy":0.45,"test_format_rate":0.9,"eval_s":1.0}\n')
    p = run("report", rl)
    check("report.html" in p.stdout, f"RL report prints what it wrote: {p.stdout}")
    for name in ["reward", "accuracy", "kl_clip", "time"]:
        png = os.path.join(rl, name + ".png")
        check(os.path.isfile(png) and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n",
              f"{png} is a PNG")
    html = open(os.path.join(rl, "report.html"), encoding="utf-8").read()
    check("RL run report" in html and "20.0% -&gt; 45.0%" in html, "RL summary in report.html")
    check(not os.path.exists(os.path.join(rl, "loss.png")), "no training charts for an RL run")

    p = run("report", os.path.join(tmp, "nope"), expect=1)
    check("nope" in p.stderr and "Traceback" not in p.stderr, f"missing run dir: {p.stderr}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

for f in failures:
    print("FAIL:", f)
print("report cli:", "ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
