"""Datasets: synthetic teacher tasks (no download) and CIFAR through torchvision.

A dataset factory returns a `Data` of CPU tensors (x float32, flattened to (N, in_dim); y int64);
the trainer moves it to the device once and draws minibatches as index permutations there
(no DataLoader: the models are tiny and a Python loader would dominate the step time).

Synthetic tasks are drawn from the *data seed* (`data.seed`), independent of the run seed: the
task stays fixed across an experiment's seeds, which vary only init, feedback and batch order.
The ladder draws teacher weights, training inputs and test inputs from separate streams (changing
`n_train` keeps its test set); the embedded `teacher` task keeps the reference trainer's single
stream so that docs/paper.md's figures can be checked against it (see `teacher`).
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

import torch
from torch import Tensor

from faspec.components import dataset_options, describe_data
from faspec.registry import DATASETS, ConfigError
from faspec.train.rng import derive_seed, generator


@dataclass(frozen=True)
class Data:
    """A loaded dataset. `in_shape` is the un-flattened shape of one input (for conv archs)."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int
    in_dim: int
    in_shape: tuple[int, ...]

    def to(self, device: torch.device | str) -> Data:
        return replace(
            self,
            x_train=self.x_train.to(device),
            y_train=self.y_train.to(device),
            x_test=self.x_test.to(device),
            y_test=self.y_test.to(device),
        )


class DataNotFoundError(FileNotFoundError):
    """A dataset that must be read from disk is not there (and downloading was not asked for)."""


# ---------------------------------------------------------------- teacher (embedded task) --


def teacher(
    in_dim: int = 16,
    hidden: int = 32,
    classes: int = 10,
    n_train: int = 16384,
    n_test: int = 2048,
    seed: int = 0,
) -> Data:
    """The embedded task on which depth matters (BP ≫ frozen blocks), CPU-sized.

    Teacher: W1 ~ N(0, 1/in_dim), b1 ~ N(0, 0.25) (std 0.5), W2 ~ N(0, 1/hidden);
    y = argmax(relu(x W1 + b1) W2) with x ~ N(0, I_in_dim).

    Draw order (one CPU generator seeded with the data seed): W1, b1, W2, then x for
    n_train + n_test samples; the first n_train are the training set. This order reproduces
    docs/paper.md's reference figures (BP 0.910 vs 0.912, frozen 0.817 vs 0.819 at data seed 0),
    whereas other draws of the same distribution give BP anywhere in 0.86-0.90: the task, not
    only its distribution, is part of the reference. The price: the test set depends on n_train.
    """
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(in_dim, hidden, generator=g) / math.sqrt(in_dim)
    b1 = torch.randn(hidden, generator=g) * 0.5
    w2 = torch.randn(hidden, classes, generator=g) / math.sqrt(hidden)
    x = torch.randn(n_train + n_test, in_dim, generator=g)
    y = (torch.relu(x @ w1 + b1) @ w2).argmax(dim=1)
    return Data(
        x[:n_train].contiguous(),
        y[:n_train].contiguous(),
        x[n_train:].contiguous(),
        y[n_train:].contiguous(),
        classes,
        in_dim,
        (in_dim,),
    )


def balance_offsets(scores: Tensor, iters: int = 3000) -> Tensor:
    """Per-class offsets c such that argmax(scores − c) puts about 1/C of the rows in every
    class: a deterministic fixed-step search (c_k rises while class k holds more than its share)
    on the given rows (float64, no randomness)."""
    s = scores.double()
    n, k = s.shape
    c = torch.zeros(k, dtype=torch.float64)
    step = 0.5 * float(s.std())
    for i in range(iters):
        share = torch.bincount((s - c).argmax(dim=1), minlength=k).double() / n
        c += step / (1.0 + i / 100.0) * (share - 1.0 / k)
    return c


