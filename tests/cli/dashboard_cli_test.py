#!/usr/bin/python3
"""End-to-end check of `seekforge train --metrics-port` (run by ctest with the binary's path): a
real training run of configs/tiny.toml with the dashboard on a free port, stopped with SIGINT
after ~20 s. Checks /metrics with `promtool check metrics`, /api/metrics and its since filter, a
bad query (400) and an unknown path (404), that a second run on the same port fails before it
trains, deploy/prometheus.yml (`promtool check config`) and deploy/grafana-dashboard.json (its
structure, and that every metric it queries is one the run exports); then loads the page in
headless Chromium, checks through its DOM that every chart drew points from the run, and saves
a screenshot (dashboard.png in the temp dir; also to $SEEKFORGE_DASHBOARD_SCREENSHOT if set).
Standard library only. Exits 77 (skipped) when chromium or promtool is absent.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = sys.argv[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PROMTOOL = shutil.which("promtool")
failures = []


class Stop(Exception):
    """The run is not in a state worth checking further."""


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url):
    """(status, body text) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


if CHROMIUM is None or PROMTOOL is None:
    missing = " and ".join(n for n, p in (("chromium", CHROMIUM), ("promtool", PROMTOOL)) if p is None)
    print(f"SKIP: {missing} not installed (scripts/setup installs them)")
    sys.exit(77)

