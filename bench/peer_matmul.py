"""PyTorch's matmul ceiling on this machine, the counterpart of bench/matmul.ts: torch.mm of two
N x N float32 matrices (default 512), GFLOP/s = 2 N^3 / median call time over `reps` calls after
two warm-up calls, with N compute threads set as peer_torch.py sets them (BLAS pools sized before
torch loads). One JSON line.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/peer_matmul.py --threads 2 [--n 512] [--reps 15]
"""
import argparse
import os
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--n", type=int, default=512)
ap.add_argument("--reps", type=int, default=15)
args = ap.parse_args()
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(k, str(args.threads))
import json  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)
g = torch.Generator().manual_seed(0)
a = torch.rand(args.n, args.n, generator=g) - 0.5
b = torch.rand(args.n, args.n, generator=g) - 0.5
ts = []
for r in range(-2, args.reps):
    t = time.perf_counter()
    torch.mm(a, b)
    if r >= 0:
        ts.append(time.perf_counter() - t)
med = statistics.median(ts)
print(json.dumps({"config": "MATMUL", "name": "torch.mm %d^3 float32" % args.n, "n": args.n, "reps": args.reps,
                  "ms_median": round(1000 * med, 3), "ms_min": round(1000 * min(ts), 3),
                  "gflops_per_s": round(2 * args.n ** 3 / med / 1e9, 2), "peer": "pytorch-plain",
                  "env": {"torch": torch.__version__, "threads": args.threads,
                          "thread_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                                         "MKL_NUM_THREADS", "OMP_WAIT_POLICY")}}}))
sys.stdout.flush()
