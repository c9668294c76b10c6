#!/usr/bin/env bash
# TensorFlow Playground's data sets from the CLI (issue #25), at noise 0, each command run with
# seeds 1 to 5 (the seed draws the points, the split, the initial weights and the shuffles),
# every seed printed, on the default backend (WebGPU where there is an adapter):
#   circle, three tanh layers of 8, the CLI's defaults on these sets (100 epochs, batch 10, Adam 0.002);
#   spiral, the seven features, two tanh layers of 8, with the same defaults (the issue's flags as they stand);
#   spiral, the same network, 200 epochs, Adam 0.01 and an L2 penalty of 1e-3 (the recipe the README gives).
# Usage: bash examples/playground.sh   (writes examples/results/playground.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
out=examples/results/playground.txt
mkdir -p examples/results
features=x,y,xSquared,ySquared,xTimesY,sinX,sinY
run() {
  echo
  echo "\$ npx webgrad train $* --seed 1..5"
  for seed in 1 2 3 4 5; do
    line=$(node bin/webgrad.js train "$@" --seed "$seed" --json 2>&1 | tail -1)
    node -e 'const r = JSON.parse(process.argv[1]); console.log(`seed ${process.argv[2]}: test accuracy ${(r.test_accuracy * 100).toFixed(2)}%, train accuracy ${(r.train_accuracy * 100).toFixed(2)}%, ${r.epochs} epochs, ${r.seconds} s`)' "$line" "$seed"
  done
}
{
  echo "# bash examples/playground.sh on commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shaders || echo ' (with uncommitted changes)'), $(date -u +%Y-%m-%d)"
  node bin/webgrad.js train --data circle --epochs 1 --layers none 2>&1 | grep '^backend:'
  run --data circle --layers 8,8,8 --activation tanh
  run --data spiral --features "$features" --layers 8,8 --activation tanh
  run --data spiral --features "$features" --layers 8,8 --activation tanh --epochs 200 --lr 0.01 --l2 1e-3
} | tee "$out"
