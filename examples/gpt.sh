#!/usr/bin/env bash
# Issue #27's GPT check: `webgrad train --layers gptW:B:H` (src/nn/gpt.ts, a pre-norm GPT as nanoGPT
# builds it) on the project's corpus (the README and docs/*.md, as --data webgrad-docs reads them,
# written to a file first so both sides read the same snapshot while the docs change), against the
# same architecture written in torch (examples/gpt_torch.py) with the same steps and optimizer, the
# text cut the same way. Then `webgrad generate` from webgrad's first model. Every seed that runs is
# written down.
# Usage: bash examples/gpt.sh   (writes examples/results/gpt.txt, or $OUT)
#   SEEDS="1 2 3" (the default); EPOCHS=10; LR=0.003; BATCH=32; GPT=64:2:2 (width:blocks:heads);
#   CONTEXT=64; PYTHON=/usr/bin/python3 (one with torch); TORCH_BLAS_DIR as in char-model.sh.
#   webgrad's and torch's runs go side by side (two processes), so the wall times are under load.
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
out=${OUT:-examples/results/gpt.txt}
seeds=${SEEDS:-1 2 3}
epochs=${EPOCHS:-10}
lr=${LR:-0.003}
batch=${BATCH:-32}
size=${GPT:-64:2:2}
context=${CONTEXT:-64}
python=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
docs_corpus "$work/corpus.txt"
IFS=: read -r width blocks heads <<<"$size"
recipe=(--layers "gpt$size" --context "$context" --epochs "$epochs" --lr "$lr" --batch-size "$batch")

webgrad_runs() {
  for seed in $seeds; do
    echo
    echo "\$ npx webgrad train --data CORPUS.txt ${recipe[*]} --seed $seed --save MODEL --json"
    local t0=$SECONDS
    # The summary table and the progress bar are left out; the test figures and the JSON stay.
    nice node bin/webgrad.js train --data "$work/corpus.txt" "${recipe[@]}" --seed "$seed" --save "$work/gpt-$seed.safetensors" --json 2>&1 \
      | tr '\r' '\n' | grep --line-buffered -v '^ \|^_\|^=\|^Model\|^Total\|^Trainable\|^Non-trainable\|^Layer\|^[0-9]*/[0-9]* \['
    echo "wall time: $((SECONDS - t0)) s"
  done
}

torch_runs() {
  echo "\$ $python examples/gpt_torch.py CORPUS.txt --seeds ${seeds// /,} --epochs $epochs --lr $lr --batch-size $batch --width $width --blocks $blocks --heads $heads --context $context"
  local t0=$SECONDS
  (cd examples && LD_LIBRARY_PATH="${TORCH_BLAS_DIR:-}${TORCH_BLAS_DIR:+:}${LD_LIBRARY_PATH:-}" \
    nice "$python" gpt_torch.py "$work/corpus.txt" --seeds "${seeds// /,}" --epochs "$epochs" --lr "$lr" --batch-size "$batch" --width "$width" --blocks "$blocks" --heads "$heads" --context "$context" 2>&1)
  echo "wall time: $((SECONDS - t0)) s"
}

{
  # Started in the block that waits for it (the block is a subshell, piped to tee).
  torch_runs >"$work/torch.log" 2>&1 &
  torch=$!
  echo "# bash examples/gpt.sh on commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shaders || echo ' (with uncommitted changes)'), $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); GPT=$size CONTEXT=$context EPOCHS=$epochs LR=$lr BATCH=$batch${TORCH_BLAS_DIR:+ TORCH_BLAS_DIR=$TORCH_BLAS_DIR}"
  echo "# corpus: $(wc -c <"$work/corpus.txt") bytes, sha256 $(sha256sum "$work/corpus.txt" | cut -c1-16)"
  echo
  echo "## webgrad (WebGPU)"
  webgrad_runs
  wait "$torch"
  echo
  echo "## PyTorch"
  cat "$work/torch.log"
  first=${seeds%% *}
  echo
  echo "## webgrad generate (seed $first's model)"
  for t in 0.5 0.8; do
    echo "\$ npx webgrad generate MODEL --length 400 --temperature $t --seed 1 --prompt 'The model '"
    node bin/webgrad.js generate "$work/gpt-$first.safetensors" --length 400 --temperature "$t" --seed 1 --prompt 'The model '
    echo
  done
} 2>&1 | tee "$out"