def teacher_balanced(
    in_dim: int = 16,
    hidden: int = 32,
    classes: int = 10,
    n_train: int = 16384,
    n_test: int = 2048,
    seed: int = 0,
) -> Data:
    """`teacher` with every class holding about 1/C of the samples.

    The argmax teacher gives one class about half of the labels; then every sample's gradient
    points much the same way and the stability diagnostic (c) fires for every method, BP
    included. Here the same teacher and inputs (same draws, same order) are labelled by
    argmax(outputs − c), with per-class offsets c fitted on the training inputs
    (`balance_offsets`) and applied to both sets. Still the argmax of a one-hidden-layer ReLU
    net shifted by constants, so the same kind of boundary; only the class priors change.
    """
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(in_dim, hidden, generator=g) / math.sqrt(in_dim)
    b1 = torch.randn(hidden, generator=g) * 0.5
    w2 = torch.randn(hidden, classes, generator=g) / math.sqrt(hidden)
    x = torch.randn(n_train + n_test, in_dim, generator=g)
    scores = torch.relu(x @ w1 + b1) @ w2
    y = (scores.double() - balance_offsets(scores[:n_train])).argmax(dim=1)
    return Data(
        x[:n_train].contiguous(),
        y[:n_train].contiguous(),
        x[n_train:].contiguous(),
        y[n_train:].contiguous(),
        classes,
        in_dim,
        (in_dim,),
    )


# ---------------------------------------------------------------- ladder (φ_α teacher) -----


def ladder(
    alpha: float = 1.0,
    depth: int = 4,
    in_dim: int = 32,
    width: int = 128,
    classes: int = 10,
    n_train: int = 8192,
    n_test: int = 2048,
    seed: int = 0,
) -> Data:
    """Teacher = a random residual pre-LN ResMLP (φ_α activation, no terminal LN, PyTorch default
    init drawn from the data seed); labels = argmax of its logits on x ~ N(0, I)."""
    from faspec.train.models.resmlp import ResMLP

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "teacher"))
        net = ResMLP(
            in_dim, classes, d=width, blocks=depth, terminal_ln=False, act="phi", alpha=alpha
        )
    net.eval()

    def sample(n: int, stream: str) -> tuple[Tensor, Tensor]:
        x = torch.randn(n, in_dim, generator=generator(seed, stream))
        with torch.no_grad():
            y = net(x).argmax(dim=1)
        return x, y

    x_tr, y_tr = sample(n_train, "train_x")
    x_te, y_te = sample(n_test, "test_x")
    return Data(x_tr, y_tr, x_te, y_te, classes, in_dim, (in_dim,))


# ---------------------------------------------------------------- CIFAR -------------------

# Per-channel statistics of the training sets. CIFAR-10's are the paper's [X]. For CIFAR-100 we
# use its own training-set statistics rather than CIFAR-10's (docs/paper.md does not say which the
# paper used; the difference is a small affine change of the inputs).
CIFAR_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
# Overrides of the torchvision classes used to read the files: tests put subclasses here whose md5
# table matches their small fixture files, so torchvision's own integrity check still runs.
# torchvision itself is imported only when CIFAR is read (it costs seconds at every CLI start).
TORCHVISION_CLASSES: dict[str, type] = {}


def _cifar_class(name: str) -> type:
    if name in TORCHVISION_CLASSES:
        return TORCHVISION_CLASSES[name]
    from torchvision.datasets import CIFAR10, CIFAR100

    return {"cifar10": CIFAR10, "cifar100": CIFAR100}[name]


NUM_CLASSES = {"cifar10": 10, "cifar100": 100}


def default_data_dir() -> Path:
    """$FASPEC_DATA_DIR, else ~/.cache/faspec/data."""
    env = os.environ.get("FASPEC_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "faspec" / "data"


def _cifar_split(name: str, root: Path, train: bool, download: bool) -> tuple[Tensor, Tensor]:
    cls = _cifar_class(name)
    folder = root / cls.base_folder
    advice = (
        f"pass `download: true` in the data options, or point the data option `data_dir` (or "
        f"FASPEC_DATA_DIR, on every Ray node) at a directory that holds {cls.base_folder}/"
    )
    if not download and not folder.is_dir():
        raise DataNotFoundError(f"{name}: no dataset in {root} (expected {folder}); {advice}")
    try:
        ds = cls(root=str(root), train=train, download=download)
    except RuntimeError as exc:  # torchvision: "Dataset not found or corrupted ..."
        raise DataNotFoundError(f"{name}: could not read {folder}: {exc}; {advice}") from exc
    x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).float().div_(255.0)  # N,3,32,32
    mean, std = CIFAR_STATS[name]
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    return x.reshape(len(x), -1).contiguous(), torch.tensor(ds.targets, dtype=torch.int64)


