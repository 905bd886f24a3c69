#!/usr/bin/env bash
# Retrains the pretrained MNIST models that ship in models/ (used by `nflow demo images`),
# with the exact commands that made them. Each is smaller than docs/reference/CONFIGS-IMAGES.md's C5/C6 so
# that it trains in about an hour or less on two CPU cores and the three files are a few MB in all.
# The training time of each run is in its file (`nflow info models/NAME.nflow`) and in
# docs/images.md (measured here: NICE 19.8 min, MAF 54.3 min, RealNVP 72.1 min, the three at
# once on two cores). Seeds are fixed: a rerun on the same runtime gives the same weights.
#
#   scripts/train-shipped-models.sh [OUTDIR]    (default models/; runs the three in parallel)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-models}"
mkdir -p "$out"
npm run build --silent
nflow="node dist/cli/main.js"
# the demo's inputs: MNIST test digits 0..99 and their labels
node scripts/mnist-test-digits.mjs "$out" 100

# NICE (inpainting): 4 additive couplings, MLP 392-160-160-392, logistic base, [0,1] pixels.
$nflow train --flow nice --data mnist --layers 4 --hidden 160,160 --batch 200 --steps 5000 \
  --seed 0 --out "$out/mnist-nice.nflow" --json > "$out/mnist-nice.log" 2>&1 &
# RealNVP (samples, interpolation): multi-scale, 2 scales, residual conditioners of 2 blocks × 16 maps.
$nflow train --flow realnvp --data mnist --layers 3 --hidden 16,16 --batch 32 --micro-batch 32 --steps 2000 \
  --seed 0 --out "$out/mnist-realnvp.nflow" --json > "$out/mnist-realnvp.log" 2>&1 &
# Class-conditional MAF (digits of a chosen class): 3 MADE layers of 128 hidden units, one-hot label context.
$nflow train --flow maf --data mnist --context-column label --layers 3 --hidden 128 --batch 128 --steps 4000 \
  --seed 0 --out "$out/mnist-maf-conditional.nflow" --json > "$out/mnist-maf-conditional.log" 2>&1 &
wait
