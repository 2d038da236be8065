"""PC's credit against BP's as the relaxation lengthens, for both credits (docs/methods.md, PC).

    python benchmarks/pc_credit.py

ResMLP d=64 L=3 (ReLU, terminal LN) at initialisation, a batch of 128 random inputs, PC's
defaults but `steps` and `credit`; prints the deep cosine (mean over l = 1..L of the per-sample
cosine to BP's ∂CE/∂h_l) for T = 20 and 1000.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from faspec.train.methods import BP, PC  # noqa: E402
from faspec.train.models import ResMLP  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = ResMLP(16, 10, d=64, blocks=3)
    x, y = torch.randn(128, 16), torch.randint(10, (128,))
    bp = BP(model, 10, torch.Generator()).credits(model, x, y)
    for credit in ("state", "error"):
        for steps in (20, 1000):
            pc = PC(model, 10, torch.Generator(), steps=steps, credit=credit)
            a = pc.credits(model, x, y)
            cos = [
                F.cosine_similarity(u, v, dim=1).mean().item()
                for u, v in zip(a[1:], bp[1:], strict=True)
            ]
            print(f"credit {credit:5s} T={steps:4d} deep cos {sum(cos) / len(cos):.3f}")


if __name__ == "__main__":
    main()
