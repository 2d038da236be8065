#!/usr/bin/env bash
# GPU check of the training hot loop and seed packing (prints figures; not a test).
#
#   bash benchmarks/gpu_check.sh        # from the repository root; ≤ ~6 min worst case
#
# Every step has its own `timeout`, so one slow step cannot eat the others' time; the whole
# log is also written to $OUT/gpu_check.log (or /tmp/gpu_check.log without $OUT).
# 1. packing: K=16 packed vs 16 sequential runs, CIFAR-shaped (cifar_synth 3×32×32, d=256,
#    L=4, batch 128, 3 epochs of 10,240 samples), cuda: the ratio (issue: ≥ 5×).
# 2. one CIFAR-shaped run (50,000 samples, d=256, L=4, batch 128): 10 epochs (printed with a
#    100-epoch extrapolation), then the real 100 epochs (issue: < 30 s).
# 3. train_throughput.py on cuda: faspec vs usual loop vs GEMM bound.
set -x
LOG="${OUT:-/tmp}/gpu_check.log"
exec > >(tee -a "$LOG") 2>&1
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
nvidia-smi || true
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import faspec.train.pack" 2>/dev/null; then
  "$PY" -m pip install -e . --no-deps --no-build-isolation -q || true
fi
"$PY" -c "import faspec.train.pack; print('faspec imports')" || { echo "faspec does not import"; exit 1; }

timeout 110 "$PY" benchmarks/packing.py --device cuda --big --ks 16 --epochs 3 --n-train 10240 \
  || echo "packing step failed or timed out (rc=$?)"

cat > /tmp/one_run.py <<'PYEOF'
import sys, time
from faspec.train import run
epochs = int(sys.argv[1])
cfg = {"seed": 0, "method": "bp", "model": {"d": 256, "blocks": 4},
       "data": {"name": "cifar_synth", "n_train": 50000, "n_test": 10000},
       "train": {"epochs": epochs, "batch_size": 128, "precision": sys.argv[2]},
       "measure": {"epochs": []}}
run({**cfg, "train": {**cfg["train"], "epochs": 1}}, device="cuda")  # warm-up, data cached
t0 = time.perf_counter()
out = run(cfg, device="cuda")
wall = time.perf_counter() - t0
print(f"CIFAR-shaped d=256 L=4 bp {epochs} epochs {sys.argv[2]}: {wall:.1f} s wall "
      f"(run's own wall_s {out.result['provenance']['wall_s']}), "
      f"-> 100 epochs ~ {wall * 100 / epochs:.1f} s{' (extrapolated)' if epochs != 100 else ''}; "
      f"test_acc {out.result['final']['test_acc']:.3f}", flush=True)
PYEOF
timeout 50 "$PY" /tmp/one_run.py 10 fp32 || echo "10-epoch run failed or timed out"
timeout 30 "$PY" /tmp/one_run.py 10 bf16 || echo "10-epoch bf16 run failed or timed out"

# 4. four runs sharing the GPU (as Ray's gpus: 0.25 would place them) vs one after another.
timeout 75 "$PY" benchmarks/gpu_share.py --device cuda --epochs 2 --n-train 20480 \
  || echo "gpu_share failed or timed out"

# FULL=1 adds the real 100-epoch run and the throughput comparison (several more minutes).
if [ -n "${FULL:-}" ]; then
  timeout 200 "$PY" /tmp/one_run.py 100 fp32 || echo "100-epoch run failed or timed out"
  timeout 90 "$PY" benchmarks/train_throughput.py --device cuda --n-train 12800 --rounds 3 \
    || echo "train_throughput failed or timed out"
fi
