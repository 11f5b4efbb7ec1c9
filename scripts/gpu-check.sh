#!/usr/bin/env bash
# The GPU check in one go, for a machine with an NVIDIA GPU, Python and PyTorch, but no Node.js and
# no network (the device machine). Needs .carry/ from scripts/prepare-gpu-carry.sh (run beforehand,
# on a machine with the project's node_modules). In the repository root:
#
#   bash scripts/gpu-check.sh
#
# Steps: unpack the carried node and Dawn; install the carried Vulkan loader / EGL dispatch
# libraries where the machine lacks them; point VK_DRIVER_FILES (and the EGL vendor file) at the
# NVIDIA driver's; print nvidia-smi and torch's view of the GPU; run the GPU self-check (every
# backend against the float32 interpreter, and a d = 1100, n = 1030 model); run bench/gpu.ts
# (Theorem 5.1 S5 n = 64 and p-hop p = 32 n = 256 at batch sizes 1..4096, fast32 and webasm beside
# it, PyTorch on the same weights). Everything goes to $OUT (default out/gpu-check): gpu-check.log,
# selfcheck.json, bench.json. Designed to end within 5 minutes; each step has its own timeout
# (SELFCHECK_TIMEOUT, BENCH_TIMEOUT seconds). Without a GPU it still runs and says what is missing.
set -u
cd "$(dirname "$0")/.."
# Defaults are the configuration that completed on the H200 in 43 s (bench/results/2026-11-28-*).
# The fast CPU path runs on one thread here: its worker threads load simulators/fast/worker.mjs,
# which the one-file bundle does not contain, and a first run with 16 threads stalled for minutes.
export LOOPED_THREADS="${LOOPED_THREADS:-1}"
ROOT=$PWD
C="$ROOT/.carry"
OUT="${OUT:-$ROOT/out/gpu-check}"
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
START=$SECONDS
step() { echo; echo "== $* [$((SECONDS - START)) s]"; }
[ -d "$C/bundle" ] || { echo "no .carry/bundle: run scripts/prepare-gpu-carry.sh here first, then carry .carry"; exit 2; }

# xz may be missing on the machine; Python's lzma reads the same files
unxz_to() {
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}

step "node and Dawn"
# unpacked under /tmp (never into .carry, which stays as carried): node, the bundles, and the
# webgpu package beside them so the bundles' import('webgpu') finds it
RUN=/tmp/looped-gpu
mkdir -p "$RUN/bundle" "$RUN/node_modules/webgpu/dist/linux-x64"
[ -x "$RUN/node" ] || { unxz_to "$C/node.xz" "$RUN/node" && chmod +x "$RUN/node"; }
NODE="$RUN/node"
"$NODE" --version || { echo "the carried node does not run here"; exit 3; }
cp "$C"/bundle/*.mjs "$RUN/bundle/"
cp "$C"/node_modules/webgpu/*.js* "$RUN/node_modules/webgpu/"
DAWN="$RUN/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$DAWN" ] || unxz_to "$C/node_modules/webgpu/dist/linux-x64/dawn.node.xz" "$DAWN"
ls -la "$DAWN"

step "libraries (Vulkan loader, EGL/GL dispatch)"
missing=""
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || missing="$missing libvulkan.so.1"
ldconfig -p 2>/dev/null | grep -q 'libEGL.so.1' || missing="$missing libEGL.so.1"
if [ -n "$missing" ] || [ -n "${LOOPED_FORCE_DEBS:-}" ]; then
  echo "missing:${missing:- none (forced)}; unpacking .carry/debs"
  if [ "$(id -u)" = 0 ]; then
    for f in "$C"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    mkdir -p /tmp/looped-root
    for f in "$C"/debs/*.deb; do dpkg -x "$f" /tmp/looped-root; done
    export LD_LIBRARY_PATH="/tmp/looped-root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi
ldconfig -p 2>/dev/null | grep -E 'libvulkan.so.1|libEGL.so.1|libEGL_nvidia|libGLX_nvidia|libnvidia-glcore' | head -8

step "NVIDIA driver files"
# the driver's own libraries (libGLX_nvidia, libEGL_nvidia, the Vulkan ICD's library) where the
# container mounts them, for the loader to find by name
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/local/share/vulkan/icd.d/nvidia_icd.json; do
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$f" ]; then export VK_DRIVER_FILES="$f"; fi
done
for f in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json /etc/glvnd/egl_vendor.d/10_nvidia.json; do
  if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$f" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES="$f"; fi
done
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-(none found)}"
[ -n "${VK_DRIVER_FILES:-}" ] && cat "$VK_DRIVER_FILES"
echo "__EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-(none found)}"
ls /usr/local/nvidia/lib64 2>/dev/null | grep -iE 'vulkan|GLX_nvidia|EGL_nvidia|glcore' | head

step "nvidia-smi"
nvidia-smi 2>&1 | head -20 || echo "no nvidia-smi"
PY="${PYTHON:-python3}"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>&1 | tail -1

step "self-check: every backend against the float32 interpreter"
timeout "${SELFCHECK_TIMEOUT:-100}" "$NODE" "$RUN/bundle/selfcheck.mjs" --runs "${SELFCHECK_RUNS:-40}" --backends "${SELFCHECK_BACKENDS:-webgpu,webasm,cpu}" --json "$OUT/selfcheck.json"
echo "self-check exit status $?"

step "benchmark"
timeout "${BENCH_TIMEOUT:-170}" "$NODE" "$RUN/bundle/bench-gpu.mjs" --backends "${BENCH_BACKENDS:-webgpu}" \
  --batches "${BENCH_BATCHES:-1,16,256,1024,4096}" --cpu-batches "${BENCH_CPU_BATCHES:-1,16}" \
  --budget "${BENCH_BUDGET:-6}" --min-time "${BENCH_MIN_TIME:-0.2}" \
  --torch --torch-script "$ROOT/bench/torch_forward.py" --export /tmp/looped-bench --json "$OUT/bench.json"
echo "bench exit status $?"

step "done"
ls -la "$OUT"
