"""PyTorch's 3x3 convolution on this machine, the counterpart of bench/conv.ts: the C5/C6 conditioner's
hidden convolution (docs/reference/CONFIGS-IMAGES.md 2.2: 3x3, stride 1, zero padding 1, with bias,
32 -> 32 maps, batch 64; 28x28 and 14x14) as torch.nn.functional.conv2d, NCHW, float32 (on this
build: oneDNN, aten::mkldnn_convolution; the kernel that ran is recorded), two passes per shape:

    fwd       y = conv2d(x, W, b, padding=1)
    fwd+bwd   the same, then y.backward(c) for a fixed random cotangent c: the gradients of x, W and b

FLOPs as bench/peer.ts convFlops: forward 2 N H W c_in c_out 9, fwd+bwd 3x that. GFLOP/s = FLOPs /
median call time over `reps` timed calls after two warm-up calls, with N compute threads set as
peer_matmul.py sets them (BLAS / OpenMP pools sized before torch loads). One JSON line per
(shape, pass), config "CONV".

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/peer_conv.py --threads 2 [--shapes 28,14] [--reps 10]
"""
import argparse
import os
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--shapes", default="28,14")
ap.add_argument("--reps", type=int, default=10)
args = ap.parse_args()
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(k, str(args.threads))
import json  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
N, C = 64, 32


def cpu_snapshot():
    """(busy, total) jiffies of the machine and this process's own CPU time in jiffies (Linux /proc)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        t = os.times()
        return sum(v) - idle, sum(v), (t.user + t.system) * os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def other_busy(a, b):
    """Share of all CPU time used by other processes between two snapshots."""
    if a is None or b is None or b[1] <= a[1]:
        return None
    return round(max(0.0, (b[0] - a[0] - (b[2] - a[2])) / (b[1] - a[1])), 3)


def timed(call, reps):
    for _ in range(2):
        call()
    a = cpu_snapshot()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        call()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), min(ts), other_busy(a, cpu_snapshot())


def kernels(call):
    """The aten ops one call ran (e.g. aten::mkldnn_convolution): which backend PyTorch picked."""
    with torch.autograd.profiler.profile() as prof:
        call()
    return sorted({e.name for e in prof.function_events if "conv" in e.name})


g = torch.Generator().manual_seed(0)
bound = 1 / (9 * C) ** 0.5  # PyTorch's default init scale
for H in [int(s) for s in args.shapes.split(",") if s.strip()]:
    x = torch.rand(N, C, H, H, generator=g) * 2 - 1
    w = (torch.rand(C, C, 3, 3, generator=g) * 2 - 1) * bound
    b = (torch.rand(C, generator=g) * 2 - 1) * bound
    cot = torch.rand(N, C, H, H, generator=g) * 2 - 1
    xg, wg, bg = (t.clone().requires_grad_(True) for t in (x, w, b))

    def fwd():
        with torch.no_grad():
            F.conv2d(x, w, b, stride=1, padding=1)

    def fwd_bwd():
        xg.grad = wg.grad = bg.grad = None
        F.conv2d(xg, wg, bg, stride=1, padding=1).backward(cot)

    for pass_, call in (("fwd", fwd), ("fwd+bwd", fwd_bwd)):
        med, mn, contention = timed(call, args.reps)
        flops = 2 * N * H * H * C * C * 9 * (1 if pass_ == "fwd" else 3)
        print(json.dumps({
            "config": "CONV", "impl": "torch.conv2d",
            "name": "torch.nn.functional.conv2d %dx%dx%dx%d NCHW float32, 3x3 %d->%d, padding 1, bias%s"
                    % (N, C, H, H, C, C, ", backward(c) for x, W, b" if pass_ == "fwd+bwd" else ""),
            "shape": "%dx%d" % (H, H), "pass": pass_, "batch": N, "c_in": C, "c_out": C, "reps": args.reps,
            "flops": flops, "ms_median": round(1000 * med, 3), "ms_min": round(1000 * mn, 3),
            "gflops_per_s": round(flops / med / 1e9, 2), "contention": contention, "kernels": kernels(call),
            "peer": "pytorch-plain",
            "env": {"torch": torch.__version__, "threads": args.threads, "mkldnn": torch.backends.mkldnn.is_available(),
                    "thread_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                                   "MKL_NUM_THREADS", "OMP_WAIT_POLICY")}}}))
        sys.stdout.flush()
