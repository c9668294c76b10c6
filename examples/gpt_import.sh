#!/usr/bin/env bash
# A GPT trained in PyTorch, brought into webgrad (issue #27's import of functional models): a GPT as a
# torch user writes one, nanoGPT's module names and torch's own nn.MultiheadAttention
# (examples/nanogpt_torch.py), trained on the project's corpus; `webgrad import --layers gptW:B:H --data`
# loads its state_dict into webgrad's gpt(); `webgrad evaluate` computes the test loss again, which must be
# torch's; `webgrad generate` writes from it.
# Usage: bash examples/gpt_import.sh   (writes examples/results/gpt-import.txt)
#   EPOCHS=5; GPT=64:2:2 (width:blocks:heads); CONTEXT=64; SEED=1; PYTHON=/usr/bin/python3 (one with torch);
#   TORCH_BLAS_DIR as in char-model.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
out=examples/results/gpt-import.txt
epochs=${EPOCHS:-5}
size=${GPT:-64:2:2}
context=${CONTEXT:-64}
seed=${SEED:-1}
python=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
docs_corpus "$work/corpus.txt"
IFS=: read -r width blocks heads <<<"$size"
{
  echo "# bash examples/gpt_import.sh on commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shaders examples || echo ' (with uncommitted changes)'), $(date -u +%Y-%m-%d), $(nproc) cores; GPT=$size CONTEXT=$context EPOCHS=$epochs SEED=$seed"
  echo "# corpus: $(wc -c <"$work/corpus.txt") bytes, sha256 $(sha256sum "$work/corpus.txt" | cut -c1-16)"
  echo
  echo "## PyTorch: train and save the state_dict"
  echo "\$ $python examples/nanogpt_torch.py CORPUS.txt nanogpt.safetensors --epochs $epochs --width $width --blocks $blocks --heads $heads --context $context --seed $seed"
  (cd examples && LD_LIBRARY_PATH="${TORCH_BLAS_DIR:-}${TORCH_BLAS_DIR:+:}${LD_LIBRARY_PATH:-}" \
    nice "$python" nanogpt_torch.py "$work/corpus.txt" "$work/nanogpt.safetensors" --epochs "$epochs" --width "$width" --blocks "$blocks" --heads "$heads" --context "$context" --seed "$seed") | tee "$work/torch.log"
  modules=$(grep '^--modules ' "$work/torch.log" | cut -d' ' -f2)
  echo
  echo "## webgrad: import, evaluate, generate"
  echo "\$ npx webgrad import nanogpt.safetensors --layers gpt$size --data CORPUS.txt --context $context --modules ... --out imported.safetensors"
  node bin/webgrad.js import "$work/nanogpt.safetensors" --layers "gpt$size" --data "$work/corpus.txt" --context "$context" --modules "$modules" --out "$work/imported.safetensors" \
    | grep -v '^ \|^_\|^=\|^Model\|^Total\|^Trainable\|^Non-trainable\|^Layer'
  echo "\$ npx webgrad evaluate imported.safetensors --data CORPUS.txt"
  node bin/webgrad.js evaluate "$work/imported.safetensors" --data "$work/corpus.txt"
  for t in 0.5 0.8; do
    echo "\$ npx webgrad generate imported.safetensors --length 300 --temperature $t --seed 1 --prompt 'The model '"
    node bin/webgrad.js generate "$work/imported.safetensors" --length 300 --temperature "$t" --seed 1 --prompt 'The model '
  done
} 2>&1 | tee "$out"
