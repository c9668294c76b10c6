#!/usr/bin/env bash
# The GPU kit's one device command: runs the bench on a lent GPU machine from
# what bench/device/pack.sh packed (carry .gl and .gpu-kit), within KIT_BUDGET
# seconds, writing every result file and run.log under $OUT. Run from anywhere:
#   bash bench/device/run.sh
# Steps, each with a deadline so that a slow or hung step still leaves its
# results file: WebGPU systems (train W1-W4, matmul, kernel lab with its conv2d
# section) and, beside
# them where there are cores to spare, CPU systems (train, matmul, shortened);
# then S1 scaling if time remains.
# Environment:
#   OUT            the results folder (the device tool sets it); required
#   KIT_BUDGET     seconds the whole run may take (default 390)
#   KIT_FP32_PEAK  GFLOP/s for --fp32-peak (default 67000: H100/H200 SXM fp32, vendor datasheet; empty: none)
#   KIT_SKIP_GL=1  leave .gl's loaders out of / (local tests: they would replace this machine's libraries)
#   KIT_QUICK=1    pass --quick to every step (local tests)
#   KIT_PARALLEL   1: the cpu step runs beside the gpu step; 0: after it; auto (default): beside it on 8 cores or more
#   KIT_NVIDIA_SHARE  the driver's share folder (default /usr/local/nvidia/share, as the device README gives it)
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?OUT is not set: the folder for results (the device tool sets it; locally e.g. OUT=/tmp/kit-out)}"
BUDGET=${KIT_BUDGET:-390}
PEAK=${KIT_FP32_PEAK-67000}
QUICK=$([ "${KIT_QUICK:-0}" = 1 ] && echo --quick || true)
PARALLEL=${KIT_PARALLEL:-auto}
NV=${KIT_NVIDIA_SHARE:-/usr/local/nvidia/share}
die() { echo "run.sh: $*" >&2; exit 1; }
left() { echo $((BUDGET - SECONDS)); }

# unxz FILE: decompressed to stdout, by xz or else by Python's lzma.
unxz() {
  if command -v xz >/dev/null; then xz -dc "$1"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}