def _subset(x: Tensor, y: Tensor, n: int | None, name: str, split: str) -> tuple[Tensor, Tensor]:
    if n is None:
        return x, y
    if n > len(x):
        raise ValueError(f"{name}: n_{split}={n} but the {split} set has {len(x)} samples")
    return x[:n].contiguous(), y[:n].contiguous()


def _cifar(
    name: str, data_dir: str | None, download: bool, n_train: int | None, n_test: int | None
) -> Data:
    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    x_tr, y_tr = _subset(*_cifar_split(name, root, True, download), n_train, name, "train")
    x_te, y_te = _subset(*_cifar_split(name, root, False, download), n_test, name, "test")
    return Data(x_tr, y_tr, x_te, y_te, NUM_CLASSES[name], 3 * 32 * 32, (3, 32, 32))


def cifar10(
    data_dir: str | None = None,
    download: bool = False,
    n_train: int | None = None,
    n_test: int | None = None,
) -> Data:
    """CIFAR-10, per-channel normalized, flattened (C, H, W order) to 3072 values."""
    return _cifar("cifar10", data_dir, download, n_train, n_test)


def cifar100(
    data_dir: str | None = None,
    download: bool = False,
    n_train: int | None = None,
    n_test: int | None = None,
) -> Data:
    """CIFAR-100 with its 100 fine labels, per-channel normalized, flattened to 3072 values."""
    return _cifar("cifar100", data_dir, download, n_train, n_test)


# ---------------------------------------------------------------- CIFAR-shaped synthetic --

CALIBRATION = 8192  # samples that fix cifar_synth's per-class standardization


def cifar_synth(
    classes: int = 10,
    grid: int = 2,
    noise: float = 0.5,
    hidden: int = 32,
    n_train: int = 4096,
    n_test: int = 1024,
    seed: int = 0,
) -> Data:
    """Smoke-test data for the image architectures, with CIFAR's shape and none of its files.

    Each image is a blocky random picture plus pixel noise: z ~ N(0, I) on 3×grid×grid,
    upsampled (nearest) to 3×32×32, plus `noise`·N(0, 1) per pixel. The label comes from the
    embedded task's teacher applied to z. The teacher is one hidden ReLU layer with
    W1 ~ N(0, 1/in), b1 ~ N(0, 0.25) and W2 ~ N(0, 1/hidden). Each of its outputs is
    standardized over a calibration sample so that the classes are balanced; the label is the
    argmax. Convolutions and patch embeddings (a ViT patch of 32/grid sees one cell) read z
    easily. A frozen random feature extractor only partly does, so depth matters.

    Pure pixel noise would bury a pooled teacher's signal in 3072 dimensions, and the small
    networks would stay near chance. Teacher weights, training images and test images come from
    separate streams of the data seed, so changing `n_train` keeps the test set.
    """
    if 32 % grid:
        raise ValueError(f"cifar_synth: grid={grid} does not divide 32")
    n_in = 3 * grid * grid
    g = generator(seed, "teacher")
    w1 = torch.randn(n_in, hidden, generator=g) / math.sqrt(n_in)
    b1 = torch.randn(hidden, generator=g) * 0.5
    w2 = torch.randn(hidden, classes, generator=g) / math.sqrt(hidden)

    def teacher(z: Tensor) -> Tensor:
        return torch.relu(z.flatten(1) @ w1 + b1) @ w2

    out = teacher(torch.randn(CALIBRATION, n_in, generator=g))
    mean, std = out.mean(dim=0), out.std(dim=0)

    def sample(n: int, stream: str) -> tuple[Tensor, Tensor]:
        gs = generator(seed, stream)  # noise from a sub-stream: a prefix of n samples is
        g_noise = torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=gs)))
        z = torch.randn(n, 3, grid, grid, generator=gs)  # the same for any larger n
        x = torch.nn.functional.interpolate(z, size=(32, 32), mode="nearest")
        x = x + noise * torch.randn(x.shape, generator=g_noise)
        y = ((teacher(z) - mean) / std).argmax(dim=1)
        return x.flatten(1).contiguous(), y

    x_tr, y_tr = sample(n_train, "train_x")
    x_te, y_te = sample(n_test, "test_x")
    return Data(x_tr, y_tr, x_te, y_te, classes, 3 * 32 * 32, (3, 32, 32))


