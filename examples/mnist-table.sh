#!/usr/bin/env bash
# The layer-size / learning-rate table on the built-in MNIST digits (8,000 train / 2,000 test):
# hidden layers 32, 128 and 256,128 × Adam learning rates 0.01, 0.002, 0.0005, 5 epochs each,
# 3-fold stratified cross-validation (27 runs, hence --yes), then the best refitted on all 8,000
# and scored on the 2,000 test digits. Runs on WebGPU where an adapter exists, else the CPU.
# Usage: bash examples/mnist-table.sh   (writes examples/results/mnist.{txt,png})
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
out=examples/results
mkdir -p "$out"
node bin/webgrad.js sweep --layers 32:128:256,128 --lr 0.01,0.002,0.0005 --epochs 5 --folds 3 --yes \
  --plot "$out/mnist.png" | tee "$out/mnist.txt"
