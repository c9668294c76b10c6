#!/usr/bin/env bash
# An MLP on Fashion-MNIST (Debian's dataset-fashion-mnist IDX files: 60,000 training, 10,000 test
# images of clothes): 784-256-128-10 (ReLU, softmax), Adam 1e-3 decayed to 0 by a cosine over
# 15 epochs, batch 128, seed 42 (the default). This is the 15-epoch learning claim that used to run
# in test/nn/fashion.test.ts (at least 88%); the suite now keeps a one-epoch run on a subset.
# Usage: bash examples/fashion-mlp.sh [more train flags]   (writes examples/results/fashion-mlp.txt)
# Needs: apt-get install dataset-fashion-mnist (the files land in /usr/share/datasets/fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
data=/usr/share/datasets/fashion-mnist
if [ ! -d "$data" ]; then
  echo "examples/fashion-mlp.sh: $data is missing: apt-get install dataset-fashion-mnist" >&2
  exit 1
fi
out=examples/results
mkdir -p "$out"
{
  echo "# bash examples/fashion-mlp.sh on commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shaders || echo ' (with uncommitted changes in src/ or shaders/)'), $(date -u +%Y-%m-%d)"
  node bin/webgrad.js train --data "$data" --layers 256,128 --epochs 15 --batch-size 128 --lr 0.001 --lr-schedule cosine "$@" 2>&1
} | tee "$out/fashion-mlp.txt"
