#!/usr/bin/env bash
# The linear-regression exercises of the course, as two sweeps on y = 2x + 1 + noise
# (100 points; webgrad splits them 80 train / 20 test; 5-fold cross-validation on the 80):
#   1. learning rates 0.5, 0.1, 0.01, 0.001 with full-batch gradient descent;
#   2. batch (all samples per step) vs stochastic (1) vs mini-batch (16) gradient descent.
# A linear model (--layers none), plain SGD, the CPU backend (a 2-parameter model gains nothing from a GPU).
# Usage: bash examples/linear-regression.sh   (writes examples/results/linear-*.{txt,png})
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
out=examples/results
mkdir -p "$out"
node examples/linear-data.mjs "$out/linear.csv"
common=(--data "$out/linear.csv" --layers none --optimizer sgd --folds 5 --seed 1 --backend cpu)
# --batch-size 100 is more than a fold's 64 training samples: every step sees them all (full batch).
node bin/webgrad.js sweep "${common[@]}" --lr 0.5,0.1,0.01,0.001 --batch-size 100 --epochs 100 \
  --plot "$out/linear-lr.png" | tee "$out/linear-lr.txt"
node bin/webgrad.js sweep "${common[@]}" --lr 0.05 --batch-size 100,1,16 --epochs 30 \
  --plot "$out/linear-batch.png" | tee "$out/linear-batch.txt"
