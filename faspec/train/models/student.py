"""StudentNet: the synthetic teacher–student network of the φ_α ladder (docs/paper.md).

A ResMLP with φ_α(z) = (1−α)z + α·tanh(z) blocks and *no* terminal LayerNorm, at the paper's
d=128. It is a preset of `ResMLP` (same code path, so the block-local machinery and the
metrics see exactly the same pieces), registered under its own name so that a spec says what
the paper says. The dataset's `alpha` (the teacher) and the student's `alpha` are separate
options: the paper sets them equal; a spec sets both.
"""

from __future__ import annotations

from faspec.train.models.resmlp import ResMLP


def build_student(
    in_dim: int,
    num_classes: int,
    d: int = 128,
    blocks: int = 4,
    alpha: float = 1.0,
    hidden: int | None = None,
    skip: bool = True,
) -> ResMLP:
    """ResMLP(act='phi', terminal_ln=False): the paper's student on the φ_α ladder."""
    return ResMLP(
        in_dim,
        num_classes,
        d=d,
        blocks=blocks,
        terminal_ln=False,
        skip=skip,
        act="phi",
        hidden=hidden,
        alpha=alpha,
    )
