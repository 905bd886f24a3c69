"""Runs ../shared/bench/peer_torch.py (or peer_torch_images.py) for several seeds in ONE process.

peer_torch.py has no seed option: its seeds are the module constants SEED_MODEL = 0 (weights,
torch.manual_seed), SEED_TRAIN = 1 (training batches, numpy default_rng), SEED_TEST = 2 and
SEED_ENTROPY = 3. This wrapper imports the script unchanged and, for seed k, sets
    SEED_MODEL = k,  SEED_TRAIN = 1 + 10 k        (k = 0: the script's own seeds)
before calling its main() with the remaining arguments; the test set and the entropy estimate keep
their seeds, so every seed is scored on the same test points. Monte-Carlo entropies are computed
once per process (memoised), since they do not depend on k. Every JSON line gets "seed": k,
"seed_model" and "seed_train".

    /usr/bin/python3 bench/peer_seeds.py --script ../shared/bench/peer_torch.py --seeds 0,1,2 \
        C1 --dataset moons --variant affine-exp-zeroinit --threads 1 --no-wait

--threads is read by the peer script when it is imported (it sizes the BLAS pools before torch
loads), so it must be among the arguments here. --entropy-n N caps the Monte-Carlo entropy
samples (timing-only runs: their KL is then as approximate as the record's entropy_se says).
"""
import importlib.util
import sys


def main():
    argv = sys.argv[1:]
    script, seeds, rest, entropy_n = None, [0], [], None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--script" and i + 1 < len(argv):
            script = argv[i + 1]
            i += 2
        elif a == "--entropy-n" and i + 1 < len(argv):
            entropy_n = int(argv[i + 1])
            i += 2
        elif a == "--seeds" and i + 1 < len(argv):
            seeds = [int(s) for s in argv[i + 1].split(",") if s.strip()]
            i += 2
        else:
            rest.append(a)
            i += 1
    if script is None:
        sys.exit("peer_seeds.py: --script PATH (peer_torch.py or peer_torch_images.py) is required")
    sys.argv = [script] + rest  # the peer reads --threads from sys.argv at import
    spec = importlib.util.spec_from_file_location("peer_module", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    if hasattr(mod, "mc_entropy"):
        cache = {}
        original = mod.mc_entropy

        def mc_entropy(sampler, logp, n, seed, *a, **kw):
            key = (getattr(sampler, "__name__", id(sampler)), getattr(logp, "__name__", id(logp)), n, seed, a,
                   tuple(sorted(kw.items())))
            # lambdas (C2's mixtures) differ per dataset but share a name: do not memoise them
            if entropy_n is not None and n > entropy_n:
                n = entropy_n  # --entropy-n: a timing-only run does not need a precise entropy
                key = key[:2] + (n,) + key[3:]
            if "<lambda>" in key[:2]:
                return original(sampler, logp, n, seed, *a, **kw)
            if key not in cache:
                cache[key] = original(sampler, logp, n, seed, *a, **kw)
            return cache[key]

        mod.mc_entropy = mc_entropy

    current = {"seed": 0}
    base = mod.Emitter

    class SeededEmitter(base):
        def __call__(self, rec):
            rec = dict(rec)
            rec["seed"] = current["seed"]
            rec["seed_model"] = getattr(mod, "SEED_MODEL", None)
            rec["seed_train"] = getattr(mod, "SEED_TRAIN", None)
            return base.__call__(self, rec)

    mod.Emitter = SeededEmitter
    for k in seeds:
        current["seed"] = k
        if hasattr(mod, "SEED_MODEL"):
            mod.SEED_MODEL = k
        if hasattr(mod, "SEED_TRAIN"):
            mod.SEED_TRAIN = 1 + 10 * k
        mod.main()


if __name__ == "__main__":
    main()
