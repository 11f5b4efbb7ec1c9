#!/usr/bin/env bash
# Prepares .carry/ (git-ignored) for scripts/gpu-check.sh on a GPU machine that has Python and
# PyTorch but no Node.js and no network. Run it HERE, in a checkout with node_modules installed
# (npm ci) and `webgpu` among them, on x86-64 Linux:
#
#   bash scripts/prepare-gpu-carry.sh
#
# Writes (about 40 MiB in all; the device tool carries at most 64 MiB):
#   .carry/node.xz                         this machine's node binary, xz-compressed
#   .carry/bundle/selfcheck.mjs            gpu/selfcheck-cli.ts and everything it imports, one file
#   .carry/bundle/bench-gpu.mjs            bench/gpu.ts likewise (fast32, registry constructions included)
#   .carry/node_modules/webgpu/            the `webgpu` package: index.js, package.json and
#                                          dist/linux-x64/dawn.node.xz (Dawn, the WebGPU implementation)
#   .carry/debs/*.deb                      Debian's Vulkan loader and GL/EGL dispatch libraries
#                                          (libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
#   .carry/MANIFEST                        what was packed, from which versions
# The bundler flags that matter: ESM for Node 20, `webgpu` (a native addon) and `gl` (optional,
# absent) left external, a `require` for gpu.js's CommonJS calls to Node built-ins, and --keep-names
# (the backend is read from kernel class names).
set -euo pipefail
cd "$(dirname "$0")/.."
C=.carry
ESBUILD=node_modules/.bin/esbuild
[ -x "$ESBUILD" ] || ESBUILD=node_modules/esbuild/bin/esbuild
[ -x "$ESBUILD" ] || { echo "esbuild not found under node_modules (run npm ci)"; exit 1; }
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "node_modules/webgpu/dist/linux-x64/dawn.node missing (npm install webgpu@0.6.2)"; exit 1; }
command -v xz >/dev/null || { echo "xz is needed (apt-get install xz-utils)"; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "the carried node binary must be x86-64; this machine is $(uname -m)"; exit 1; }

rm -rf "$C"
mkdir -p "$C/bundle" "$C/node_modules/webgpu/dist/linux-x64" "$C/debs"

echo "== node $(node --version): compressing $(readlink -f "$(command -v node)")"
xz -T0 -9 -c "$(readlink -f "$(command -v node)")" >"$C/node.xz"

echo "== bundling"
banner="import { createRequire as __looped_cr } from 'node:module'; const require = __looped_cr(import.meta.url);"
for entry in gpu/selfcheck-cli.ts:selfcheck bench/gpu.ts:bench-gpu; do
  src="${entry%%:*}"
  name="${entry##*:}"
  "$ESBUILD" "$src" --bundle --platform=node --format=esm --target=node20 \
    --keep-names --external:webgpu --external:gl ${LOOPED_ESBUILD_FLAGS:-} \
    --banner:js="$banner" --log-level=warning --outfile="$C/bundle/$name.mjs"
done

echo "== webgpu package"
W=node_modules/webgpu
cp "$W/package.json" "$W/index.js" "$C/node_modules/webgpu/"
[ -f "$W/LICENSE.md" ] && cp "$W/LICENSE.md" "$C/node_modules/webgpu/"
xz -T0 -9 -c "$W/dist/linux-x64/dawn.node" >"$C/node_modules/webgpu/dist/linux-x64/dawn.node.xz"

echo "== Debian packages (Vulkan loader, EGL/GL dispatch)"
if [ -n "${LOOPED_DEBS_FROM:-}" ]; then
  cp "$LOOPED_DEBS_FROM"/*.deb "$C/debs/"
else
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null
  # shellcheck disable=SC2086
  (cd "$C/debs" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

{
  echo "prepared $(date -u +%FT%TZ) on $(uname -srm)"
  echo "node $(node --version)"
  echo "webgpu $(node -p "require('./$W/package.json').version")"
  echo "gpu.js $(node -p "require('./node_modules/gpu.js/package.json').version")"
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  (cd "$C" && find . -type f -printf '%s\t%p\n' | sort -k2)
} >"$C/MANIFEST"

total=$(du -sb "$C" | cut -f1)
echo "== .carry: $((total / 1048576)) MiB"
cat "$C/MANIFEST"
if [ "$total" -gt $((56 * 1048576)) ]; then
  echo "warning: .carry is over 56 MiB; with the working tree it may exceed the device tool's 64 MiB"
fi
