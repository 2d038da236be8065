#!/usr/bin/env bash
# GPU check of issue 17: proves packed == unpacked on cuda, then prints every figure, in one run.
#
#   bash benchmarks/gpu_check.sh        # from the repository root; ≤ ~9 min worst case
#
# Every step has its own `timeout`, so one slow step cannot eat the others' time; the whole log
# is also written to $OUT/gpu_check.log (or /tmp/gpu_check.log without $OUT), the re-measured
# cost model to $OUT/method_cost_h200.jsonl.
#  0. correctness: every packable method, a pack of 3 (seed, λ, lr differ) == each run alone,
#     compiled (CUDA graphs) == eager                                     [benchmarks/gpu_correct.py]
#  1. one CIFAR-shaped run (cifar_synth 50,000 × 3×32×32, d=256, L=4, batch 128, bp), compiled
#     step: 10 epochs, then 100 (target ≤ 15 s), and 10 epochs eager for the comparison
#  2. K=16 packed vs 16 sequential runs (3 epochs of 10,240 samples; target ≥ 8×)
#  3. seconds per epoch of every method but EP, and EP's step against BP's -> method_cost_h200.jsonl
#  4. `faspec plan specs/` with the cost model as committed (re-fit plan_cost.EPOCH_S from 3.)
#  FULL=1 adds 5: a measured verify of the main audit's packable runs (bp, fa, dfa, frozen × 3
#     seeds) on cifar_synth at CIFAR size, 100 epochs, against the plan's packed estimate for
#     the same runs (target: within 30 %). EP, SB and CB train unpacked (see the report).
set -x
OUTDIR="${OUT:-/tmp}"
LOG="$OUTDIR/gpu_check.log"
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

timeout 150 "$PY" benchmarks/gpu_correct.py --device cuda || echo "CORRECTNESS: FAILED or timed out (rc=$?)"

cat > /tmp/one_run.py <<'PYEOF'
import sys, time
from faspec.train import run
epochs, comp = int(sys.argv[1]), sys.argv[2]
cfg = {"seed": 0, "method": "bp", "model": {"d": 256, "blocks": 4},
       "data": {"name": "cifar_synth", "n_train": 50000, "n_test": 10000},
       "train": {"epochs": epochs, "batch_size": 128, "compile": comp},
       "measure": {"epochs": []}}
t0 = time.perf_counter()
run({**cfg, "train": {**cfg["train"], "epochs": 1}}, device="cuda")  # warm-up: data, compile
warm = time.perf_counter() - t0
t0 = time.perf_counter()
out = run(cfg, device="cuda")
wall = time.perf_counter() - t0
print(f"FIGURE one run: CIFAR-shaped d=256 L=4 bp {epochs} epochs compile={comp}: {wall:.1f} s "
      f"(warm-up incl. compile {warm:.1f} s) -> 100 epochs ~ {wall * 100 / epochs:.1f} s"
      f"{' (extrapolated)' if epochs != 100 else ''}; test_acc {out.result['final']['test_acc']:.3f}",
      flush=True)
PYEOF
timeout 60 "$PY" /tmp/one_run.py 10 auto || echo "10-epoch compiled run failed or timed out"
timeout 60 "$PY" /tmp/one_run.py 10 false || echo "10-epoch eager run failed or timed out"
timeout 90 "$PY" /tmp/one_run.py 100 auto || echo "100-epoch compiled run failed or timed out"

timeout 120 "$PY" benchmarks/packing.py --device cuda --big --ks 16 --epochs 3 --n-train 10240 \
  || echo "packing step failed or timed out (rc=$?)"

timeout 120 "$PY" benchmarks/method_cost.py --device cuda --n-train 50000 \
  --only resmlp256x4-bp resmlp256x4-fa resmlp256x4-dfa resmlp256x4-frozen \
  resmlp256x4-sb resmlp256x4-cb --out "$OUTDIR/method_cost_h200.jsonl" \
  || echo "method_cost failed or timed out"
# EP v3 (150 + 30 relaxation steps per training step) would take minutes per epoch at 50,000
# images: its cost is measured per step against BP's, in the same run.
timeout 60 "$PY" benchmarks/method_cost.py --per-step --device cuda \
  | tee -a "$OUTDIR/method_cost_h200.jsonl" || echo "EP per-step cost failed or timed out"

"$PY" -m faspec.cli plan specs/ | tail -2

if [ -n "${FULL:-}" ]; then
  SLICE=$(mktemp -d)
  cat > "$SLICE/slice.yaml" <<'YEOF'
faspec: 1
name: audit_slice
title: "The main audit's packable rules at CIFAR size on cifar_synth, 100 epochs (timing only)"
defaults:
  data: {name: cifar_synth, n_train: 50000, n_test: 10000}
  model: {arch: resmlp, d: 256, blocks: 4, terminal_ln: true}
  train: {epochs: 100, batch_size: 128, lr: 1.0e-3, weight_decay: 0.01, schedule: cosine}
  seeds: [42, 123, 456]
experiments:
  audit:
    methods: [bp, fa, dfa, frozen]
claims: []
YEOF
  "$PY" -m faspec.cli plan "$SLICE/slice.yaml" | tail -1
  /usr/bin/time -f "FIGURE measured verify of the audit slice (12 runs): %e s wall" timeout 400 \
    "$PY" -m faspec.cli verify "$SLICE/slice.yaml" --executor local --device cuda -q \
    --store "$SLICE/store" --reports "$SLICE/reports" || echo "slice verify rc=$?"
fi
