"""Two moons: two interleaved half circles, labels 0 and 1."""

import math

import torch

from faspec.train.data import Data


def two_moons(n_train=1024, n_test=512, noise=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = n_train + n_test
    y = torch.randint(0, 2, (n,), generator=g)
    t = torch.rand(n, generator=g) * math.pi
    x = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    x[y == 1] = torch.stack([1 - torch.cos(t[y == 1]), 0.5 - torch.sin(t[y == 1])], dim=1)
    x = x + noise * torch.randn(n, 2, generator=g)
    return Data(x[:n_train], y[:n_train], x[n_train:], y[n_train:], 2, 2, (2,))
