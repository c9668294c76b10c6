#!/usr/bin/env bash
# The one-epoch CNN with batch normalization of issue #24: conv 8 3×3, batch norm, max pool 2,
# conv 16 3×3, batch norm, max pool 2, flatten, dense 32, batch norm, dropout 0.25, softmax;
# Adam 0.002, batch 32, seed 42, one epoch of the built-in digits (8,000 train / 2,000 test).
# Runs it three ways: as `webgrad train` does by default (the moving statistics recomputed when
# training ends), with --no-bn-recompute (the moving averages after 250 steps at momentum 0.99,
# what webgrad did before), and on the CPU backend.
# Usage: bash examples/bn-one-epoch.sh   (writes examples/results/bn-one-epoch.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
out=examples/results/bn-one-epoch.txt
mkdir -p examples/results
recipe=(--layers conv8:3,bn,maxpool2,conv16:3,bn,maxpool2,flatten,32,bn,dropout0.25 --epochs 1)
{
  echo "# bash examples/bn-one-epoch.sh on commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shaders || echo ' (with uncommitted changes)'), $(date -u +%Y-%m-%d)"
  for extra in "" "--no-bn-recompute" "--backend cpu"; do
    echo
    echo "\$ npx webgrad train ${recipe[*]} $extra"
    # shellcheck disable=SC2086
    node bin/webgrad.js train "${recipe[@]}" $extra 2>&1 | grep -v '^ \|^_\|^=\|^Model\|^Total\|^Trainable\|^Non-trainable\|^Layer'
  done
} | tee "$out"