tmp = tempfile.mkdtemp(prefix="sf-dashboard-cli-")
train = None
try:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    train_args = [BIN, "train", "--config", os.path.join(ROOT, "configs/tiny.toml"),
                  "--set", "train.max_steps=1000000", "--set", "train.eval_every=50",
                  "--set", "train.checkpoint_every=200", "--set", "train.log_every=1000",
                  "--sample-every", "20"]
    log = open(os.path.join(tmp, "train.log"), "w")
    train = subprocess.Popen(train_args + ["--set", f"train.out_dir={tmp}/run",
                                           "--metrics-port", str(port)],
                             stdout=log, stderr=subprocess.STDOUT, text=True)

    # Wait for the server, then for a checkpoint (step 200), an evaluation and a sample.
    deadline = time.time() + 90
    api = None
    while time.time() < deadline and train.poll() is None:
        try:
            status, body = fetch(base + "/api/metrics?since=1000000000")
            api = json.loads(body)
            if api["last_step"] >= 250 and api["sample"] and api["checkpoint"]:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    if not check(train.poll() is None and api and api["last_step"] >= 250,
                 f"the run did not reach step 250 with the server up: {api and api['last_step']}"):
        raise Stop

    # A second run on the same port fails at start, naming host:port, before it trains.
    try:
        second = subprocess.run(train_args + ["--set", f"train.out_dir={tmp}/second",
                                              "--metrics-port", str(port)],
                                capture_output=True, text=True, timeout=60)
        check(second.returncode != 0, "a second run on a taken port must fail")
        check(f"127.0.0.1:{port}" in second.stderr + second.stdout,
              f"the port error names host:port: {second.stderr}")
    except subprocess.TimeoutExpired:
        check(False, "a second run on a taken port kept running")
    check(not os.path.exists(os.path.join(tmp, "second", "metrics.jsonl")),
          "the second run must fail before training")

    status, metrics = fetch(base + "/metrics")
    check(status == 200, f"/metrics status {status}")
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=metrics, capture_output=True,
                       text=True, timeout=30)
    check(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(),
          f"promtool check metrics: {p.returncode}\n{p.stdout}{p.stderr}")
    exported = set(re.findall(r"^(seekforge_\w+)[{ ]", metrics, re.M))
    for name in ["step", "loss", "validation_loss", "learning_rate", "gradient_norm",
                 "gradient_norm_alarm_threshold", "tokens_per_second",
                 "model_flops_utilization_ratio", "skipped_steps_total",
                 "gradient_norm_alarms_total", "expert_load_ratio", "expert_correction_bias",
                 "dropped_tokens", "resident_memory_bytes", "last_checkpoint_age_seconds"]:
        check("seekforge_" + name in exported, f"/metrics lacks seekforge_{name}")
    check(re.search(r'^seekforge_expert_load_ratio\{layer="1",expert="3"\} ', metrics, re.M),
          "expert load of tiny's MoE layer (block 1), expert 3")
    rss = re.search(r"^seekforge_resident_memory_bytes (\S+)", metrics, re.M)
    check(rss and float(rss.group(1)) > 1e6, f"resident memory: {rss and rss.group(1)}")

    status, body = fetch(base + "/api/metrics?since=100")
    check(status == 200, f"/api/metrics status {status}")
    api = json.loads(body)
    steps = [l["step"] for l in api["lines"]]
    check(steps and min(steps) == 101, f"since=100 gives steps from 101: {steps[:3]}")
    check(any("val_loss" in l for l in api["lines"]), "evaluation lines are in the API")
    check(api["run"].get("grad_norm_alarm") == 100.0, f"run info: {api['run'].keys()}")
    check(api["run"].get("parameters") == 84544, f"model facts: {api['run'].get('parameters')}")
    check("[model]" in api["run"].get("config", ""), "the config is in the run info")

    status, body = fetch(base + "/api/metrics?since=abc")
    check(status == 400 and "since" in body, f"bad query: {status} {body}")
    status, body = fetch(base + "/no/such/page")
    check(status == 404, f"unknown path: {status}")

    # deploy/: the Prometheus scrape config and the Grafana dashboard.
    p = subprocess.run([PROMTOOL, "check", "config", os.path.join(ROOT, "deploy/prometheus.yml")],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, f"promtool check config: {p.stdout}{p.stderr}")
    dash = json.load(open(os.path.join(ROOT, "deploy/grafana-dashboard.json")))
    for key in ["title", "uid", "schemaVersion", "panels"]:
        check(key in dash, f"grafana dashboard lacks '{key}'")
    check(isinstance(dash.get("schemaVersion"), int), "schemaVersion is a number")
    panel_types = set()
    for panel in dash.get("panels", []):
        title = panel.get("title", "?")
        panel_types.add(panel.get("type"))
        check(isinstance(panel.get("type"), str), f"panel {title}: type")
        gp = panel.get("gridPos", {})
        check(all(isinstance(gp.get(k), int) for k in "hwxy"), f"panel {title}: gridPos")
        check("datasource" in panel, f"panel {title}: datasource")
        check(panel.get("targets"), f"panel {title}: targets")
        for t in panel.get("targets", []):
            expr = t.get("expr", "")
            names = re.findall(r"\bseekforge_\w+", expr)
            check(names, f"panel {title}: expr '{expr}' names no seekforge metric")
            for n in names:
                check(n in exported, f"panel {title}: '{n}' is not exported by /metrics")
    check({"timeseries", "heatmap"} <= panel_types, f"panel types: {panel_types}")

    # The page in headless Chromium: every chart drew points from the run.
    def chromium(*extra):
        profile = tempfile.mkdtemp(dir=tmp, prefix="chromium-")
        return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                               "--virtual-time-budget=10000", *extra, base + "/"],
                              capture_output=True, text=True, timeout=120)

    p = chromium("--dump-dom")
    dom = p.stdout
    points = dict(re.findall(r'id="(chart-[\w-]+)" class="chart" data-points="(\d+)"', dom))
    for chart, least in [("chart-loss", 250), ("chart-gnorm", 250), ("chart-lr", 250),
                         ("chart-tps", 250), ("chart-dropped", 250), ("chart-load-0", 4),
                         ("chart-heat-0", 250)]:
        n = int(points.get(chart, 0))
        check(n >= least, f"{chart}: {n} data points in the page, expected >= {least}")
    check(re.search(r"<path d=\"M[\d.]+,[\d.]+L", dom), "the page drew SVG paths")
    sample = re.search(r'<pre id="sample"><b>([^<]*)</b>([^<]*)</pre>', dom)
    check(sample and sample.group(2), f"the sample generation is shown: {sample}")
    if failures:
        open(os.path.join(tmp, "dom.html"), "w").write(dom)

    shot = os.path.join(tmp, "dashboard.png")
    p = chromium(f"--screenshot={shot}", "--window-size=1400,1800", "--hide-scrollbars")
    check(os.path.exists(shot) and os.path.getsize(shot) > 10000, f"screenshot: {p.stderr[-500:]}")
    if os.environ.get("SEEKFORGE_DASHBOARD_SCREENSHOT") and os.path.exists(shot):
        shutil.copy(shot, os.environ["SEEKFORGE_DASHBOARD_SCREENSHOT"])
    print(f"screenshot: {shot}")

    # SIGINT stops training (with a checkpoint) and the server with it.
    train.send_signal(signal.SIGINT)
    rc = train.wait(timeout=60)
    check(rc == 130, f"interrupted run exits 130, got {rc}")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        check(False, "the server still listens after the run stopped")
    except OSError:
        pass
except Stop:
    pass
finally:
    if train is not None and train.poll() is None:
        train.kill()
        train.wait()
    if failures:
        log_path = os.path.join(tmp, "train.log")
        if os.path.exists(log_path):
            print("train log (tail):\n" + open(log_path).read()[-2000:])
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)

for f in failures:
    print("FAIL:", f)
print("dashboard cli:", "FAILED" if failures else "ok")
sys.exit(1 if failures else 0)
