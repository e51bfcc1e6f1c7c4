#!/usr/bin/env bash
# Benchmarks on a GPU machine, in under 8 minutes (issue 16, item 6).
#
# Prepared, NOT yet run: no GPU was available when it was written (commit
# message and research/benchmarks/README.md say when it has been run).
#
# Usage, from the repository root, with a venv that has jax[cuda] installed
# (`pip install -e ".[research,test,bench]" "jax[cuda12]"`):
#   bash research/benchmarks/gpu.sh [OUT_DIR]
# Writes OUT_DIR (default research/benchmarks/results) /<card>.json and .md:
#   1. the SimCLR two-view comparison (JAX libraries on the GPU; the host
#      peers on the machine's CPU, in fresh subprocesses) at 32 and 224;
#   2. the ResNet-18 SimCLR step with augmentation inside the jitted step vs
#      without, batch 256 (512 views of 32x32), merged into the same file.
# Each step has its own time limit so that the whole stays under 8 minutes;
# a step that runs out is reported and the next one still runs.
set -u
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
OUT=${1:-research/benchmarks/results}
export XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=3
start=$(date +%s)
"$PY" - <<'PYEOF' || { echo "no GPU visible to JAX: stopping"; exit 1; }
import jax
d = jax.devices()[0]
print("device:", d.platform, d.device_kind, "count", jax.device_count())
assert d.platform == "gpu", d.platform
PYEOF
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
uptime
# 1. SimCLR comparison (about 3-4 min: compilation dominates on a GPU).
timeout 270 "$PY" -m research.benchmarks.run --only simclr --out "$OUT" \
    --figure "" || echo "simclr benchmark: exit $? (124 = timed out)"
# 2. Training step at batch 256 (about 2-3 min), merged into the same file.
timeout 180 "$PY" -m research.benchmarks.run --only training --merge \
    --train-batch 256 --out "$OUT" --figure "" \
    || echo "training benchmark: exit $? (124 = timed out)"
uptime
echo "gpu.sh: $(( $(date +%s) - start )) s in all"
