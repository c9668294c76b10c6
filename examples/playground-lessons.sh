#!/usr/bin/env bash
# The Playground's lessons that the README links to (examples/playground-lessons.mjs), seeds 1 to 3 each.
# About half a minute on a 2-core machine.
# Usage: bash examples/playground-lessons.sh   (writes examples/results/playground-lessons.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
{
  echo "# bash examples/playground-lessons.sh on commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shaders || echo ' (with uncommitted changes)')"
  node examples/playground-lessons.mjs "$@"
} | tee examples/results/playground-lessons.txt
