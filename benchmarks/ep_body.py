"""EP's body update against the true gradient at given caps: cosine and norm ratio.

The body is every parameter but `out_ln` and the head. The reference is the gradient of the
batch-mean CE at the converged free equilibrium by implicit differentiation (Hessian solve,
checked positive definite), from tests/test_methods_ep.py, on the test's briefly trained default
ResMLP (relu, pre-LN, terminal LN, float64, batch 8). A cosine alone hides a bias toward zero
(truncated nudged phases shrink the update), hence the norm ratio. One JSON line per case:

    OMP_NUM_THREADS=1 python benchmarks/ep_body.py --nets 16x3 32x2 --caps 20/5 20/10
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", nargs="+", default=["16x3"], help="dxL, e.g. 16x3")
    ap.add_argument("--caps", nargs="+", default=["20/10"], help="free/nudged; 'default'")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import torch
    from test_methods_ep import _briefly_trained, _ep, ep_gradient, implicit_gradient

    from faspec.train.methods import EP

    torch.set_num_threads(1)
    for net in args.nets:
        d, blocks = (int(v) for v in net.split("x"))
        model, x, y = _briefly_trained(d, blocks)
        ref = torch.cat([t.flatten() for t in implicit_gradient(model, _ep(model), x, y)])
        for caps in args.caps:
            opts = {}
            if caps != "default":
                free, nudged = (int(v) for v in caps.split("/"))
                opts = {"free_steps": free, "nudged_steps": nudged}
            got = ep_gradient(model, EP(model, 3, torch.Generator(), **opts), x, y)
            a = torch.cat([t.flatten() for t in got])
            cos = float(a @ ref / (a.norm() * ref.norm()))
            ratio = float(a.norm() / ref.norm())
            row = {
                "net": net,
                "caps": caps,
                "body_cos": round(cos, 4),
                "norm_ratio": round(ratio, 3),
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
