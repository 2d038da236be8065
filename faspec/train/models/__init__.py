"""Architectures.

The arch contract every registered model honours (the methods and the metrics rely on it):

* ``model(x, return_hidden=True) -> (logits, [h_0, ..., h_L])``; ``h_0 = embed(x)``;
* ``embed`` (a module: x -> h_0), ``blocks`` (``nn.ModuleList``; block l maps h_l -> f_l(h_l)),
  ``combine(h_l, f_l) -> h_{l+1}`` (``h_l + f_l`` with a skip, ``f_l`` without),
  ``out_ln`` (LayerNorm or Identity), ``head`` (Linear d -> C),
  ``head_logits(h_L) = head(out_ln(h_L))``;
* ``widths``: the feature size of each h_l (a list of L+1 ints). Every h_l is a *flat* per-sample
  vector (N, widths[l]) — image archs flatten feature maps and token sets — so that per-sample
  norms (`norm(dim=-1)`), cosines and credits mean the same on every architecture.

Block-local methods call these pieces one unit at a time, so a model that fuses them in its
forward pass but not in these attributes would be trained wrongly: keep them the same code path.
"""

from faspec.train.models.cnn import SmallCNN
from faspec.train.models.resmlp import ACTIVATIONS, Block, Phi, ResMLP
from faspec.train.models.student import build_student
from faspec.train.models.vit import ViTMini

__all__ = ["ACTIVATIONS", "Block", "Phi", "ResMLP", "SmallCNN", "ViTMini", "build_student"]
