"""PyTorch side of bench/membw_bench.cpp: copy_ and sum over the same buffer size and threads.

Prints the same rows as membw_bench (GB/s, copy counting read + write). Not a test.
"""
import argparse
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n = (args.mib << 20) // 4
    src = torch.rand(n)
    dst = torch.zeros(n)
    t_copy, t_sum = [], []
    for r in range(16):  # the first pass is a warm-up
        t0 = time.perf_counter()
        dst.copy_(src)
        tc = time.perf_counter() - t0
        t0 = time.perf_counter()
        src.sum()
        ts = time.perf_counter() - t0
        if r > 0:
            t_copy.append(tc)
            t_sum.append(ts)
    nbytes = n * 4
    print(f"{'torch copy_':22s} {2 * nbytes / statistics.median(t_copy) * 1e-9:10.1f}"
          f"   (read + write counted)")
    print(f"{'torch sum':22s} {nbytes / statistics.median(t_sum) * 1e-9:10.1f}   (read)")


if __name__ == "__main__":
    main()
