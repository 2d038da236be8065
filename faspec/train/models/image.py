"""Shared pieces of the image architectures (ViT-Mini, SmallCNN).

Datasets hand every architecture flat inputs (N, in_dim) (see `faspec.train.data`); an image
architecture un-flattens them to (N, C, S, S) with C = its `channels` option and S inferred from
in_dim (`image_side`). The matching check — an MLP-shaped dataset or a patch that does not divide
the image side is rejected before any training — is part of the torch-free declarations
(`faspec.components`), so a spec is validated without torch.
"""

from faspec.components import image_side

__all__ = ["image_side"]
