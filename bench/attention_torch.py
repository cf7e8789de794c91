"""PyTorch 1.13 eager reference for bench/attention_bench.cpp: causal (optionally windowed)
attention forward + backward the way 1.13 has to do it (no scaled_dot_product_attention):
q @ k^T * scale, masked_fill with the mask, softmax, @ v, then backward.

Inputs use seekforge's layout [B, T, H, hd] and are transposed to [B, H, T, hd] inside the timed
step, as a model holding projection outputs would. Run in a fresh process per shape so that the
memory figure is clean. Prints one line:
  fwd_ms=<median> bwd_ms=<median> total_ms=<median> extra_mb=<peak RSS increase> inputs_mb=<...>
  cpu_ms=<median CPU time of the process per step, all threads>

extra_mb is the increase of ru_maxrss (peak resident memory) over one forward + backward, measured
after q, k, v, dout and the mask exist: everything the step allocates (scores, probabilities,
saved activations, out, gradients, library workspaces) counts, the inputs do not.
"""

import argparse
import resource
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--B", type=int, default=8)
    ap.add_argument("--T", type=int, default=256)
    ap.add_argument("--H", type=int, default=6)
    ap.add_argument("--hd", type=int, default=64)
    ap.add_argument("--window", type=int, default=0)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    B, T, H, hd = a.B, a.T, a.H, a.hd
    scale = 1.0 / hd ** 0.5
    q = torch.randn(B, T, H, hd, requires_grad=True)
    k = torch.randn(B, T, H, hd, requires_grad=True)
    v = torch.randn(B, T, H, hd, requires_grad=True)
    dout = torch.randn(B, T, H, hd)
    i = torch.arange(T).view(T, 1)
    j = torch.arange(T).view(1, T)
    visible = j <= i
    if a.window > 0:
        visible &= j > i - a.window
    hidden = ~visible

    def forward():
        qh, kh, vh = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        s = (qh @ kh.transpose(-2, -1)) * scale
        s = s.masked_fill(hidden, float("-inf"))
        p = torch.softmax(s, dim=-1)
        return (p @ vh).transpose(1, 2)

    def backward(out):
        out.backward(dout)

    def reset():
        q.grad = None
        k.grad = None
        v.grad = None

    # Memory: peak RSS increase over the first step (KiB on Linux).
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    backward(forward())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reset()

    backward(forward())  # warm-up
    reset()
    fwd, bwd, tot, cpu = [], [], [], []
    for _ in range(a.reps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = forward()
        t1 = time.perf_counter()
        backward(out)
        t2 = time.perf_counter()
        cpu.append((time.process_time() - c0) * 1e3)
        del out
        reset()
        fwd.append((t1 - t0) * 1e3)
        bwd.append((t2 - t1) * 1e3)
        tot.append((t2 - t0) * 1e3)
    inputs_mb = 4 * (q.numel() + k.numel() + v.numel() + dout.numel()) / 2**20
    print(
        f"fwd_ms={statistics.median(fwd):.3f} bwd_ms={statistics.median(bwd):.3f} "
        f"total_ms={statistics.median(tot):.3f} extra_mb={(peak_kb - base_kb) / 1024:.1f} "
        f"inputs_mb={inputs_mb:.1f} cpu_ms={statistics.median(cpu):.3f}"
    )


if __name__ == "__main__":
    main()
