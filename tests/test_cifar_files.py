"""The CIFAR path without a download: tiny CIFAR-10 and CIFAR-100 in their on-disk format
(python pickles of dicts with "data": uint8 rows, R then G then B planes of 32×32, and
"labels" or "fine_labels") read through faspec's loader.

torchvision's own reader and integrity check run: the test subclasses its dataset classes with
the md5 of the files it wrote (`faspec.train.data.TORCHVISION_CLASSES`, the loader's seam), and
points the loader at the folder through FASPEC_DATA_DIR, as a user would.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from faspec.config import normalize_config
from faspec.train import data as D


def _md5(p: Path) -> str:
    return hashlib.md5(p.read_bytes()).hexdigest()


def _write(folder: Path, name: str, obj: dict) -> Path:
    p = folder / name
    p.write_bytes(pickle.dumps(obj, protocol=2))
    return p


def _images(n: int, rng: np.random.Generator) -> np.ndarray:
    """n rows of 3072 bytes whose three planes differ (R high, G mid, B low), so a channel mix-up
    or an HWC/CHW confusion changes the values the test reads."""
    rows = rng.integers(0, 256, size=(n, 3, 1024), dtype=np.uint8)
    rows[:, 0] |= 0x80
    rows[:, 1] = (rows[:, 1] & 0x7F) | 0x40
    rows[:, 2] &= 0x3F
    return rows.reshape(n, 3072)


@pytest.fixture
def cifar_dir(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10, CIFAR100

    rng = np.random.default_rng(0)
    truth: dict[str, dict[str, tuple[np.ndarray, list[int]]]] = {}

    c10 = tmp_path / CIFAR10.base_folder
    c10.mkdir()
    train10, labels10 = [], []
    files10 = []
    for i in range(1, 6):  # five training batches of 4 images
        x, y = _images(4, rng), [int(v) for v in rng.integers(0, 10, 4)]
        files10.append(
            [f"data_batch_{i}", _md5(_write(c10, f"data_batch_{i}", {"data": x, "labels": y}))]
        )
        train10.append(x)
        labels10 += y
    xt, yt = _images(5, rng), [int(v) for v in rng.integers(0, 10, 5)]
    test10 = [["test_batch", _md5(_write(c10, "test_batch", {"data": xt, "labels": yt}))]]
    meta10 = _write(c10, "batches.meta", {"label_names": [f"c{i}".encode() for i in range(10)]})
    truth["cifar10"] = {"train": (np.concatenate(train10), labels10), "test": (xt, yt)}

    c100 = tmp_path / CIFAR100.base_folder
    c100.mkdir()
    x1, y1 = _images(6, rng), [int(v) for v in rng.integers(0, 100, 6)]
    coarse = [v // 5 for v in y1]  # the coarse labels differ: the loader must use the fine ones
    tr = _write(c100, "train", {"data": x1, "fine_labels": y1, "coarse_labels": coarse})
    x2, y2 = _images(3, rng), [int(v) for v in rng.integers(0, 100, 3)]
    te = _write(c100, "test", {"data": x2, "fine_labels": y2, "coarse_labels": [0, 0, 0]})
    meta100 = _write(
        c100, "meta", {"fine_label_names": [b"f"] * 100, "coarse_label_names": [b"c"] * 20}
    )
    truth["cifar100"] = {"train": (x1, y1), "test": (x2, y2)}

    class Tiny10(CIFAR10):
        train_list = files10
        test_list = test10
        meta = {**CIFAR10.meta, "md5": _md5(meta10)}

    class Tiny100(CIFAR100):
        train_list = [["train", _md5(tr)]]
        test_list = [["test", _md5(te)]]
        meta = {**CIFAR100.meta, "md5": _md5(meta100)}

    monkeypatch.setitem(D.TORCHVISION_CLASSES, "cifar10", Tiny10)
    monkeypatch.setitem(D.TORCHVISION_CLASSES, "cifar100", Tiny100)
    monkeypatch.setenv("FASPEC_DATA_DIR", str(tmp_path))
    return truth


def _expected(rows: np.ndarray, name: str) -> torch.Tensor:
    mean, std = D.CIFAR_STATS[name]
    x = torch.from_numpy(rows.astype(np.float32)).view(-1, 3, 1024) / 255.0
    x = (x - torch.tensor(mean).view(1, 3, 1)) / torch.tensor(std).view(1, 3, 1)
    return x.reshape(len(rows), 3072)


@pytest.mark.parametrize(("name", "n_train", "n_test"), [("cifar10", 7, 3), ("cifar100", 4, 2)])
def test_cifar_files_read_normalised_in_channel_order_and_subset(cifar_dir, name, n_train, n_test):
    cfg = normalize_config({"data": {"name": name, "n_train": n_train, "n_test": n_test}})
    data = D.load_data(cfg["data"])
    (xtr, ytr), (xte, yte) = cifar_dir[name]["train"], cifar_dir[name]["test"]
    assert data.x_train.shape == (n_train, 3072) and data.in_shape == (3, 32, 32)
    assert data.num_classes == {"cifar10": 10, "cifar100": 100}[name]
    # the first n images in file order (CIFAR-10's batches 1, 2, ... in turn), C,H,W flattened
    torch.testing.assert_close(data.x_train, _expected(xtr[:n_train], name))
    torch.testing.assert_close(data.x_test, _expected(xte[:n_test], name))
    assert data.y_train.tolist() == list(ytr[:n_train]) and data.y_test.dtype == torch.int64
    assert data.y_test.tolist() == list(yte[:n_test])
    # channel order: plane 0 is red (high bytes), so its normalised values exceed blue's
    img = data.x_train[0].view(3, 32, 32)
    mean, std = D.CIFAR_STATS[name]
    red_min = (128 / 255 - mean[0]) / std[0]
    blue_max = (63 / 255 - mean[2]) / std[2]
    assert img[0].min() >= red_min - 1e-6 and img[2].max() <= blue_max + 1e-6


def test_a_subset_larger_than_the_files_is_refused(cifar_dir):
    cfg = normalize_config({"data": {"name": "cifar10", "n_train": 21}})
    with pytest.raises(ValueError, match="n_train=21 but the train set has 20 samples"):
        D.load_data(cfg["data"])


def test_a_damaged_file_fails_torchvision_integrity_check(cifar_dir, tmp_path):
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"damaged")
    cfg = normalize_config({"data": {"name": "cifar10", "n_train": 2}})
    with pytest.raises(D.DataNotFoundError, match="could not read"):
        D.load_data(cfg["data"])
