#!/usr/bin/env bash
# Issue #26's learning check: `webgrad train --layers lstm128` on the built-in digits, each image
# read as 28 steps of 28-pixel rows, an LSTM of 128 units (Keras' defaults), a softmax Dense 10;
# the CLI's recipe: Adam 0.002, batch 32, 10 epochs. Beside it, PyTorch's nn.LSTM(28, 128) +
# nn.Linear(128, 10) on exactly the same 8,000 / 2,000 digits with the same recipe
# (examples/lstm_digits_torch.py says how it is initialised). Every seed that runs is written down.
# Usage: bash examples/lstm-digits.sh   (writes examples/results/lstm-digits.txt)
#   SEEDS="1 2 3" (the default) picks the seeds; CPU_SEEDS="1" adds runs on webgrad's CPU backend
#   (none by default; about 5.5 minutes an epoch); EPOCHS=10; PYTHON=/usr/bin/python3 (one with
#   torch); TORCH_BLAS_DIR=DIR puts DIR first in torch's LD_LIBRARY_PATH (Debian's torch calls the
#   system libblas.so.3, the slow reference BLAS unless an alternative is set: a directory with
#   OpenBLAS's libblas.so.3 makes its steps about 3x faster, and the torch script names the BLAS
#   it loaded); PARALLEL=1 runs PyTorch beside webgrad instead of after it (each one's wall time
#   then counts the other's load). On 2 cores at a load of 2-5, an epoch took 27-43 s in webgrad
#   (WebGPU on llvmpipe) and 10-14 s in PyTorch with OpenBLAS; at a load of 5-10, up to 3.6 and 8 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/build.sh
out=examples/results/lstm-digits.txt
seeds=${SEEDS:-1 2 3}
cpu_seeds=${CPU_SEEDS:-}
epochs=${EPOCHS:-10}
python=${PYTHON:-/usr/bin/python3} # Debian's python3-torch, as the interop tests use
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

export_digits() {
  # The split webgrad trains on, as raw little-endian arrays for the torch script, and sums that
  # both sides print so that a reader sees they read the same digits.
  node --input-type=module -e "
    import { writeFileSync } from 'node:fs';
    import { loadBuiltinMnist } from './dist/node.js';
    const sets = loadBuiltinMnist();
    const sums = [];
    for (const [name, d] of Object.entries(sets)) {
      writeFileSync('$data/x_' + name + '.f32', new Uint8Array(d.x.buffer, d.x.byteOffset, d.x.byteLength));
      writeFileSync('$data/y_' + name + '.i32', new Uint8Array(d.y.buffer, d.y.byteOffset, d.y.byteLength));
      let px = 0; for (const v of d.x) px += v;
      let lab = 0; for (const v of d.y) lab += v;
      sums.push([d.y.length, px.toFixed(4), lab]);
    }
    const [tr, te] = sums;
    console.log('data: ' + tr[0] + ' train / ' + te[0] + ' test, pixel sums ' + tr[1] + ' / ' + te[1] + ', label sums ' + tr[2] + ' / ' + te[2]);
  "
}

webgrad_run() { # seed, extra flags...
  local seed=$1; shift
  echo
  echo "\$ npx webgrad train --layers lstm128 --epochs $epochs --seed $seed --json $*"
  local t0=$SECONDS
  # The summary table is left out; the epoch lines, the test figures and the JSON stay.
  nice node bin/webgrad.js train --layers lstm128 --epochs "$epochs" --seed "$seed" --json "$@" 2>&1 \
    | grep --line-buffered -v '^ \|^_\|^=\|^Model\|^Total\|^Trainable\|^Non-trainable\|^Layer'
  echo "wall time: $((SECONDS - t0)) s"
}

torch_runs() {
  echo "\$ $python examples/lstm_digits_torch.py DATA --seeds ${seeds// /,} --epochs $epochs${TORCH_BLAS_DIR:+ (LD_LIBRARY_PATH=$TORCH_BLAS_DIR)}"
  local t0=$SECONDS
  LD_LIBRARY_PATH="${TORCH_BLAS_DIR:-}${TORCH_BLAS_DIR:+:}${LD_LIBRARY_PATH:-}" \
    nice "$python" examples/lstm_digits_torch.py "$data" --seeds "${seeds// /,}" --epochs "$epochs" 2>&1
  echo "wall time: $((SECONDS - t0)) s"
}

{
  echo "# bash examples/lstm-digits.sh on commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shaders || echo ' (with uncommitted changes)'), $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)${PARALLEL:+, PyTorch run beside webgrad (PARALLEL=1)}"
  export_digits
  [ -n "${PARALLEL:-}" ] && { torch_runs >"$data/torch.txt" & torch_pid=$!; }
  echo
  echo "## webgrad"
  for s in $seeds; do webgrad_run "$s"; done
  for s in $cpu_seeds; do webgrad_run "$s" --backend cpu; done
  echo
  echo "## PyTorch"
  echo
  # A PyTorch run that fails or is stopped still shows the epochs it printed, and its status.
  if [ -n "${PARALLEL:-}" ]; then
    status=0; wait "$torch_pid" || status=$?
    cat "$data/torch.txt"
    [ "$status" = 0 ] || echo "PyTorch stopped with status $status"
  else
    torch_runs
  fi
} 2>&1 | tee "$out"
