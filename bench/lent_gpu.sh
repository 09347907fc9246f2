#!/usr/bin/env bash
# One prepared call of a lent GPU machine (device tool). Steps, by name, in the order given (default: all):
#   cuda   the CUDA tests             core   the core's tests on CUDA     gpu    the GPU timings (bench.gpu)
#   video  refined video at 512 px    held   memory held run after run, and two tests run against the old graphs.py
#   sizes  the large sizes (bench.sizes)
# Each step has its own time limit, so a slow one leaves the others their figures; logs and results go to $OUT
# (results as one tarball, refreshed after each step). Any CUDA host: with a .whl/ folder (bench/gpu_wheels.sh,
# for a host without the registry: carry it) its wheels are installed beside the image's packages; without one,
# the project's requirements are installed from the registry.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:$PWD || exit 3
  for packed in .whl/*.tar.xz; do [ -e "$packed" ] && tar -C /tmp/site -xJf "$packed"; done
else
  python3 -m pip install -q -r requirements.txt && export PYTHONPATH=$PWD || exit 3
fi
keep() { tar czf "$OUT/results.tgz" bench/results test-artifacts 2>/dev/null; }
step() { local limit=$1 log=$2; shift 2; echo "== $* (limit ${limit}s) $(date +%T)"; local t=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$log.log"; echo "== rc=${PIPESTATUS[0]} in $((SECONDS - t)) s"; keep; }
# pytest with the old graphs.py behaviours put back: a new warm-up stream each time, no freeing of the generator
old='import sys, torch, pytest; from nst_core import graphs
graphs.side_stream = lambda device: torch.cuda.Stream(device)
graphs.free_the_generator = lambda device: None
sys.exit(pytest.main(sys.argv[1:]))'
nvidia-smi -L; python3 -c "import torch, PIL, numpy; print(torch.__version__, PIL.__version__, numpy.__version__)"
for name in "${@:-cuda core gpu video held sizes}"; do for name in $name; do case $name in
  cuda) step "${T_CUDA:-150}" test_cuda python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py ;;
  core) step "${T_CORE:-90}" test_transfer python3 -m pytest -q -x -p no:cacheprovider tests/test_transfer.py ;;
  gpu) step "${T_GPU:-130}" bench_gpu python3 -m bench.gpu --sizes --default-sizes 512 1024 2048 --t4 \
         --name cuda-gpu-sizes ;;
  video) step "${T_VIDEO:-150}" bench_video python3 -m bench.video --device cuda --size 512 \
           --name video-cuda ;;
  held) step "${T_HELD:-60}" held_old python3 -m bench.gpu_held --stream-per-warm-up --name old-streams
        step "${T_HELD:-60}" held python3 -m bench.gpu_held
        # these two tests must fail with the old behaviours (each run alone, before any other test)
        step 60 held_test_old python3 -c "$old" -q -p no:cacheprovider tests/test_cuda.py -k held
        step 60 generator_test_old python3 -c "$old" -q -p no:cacheprovider tests/test_cuda.py -k fails_falls_back ;;
  sizes) step "${T_SIZES:-200}" bench_sizes python3 -m bench.sizes --device cuda --sizes 1024 2048 3072 4096 ;;
  *) echo "unknown step: $name"; exit 2 ;;
esac; done; done
