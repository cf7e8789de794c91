# PyTorch side of bench/embedding_bench.cpp: embedding forward + dense backward at the same sizes
# and thread count. Prints one line "torch fwd_ms bwd_ms total_ms" (medians).
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
import torch
import torch.nn.functional as F


def main():
    v, d, n, reps = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(2)
    torch.manual_seed(0)
    w = torch.randn(v, d, requires_grad=True)
    ids = torch.randint(0, v, (n,))
    g = torch.randn(n, d)
    fwd, bwd, tot = [], [], []
    for r in range(reps + 3):
        w.grad = None
        t0 = time.perf_counter()
        out = F.embedding(ids, w)
        t1 = time.perf_counter()
        out.backward(g)
        t2 = time.perf_counter()
        if r >= 3:
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t2 - t1) * 1e3)
            tot.append((t2 - t0) * 1e3)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    print(f"torch {med(fwd):.3f} {med(bwd):.3f} {med(tot):.3f}")


if __name__ == "__main__":
    main()