# ---------------------------------------------------------------- loading -----------------


@functools.lru_cache(maxsize=2)
def _load_cached(key: str) -> Data:
    cfg = json.loads(key)
    data = DATASETS[cfg["name"]].factory(**dataset_options(cfg))
    check_data(data, cfg)
    return data


def check_data(data: Any, data_cfg: dict[str, Any]) -> None:
    """Raise a ConfigError (path `data.name`, naming the dataset and its package) unless a
    factory's output is a `Data` whose tensors agree with its own `in_dim`/`num_classes` and
    with the dataset's `describe`: a plug-in that swaps two fields would otherwise fail every
    run later with a bare shape error naming neither the dataset nor the plug-in."""
    comp = DATASETS[data_cfg["name"]]
    where = f"dataset {comp.name!r} (package {comp.package or 'unknown'!r})"

    def fail(problem: str, hint: str = "") -> NoReturn:
        raise ConfigError(
            "data.name",
            f"{where}: {problem}",
            hint
            or "return Data(x_train=..., y_train=..., x_test=..., y_test=..., "
            "num_classes=..., in_dim=..., in_shape=...) with keyword arguments "
            "(docs/plugins.md, 'Dataset')",
        )

    if not isinstance(data, Data):
        fail(f"its factory returned {type(data).__name__}, not a faspec.train.data.Data")
    for split in ("train", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
            fail(f"x_{split} and y_{split} must be tensors")
        if x.dim() != 2 or x.shape[1] != data.in_dim:
            fail(f"x_{split} has shape {tuple(x.shape)} but in_dim is {data.in_dim}")
        if x.dtype != torch.float32 or y.dtype != torch.int64:
            fail(f"x_{split} must be float32 and y_{split} int64, got {x.dtype}, {y.dtype}")
        if y.shape != (x.shape[0],):
            fail(f"y_{split} has shape {tuple(y.shape)}, x_{split} has {x.shape[0]} rows")
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= data.num_classes):
            fail(
                f"y_{split} holds labels {int(y.min())}..{int(y.max())} but num_classes is "
                f"{data.num_classes} (labels must be in 0..num_classes-1)"
            )
    if math.prod(data.in_shape) != data.in_dim:
        fail(
            f"in_shape {tuple(data.in_shape)} has {math.prod(data.in_shape)} entries, "
            f"in_dim is {data.in_dim}"
        )
    if comp.describe is not None:
        said = describe_data(data_cfg)
        got = {"in_dim": data.in_dim, "num_classes": data.num_classes}
        if said != got:
            fail(f"describe() says {said} but the factory returned {got}")


def load_data(data_cfg: dict[str, Any]) -> Data:
    """Load (CPU tensors) the dataset of a normalized `data` section.

    The last two datasets are cached in-process, so many runs of one experiment in one worker
    read CIFAR once; callers must not modify the returned tensors in place.
    """
    return _load_cached(json.dumps(data_cfg, sort_keys=True))


def describe(data_cfg: dict[str, Any]) -> dict[str, int]:
    """in_dim and num_classes of a normalized `data` section: from the dataset's `describe`
    (no data loaded), or, for a plug-in dataset that has none, by loading it."""
    if DATASETS[data_cfg["name"]].describe is None:
        data = load_data(data_cfg)
        return {"in_dim": data.in_dim, "num_classes": data.num_classes}
    return describe_data(data_cfg)
