# PyTorch side of rowops_bench: the same ops, sizes and thread count, median of repeats.
# Run by rowops_bench (C++) after its own table; a reference for speed, never a dependency.
import time
import torch

torch.set_num_threads(2)


def median_ms(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2] * 1e3


def rmsnorm(n, c):
    x = torch.randn(n, c, requires_grad=True)
    w = torch.ones(c, requires_grad=True)
    dy = torch.randn(n, c)

    def step():
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w
        y.backward(dy)
    return median_ms(step, 30)


def softmax(n, c):
    x = torch.randn(n, c, requires_grad=True)
    dy = torch.randn(n, c)

    def step():
        torch.softmax(x, -1).backward(dy)
    return median_ms(step, 30)


def cross_entropy(n, v):
    x = torch.randn(n, v, requires_grad=True)
    t = torch.randint(0, v, (n,))

    def step():
        torch.nn.functional.cross_entropy(x, t, label_smoothing=0.1).backward()
    return median_ms(step, 5)


def adamw(n):
    p = torch.zeros(n, requires_grad=True)
    p.grad = torch.randn(n) * 1e-3
    opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.1)
    return median_ms(opt.step, 15)


print("PyTorch %s, %d threads (median ms)" % (torch.__version__, torch.get_num_threads()))
print("%-44s %10.3f" % ("rmsnorm fwd+bwd N=2048 C=384 (composed)", rmsnorm(2048, 384)))
print("%-44s %10.3f" % ("rmsnorm fwd+bwd N=2048 C=1024 (composed)", rmsnorm(2048, 1024)))
print("%-44s %10.3f" % ("softmax fwd+bwd N=2048 C=1024", softmax(2048, 1024)))
print("%-44s %10.3f" % ("cross-entropy fwd+bwd N=2048 V=32768", cross_entropy(2048, 32768)))
print("%-44s %10.3f" % ("adamw step 10M params (single tensor)", adamw(10_000_000)))
