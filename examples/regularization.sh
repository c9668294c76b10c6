#!/usr/bin/env bash
# The overfitting and vanishing-gradient lessons (examples/regularization.mjs):
# dropout and L2 against a wide MLP on 1,000 digits, batch normalization in a
# deep sigmoid MLP; 3 seeds each. About 15 minutes on a 2-core machine without a GPU.
# Usage: bash examples/regularization.sh   (writes examples/results/{overfitting,vanishing}.{txt,png})
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
node examples/regularization.mjs examples/results "$@"
