"""PyTorch side of bench/gemm_bench.cpp: torch.matmul on the same Linear-layer shapes.

y[M, N] = x[M, K] @ W[N, K]^T with M = 2048, K and N in {384, 1024, 1536, 8192}, f32 and bf16
(PyTorch's bf16 matmul writes bf16). Prints one line per shape, "torch <dtype> <K> <N> <GFLOP/s>"
(median over repeats), and a "torch_info" line; gemm_bench parses both. Not a test.

A shape whose predicted time for one product (its FLOPs at the slowest rate seen so far for the
dtype) exceeds --max-seconds is skipped and printed as "torch_skip ...": Debian's PyTorch sends
f32 matmul to whatever libblas.so.3 the system selects; with the reference (netlib) BLAS that is
a few GFLOP/s and 2048x8192x8192 would take minutes (OpenBLAS, when installed, is far faster).
"""
import argparse
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", default="f32,bf16")
    ap.add_argument("--max-seconds", type=float, default=4.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    m = 2048
    dims = [384, 1024, 1536, 8192]
    dtypes = {"f32": torch.float32, "bf16": torch.bfloat16}
    for name, dt in dtypes.items():
        if name not in args.dtypes.split(","):
            continue
        slowest = None  # GFLOP/s
        with torch.no_grad():
            for k in dims:
                for n in dims:
                    flops = 2.0 * m * n * k
                    if slowest is not None and flops / (slowest * 1e9) > args.max_seconds:
                        print(f"torch_skip {name} {k} {n} predicted "
                              f"{flops / (slowest * 1e9):.0f} s at {slowest:.1f} GFLOP/s",
                              flush=True)
                        continue
                    x = (torch.rand(m, k) * 2 - 1).to(dt)
                    w = (torch.rand(n, k) - 0.5).to(dt)
                    t0 = time.perf_counter()
                    torch.matmul(x, w.t())  # warm-up
                    est = time.perf_counter() - t0
                    rate = flops / est * 1e-9
                    slowest = rate if slowest is None else min(slowest, rate)
                    if est > args.max_seconds:  # too slow to repeat: report the one run
                        print(f"torch {name} {k} {n} {rate:.2f}", flush=True)
                        continue
                    reps = min(25, max(3, int(0.4 / est)))
                    times = []
                    for _ in range(reps):
                        t0 = time.perf_counter()
                        torch.matmul(x, w.t())
                        times.append(time.perf_counter() - t0)
                    print(f"torch {name} {k} {n} {flops / statistics.median(times) * 1e-9:.2f}",
                          flush=True)
    print(f"torch_info torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"mkldnn {torch.backends.mkldnn.is_available()}")


if __name__ == "__main__":
    main()
