"""EP's defaults by measurement: for a grid of β, tolerance, nudging and step caps, the cosine of
EP's update with the finite-difference gradient of the loss at the free equilibrium, and the
cost of a training step, against BP's step measured in the same run.

    python benchmarks/ep_defaults.py [--train-steps 100] [--dirs 16] [--fd-batch 32] [--quick]

Network: the default ResMLP at the issue's benchmark size (d=64, L=3, pre-LN, terminal LN,
`act: relu`) on the teacher task, trained briefly with BP (`--train-steps` AdamW steps, batch
128) so that the measurement is not at initialisation. Reference: L(θ) = mean CE(head(s*_L(θ)))
on `--fd-batch` samples in float64, s* re-relaxed at θ ± εu (tight tolerance, large cap) along
`--dirs` random directions u of the non-head parameters (the head and out_ln get their exact
gradient and would inflate the cosine); cos = Σ_u D_u·⟨g, u⟩ / (‖D‖‖⟨g,u⟩‖) estimates the cosine
of g with ∇L in that random subspace. g is EP's update in float32 on the same samples, as in
training. Cost: median seconds of one training step (method.loss, backward, AdamW) at batch 128
on one thread. The reference uses the same EP energy as the setting (the same smoothing), so it
also runs on code without the `smooth`/`tol` options (the numbers "before").
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import inspect
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from faspec.config import normalize_config  # noqa: E402
from faspec.train.data import load_data  # noqa: E402
from faspec.train.methods import BP, EP  # noqa: E402
from faspec.train.models import ResMLP  # noqa: E402


def make_ep(model: torch.nn.Module, **opts: Any) -> EP:
    """An EP with the options this code knows (older code lacks `tol`/`smooth`)."""
    known = inspect.signature(EP.__init__).parameters
    return EP(model, 10, torch.Generator(), **{k: v for k, v in opts.items() if k in known})


def view(ep: EP, model: torch.nn.Module) -> contextlib.AbstractContextManager:
    return ep.energy_view(model) if hasattr(ep, "energy_view") else contextlib.nullcontext()


def non_head(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for k, p in model.named_parameters() if not k.startswith(("head", "out_ln"))]


def fd_derivatives(
    model: torch.nn.Module, ref: EP, x: torch.Tensor, y: torch.Tensor, dirs: list, eps: float
) -> tuple[torch.Tensor, float]:
    """(D_u for every direction, the reference free phase's batch residual at θ). At θ ± εu the
    free phase is re-relaxed from s*(θ) (the same equilibrium, reached in fewer steps)."""
    params = non_head(model)
    e0, s_star = ref.free_equilibrium(model, x, y)
    residual = float(ref.residual(model, e0, s_star))

    def loss() -> float:
        with view(ref, model), torch.no_grad():
            e = model.embed(x)
            out = ref.relax(model, e, s_star, y, 0.0, ref.free_steps)
            s_last = (out[0] if isinstance(out, tuple) else out)[-1]
            return F.cross_entropy(model.head_logits(s_last), y).item()

    out = []
    for u in dirs:
        vals = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for p, v in zip(params, u, strict=True):
                    p.add_(sign * eps * v)
            vals.append(loss())
            with torch.no_grad():
                for p, v in zip(params, u, strict=True):
                    p.sub_(sign * eps * v)
        out.append((vals[0] - vals[1]) / (2 * eps))
    return torch.tensor(out, dtype=torch.float64), residual


def ep_cosine(
    model32: torch.nn.Module, opts: dict, x: torch.Tensor, y: torch.Tensor, dirs: list, fd: Any
) -> float:
    ep = make_ep(model32, **opts)
    model32.zero_grad()
    ep.loss(model32, x, y)[0].backward()
    grad = [p.grad.double() for p in non_head(model32)]
    proj = torch.tensor(
        [float(sum((a * b).sum() for a, b in zip(grad, u, strict=True))) for u in dirs],
        dtype=torch.float64,
    )
    return float(proj @ fd / (proj.norm() * fd.norm()))


def step_seconds(
    model: torch.nn.Module, method: Any, x: torch.Tensor, y: torch.Tensor, reps: int
) -> float:
    """Median seconds of one training step (loss, backward, AdamW) on a private copy."""
    model = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for _ in range(reps + 1):
        t = time.perf_counter()
        opt.zero_grad()
        method.loss(model, x, y)[0].backward()
        opt.step()
        if x.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:])  # the first step warms up


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-steps", type=int, default=100)
    ap.add_argument("--dirs", type=int, default=16)
    ap.add_argument("--fd-batch", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ref-steps", type=int, default=1000, help="cap of the reference's phases")
    ap.add_argument("--quick", action="store_true", help="the defaults and β = 0.01 only")
    ap.add_argument("--caps", nargs="*", default=["40,20", "150,60"], help="free,nudged caps")
    ap.add_argument("--betas", nargs="*", type=float, default=[0.1, 0.5])
    ap.add_argument("--tols", nargs="*", type=float, default=[1e-2, 1e-3])
    ap.add_argument("--nudges", nargs="*", default=["one_sided", "centred"])
    ap.add_argument("--solvers", nargs="*", default=["lbfgs"])
    ap.add_argument("--grid-only", action="store_true", help="without the two anchor rows")
    ap.add_argument("--float64-check", action="store_true", help="converged float64 EP, β → 0")
    ap.add_argument("--cache", default=None, help="file keeping the FD reference between runs")
    args = ap.parse_args()
    torch.set_num_threads(1)

    cfg = normalize_config(
        {
            "method": "bp",
            "model": {"arch": "resmlp", "d": 64, "blocks": 3},
            "data": {"name": "teacher", "n_train": 4096},
        }
    )
    data = load_data(cfg["data"])
    torch.manual_seed(0)
    model = ResMLP(data.in_dim, data.num_classes, d=64, blocks=3)  # act relu, terminal LN
    bp = BP(model, data.num_classes, torch.Generator())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(args.train_steps):
        idx = torch.randint(len(data.x_train), (128,), generator=g)
        opt.zero_grad()
        bp.loss(model, data.x_train[idx], data.y_train[idx])[0].backward()
        opt.step()
    xb, yb = data.x_train[:128], data.y_train[:128]
    xf, yf = data.x_train[128 : 128 + args.fd_batch], data.y_train[128 : 128 + args.fd_batch]
    bp_s = step_seconds(model, BP(model, 10, torch.Generator()), xb, yb, 4 * args.reps)
    print(json.dumps({"case": "bp", "step_ms": round(1e3 * bp_s, 2)}), flush=True)

    m64 = copy.deepcopy(model).double()
    dirs = []
    gd = torch.Generator().manual_seed(7)
    for _ in range(args.dirs):
        dirs.append(
            [torch.randn(p.shape, generator=gd, dtype=torch.float64) for p in non_head(m64)]
        )
    ref = make_ep(m64, free_steps=args.ref_steps, tol=1e-9)
    key = Path(args.cache) if args.cache else None
    if key is not None and key.exists():
        fd, ref_res = torch.load(key)
    else:
        fd, ref_res = fd_derivatives(m64, ref, xf.double(), yf, dirs, 1e-4)
        if key is not None:
            torch.save((fd, ref_res), key)
    print(json.dumps({"case": "reference", "residual": ref_res}), flush=True)

    default = {k: v for k, v in normalize_config({"method": "ep"})["method"].items()}
    default = {
        k: v for k, v in default.items() if k not in ("name", "version", "targets", "penalty")
    }
    grid: list[dict] = [
        default,
        {**default, "beta": 0.01, "free_steps": 600, "nudged_steps": 600, "tol": 1e-5},
    ]
    if args.float64_check:  # the EP theorem on this network: converged phases, β → 0, float64
        for beta in (1e-2, 1e-3):
            opts = {**default, "beta": beta, "free_steps": args.ref_steps, "tol": 1e-9}
            opts["nudged_steps"] = args.ref_steps
            cos = ep_cosine(copy.deepcopy(m64), opts, xf.double(), yf, dirs, fd)
            print(json.dumps({"case": "float64 converged", "beta": beta, "cos_fd": round(cos, 4)}))
        return
    if args.grid_only:
        grid = []
    if not args.quick:
        for caps in args.caps:
            for beta in args.betas:
                for tol in args.tols:
                    for nudge, solver in itertools.product(args.nudges, args.solvers):
                        free, nudged = (int(c) for c in caps.split(","))
                        grid.append(
                            {
                                **default,
                                "solver": solver,
                                "beta": beta,
                                "tol": tol,
                                "nudge": nudge,
                                "free_steps": free,
                                "nudged_steps": nudged,
                            }
                        )
    for opts in grid:
        cos = ep_cosine(copy.deepcopy(model), opts, xf, yf, dirs, fd)
        ep = make_ep(model, **opts)
        s = step_seconds(model, ep, xb, yb, 1 if opts.get("tol", 1.0) <= 1e-5 else args.reps)
        ep.free_equilibrium(model, xb, yb)
        conv = getattr(ep, "last_free", None)
        row = {
            "beta": opts["beta"],
            "tol": opts.get("tol"),
            "nudge": opts["nudge"],
            "caps": [opts["free_steps"], opts["nudged_steps"]],
            "solver": opts.get("solver", "gd"),
            "cos_fd": round(cos, 3),
            "step_ms": round(1e3 * s, 1),
            "x_bp": round(s / bp_s, 1),
            "free_steps_used": conv.steps if conv is not None else opts["free_steps"],
            "free_converged": round(float(conv.converged.double().mean()), 3)
            if conv is not None
            else None,
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
