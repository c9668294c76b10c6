#!/usr/bin/env bash
# Issue #26's character-model check: `webgrad train --data webgrad-docs` (the corpus that ships: the
# README and docs/*.md) with the default text architecture, embed64,lstm128, against PyTorch's
# nn.Embedding + nn.LSTM + nn.Linear with the same architecture, steps and optimizer on the same
# text, cut the same way (examples/char_model_torch.py). Then `webgrad generate` from webgrad's
# first model, to read what it writes. Every seed that runs is written down.
# Usage: bash examples/char-model.sh   (writes examples/results/char-model.txt)
#   SEEDS="1 2 3" (the default); EPOCHS=20; LR=0.005; BATCH=32 (the recipe: flags of both sides);
#   PYTHON=/usr/bin/python3 (one with torch); TORCH_BLAS_DIR=DIR puts DIR first in torch's
#   LD_LIBRARY_PATH (Debian's torch calls the system libblas.so.3, netlib's slow reference BLAS
#   unless an alternative is set; OpenBLAS's libblas.so.3 makes its steps several times faster).
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
out=examples/results/char-model.txt
seeds=${SEEDS:-1 2 3}
epochs=${EPOCHS:-20}
lr=${LR:-0.005}
batch=${BATCH:-32}
python=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=(--epochs "$epochs" --lr "$lr" --batch-size "$batch")

webgrad_run() { # seed
  local seed=$1
  echo
  echo "\$ npx webgrad train --data webgrad-docs ${recipe[*]} --seed $seed --save MODEL --json"
  local t0=$SECONDS
  # The summary table is left out; the epoch lines, the test figures and the JSON stay.
  nice node bin/webgrad.js train --data webgrad-docs "${recipe[@]}" --seed "$seed" --save "$work/char-$seed.safetensors" --json 2>&1 \
    | grep --line-buffered -v '^ \|^_\|^=\|^Model\|^Total\|^Trainable\|^Non-trainable\|^Layer'
  echo "wall time: $((SECONDS - t0)) s"
}

{
  echo "# bash examples/char-model.sh on commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shaders README.md docs || echo ' (with uncommitted changes)'), $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); EPOCHS=$epochs LR=$lr BATCH=$batch${TORCH_BLAS_DIR:+ TORCH_BLAS_DIR=$TORCH_BLAS_DIR}"
  echo
  echo "## webgrad (WebGPU)"
  for s in $seeds; do webgrad_run "$s"; done
  first=${seeds%% *}
  # The export writes the corpus as webgrad read it (webgrad-docs.txt) and the vocabulary it saved: PyTorch reads both.
  node bin/webgrad.js export "$work/char-$first.safetensors" --to pytorch "$work/export" >/dev/null
  vocabulary=$("$python" -c "import json, sys; print(json.load(open(sys.argv[1]))['metadata']['vocabulary'])" "$work/export/webgrad.json")
  echo
  echo "## PyTorch"
  echo "\$ $python examples/char_model_torch.py webgrad-docs.txt --seeds ${seeds// /,} --epochs $epochs --lr $lr --batch-size $batch --vocabulary VOCABULARY"
  t0=$SECONDS
  LD_LIBRARY_PATH="${TORCH_BLAS_DIR:-}${TORCH_BLAS_DIR:+:}${LD_LIBRARY_PATH:-}" \
    nice "$python" examples/char_model_torch.py "$work/export/webgrad-docs.txt" --seeds "${seeds// /,}" --epochs "$epochs" --lr "$lr" --batch-size "$batch" --vocabulary "$vocabulary" 2>&1
  echo "wall time: $((SECONDS - t0)) s"
  echo
  echo "## webgrad generate (seed $first's model)"
  for t in 0.5 0.8; do
    echo "\$ npx webgrad generate MODEL --length 400 --temperature $t --seed 1 --prompt 'The model '"
    node bin/webgrad.js generate "$work/char-$first.safetensors" --length 400 --temperature "$t" --seed 1 --prompt 'The model '
    echo
  done
} 2>&1 | tee "$out"