setup() {
  if [ "${KIT_SKIP_GL:-0}" = 1 ]; then echo "== KIT_SKIP_GL=1: the loaders in .gl are not unpacked"
  else
    ls .gl/*.deb >/dev/null 2>&1 || die ".gl/*.deb is missing: run bench/device/pack.sh and carry .gl"
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  [ -s .gpu-kit/node.xz ] && [ -s .gpu-kit/webgrad-kit.tar.xz ] || die ".gpu-kit is missing or incomplete: run bench/device/pack.sh and carry .gpu-kit"
  KIT_DIR=$(mktemp -d /tmp/webgrad-kit.XXXXXX)
  trap 'rm -rf "$KIT_DIR"' EXIT
  NODE=$KIT_DIR/bin/node
  mkdir "$KIT_DIR/bin"
  unxz .gpu-kit/node.xz > "$NODE" || die "unpacking .gpu-kit/node.xz failed (no xz, and no Python with lzma?)"
  chmod +x "$NODE"
  unxz .gpu-kit/webgrad-kit.tar.xz | tar -x -C "$KIT_DIR" || die "unpacking .gpu-kit/webgrad-kit.tar.xz failed"
  "$NODE" --version >/dev/null || die "the kit's node does not run here: $(ldd "$NODE" 2>&1 | grep -i 'not found\|version' | head -3)"
  sed 's/^/   /' "$KIT_DIR/MANIFEST"
  # bench/lib/env.ts records package versions resolved from the working directory, which has no node_modules here.
  export NODE_PATH=$KIT_DIR/node_modules
  echo "== machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi -L || true
    nvidia-smi --query-gpu=driver_version,memory.total,clocks.sm,clocks.max.sm,temperature.gpu --format=csv || true
  else echo "   no nvidia-smi"; fi
  echo "   loaders: $(ldconfig -p | grep -oE 'lib(vulkan|EGL|GLESv2)\.so\.[0-9]+' | sort -u | xargs)"
}

probe() { timeout -k 5 60 "$NODE" "$KIT_DIR/bench/probe.js"; }

find_adapter() {
  echo "== WebGPU adapter, found as the bench finds it"
  local rc=0 first
  probe || rc=$?
  if [ "$rc" != 0 ] && [ -f "$NV/vulkan/icd.d/nvidia_icd.json" ]; then
    echo "   no Vulkan GPU adapter with the defaults: pointing the Vulkan and EGL loaders at $NV"
    export VK_DRIVER_FILES=$NV/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=$NV/glvnd/egl_vendor.d/10_nvidia.json
    first=$rc rc=0
    probe || rc=$?
    if [ "$rc" != 0 ]; then
      unset VK_DRIVER_FILES __EGL_VENDOR_LIBRARY_FILENAMES
      rc=$first
      echo "   that found no Vulkan GPU either: the variables are unset again, and the bench gets the first adapter above"
    fi
  fi
  case $rc in
    0) echo "   a GPU on Vulkan: the WebGPU figures below are GPU figures" ;;
    3) echo "!!! NO Vulkan GPU adapter. If the probe line says 'software adapter', every WebGPU figure below is a CPU figure, not a GPU figure (the JSON's 'adapter.software' and 'note' say so too)" ;;
    *) echo "!!! no usable WebGPU adapter (probe status $rc): the WebGPU systems will fail; the CPU systems still run" ;;
  esac
}

# bench NAME DEADLINE ARGS...: one bench run writing into $OUT/NAME; no job starts
# after DEADLINE seconds, and the process is killed 60 s after that if it hangs.
bench() {
  local name=$1 deadline=$2 rc=0 t0=$SECONDS
  shift 2
  if [ "$deadline" -lt 30 ]; then echo "== $name: skipped, too little time left (${deadline} s)"; return; fi
  echo "== $name, $(date -u +%T), at most ${deadline} s: $* $QUICK"
  timeout -k 10 $((deadline + 60)) "$NODE" "$KIT_DIR/bench/main.js" --out "$OUT/$name" --deadline "$deadline" $QUICK "$@" || rc=$?
  case $rc in
    0) echo "== $name: done in $((SECONDS - t0)) s" ;;
    1) echo "== $name: done in $((SECONDS - t0)) s; some job failed or was cut by the deadline (its Errors table above)" ;;
    *) echo "== $name: exit status $rc after $((SECONDS - t0)) s (124/137: killed as hung; no results file)" ;;
  esac
}

main() {
  echo "== webgrad GPU kit, $(date -u +%FT%TZ), budget ${BUDGET} s"
  setup
  find_adapter
  local gpu=$(( $(left) - 90 )) pid=
  # W7 (the GPT) is left to the gpu step: one full timed run of it on webgrad CPU is ~2 minutes.
  local cpu=(--only train,matmul --systems webgrad-cpu,tfjs-cpu,tfjs-wasm --workloads W1,W2,W3,W4,W5,W6 --budget-scale 0.3)
  # The CPU systems need minutes (one timed run of W3 alone is ~25 s on webgrad CPU, ~70 s on tfjs-wasm):
  # with cores to spare (each of their processes uses one), they run beside the GPU step.
  if [ "$PARALLEL" = 1 ] || { [ "$PARALLEL" = auto ] && [ "$(nproc)" -ge 8 ]; }; then
    echo "== the cpu step runs beside the gpu step, on $(nproc) cores; its output follows the gpu step's"
    bench cpu $(( $(left) - 90 )) "${cpu[@]}" > "$KIT_DIR/cpu.log" 2>&1 &
    pid=$!
  fi
  bench gpu $((gpu < 240 ? gpu : 240)) --only train,matmul,lab --systems webgrad-webgpu,tfjs-webgpu ${PEAK:+--fp32-peak "$PEAK"}
  if [ -n "$pid" ]; then
    wait "$pid" || true
    cat "$KIT_DIR/cpu.log"
  else
    bench cpu $(( $(left) - 75 )) "${cpu[@]}"
  fi
  bench scaling $(( $(left) - 15 )) --only scaling --systems webgrad-webgpu,webgrad-cpu,tfjs-wasm --budget-scale 0.3
  "$NODE" "$KIT_DIR/bench/summary.js" "$OUT" || true
  echo "== done in ${SECONDS} s; files in $OUT: $(cd "$OUT" && find . -type f | sort | xargs)"
}

mkdir -p "$OUT"
main 2>&1 | tee "$OUT/run.log"
