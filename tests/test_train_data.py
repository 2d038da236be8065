"""Datasets. CIFAR is read by torchvision's own classes from small files in CIFAR's pickle
format that the test writes. torchvision checks each file's md5 against a class-level table
(`_check_integrity`); the test registers a subclass whose table holds the md5 of *its* files
(computed here), so the real integrity check still runs. No network."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10, CIFAR100

from faspec.train import data as D
from faspec.train import normalize_config, run
from faspec.train.registry import DATASETS


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _write(path: Path, obj: dict) -> str:
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return _md5(path)


def _fake_cifar(root: Path, kind: str, n_per_file: int = 4) -> tuple[type, dict]:
    """Write a tiny CIFAR-10/100 folder under root; return a torchvision subclass that
    accepts it and the raw arrays written."""
    rng = np.random.default_rng(0)
    base = CIFAR10 if kind == "cifar10" else CIFAR100
    folder = root / base.base_folder
    folder.mkdir(parents=True)
    label_key = "labels" if kind == "cifar10" else "fine_labels"
    n_classes = 10 if kind == "cifar10" else 100
    names = [f"data_batch_{i}" for i in range(1, 6)] if kind == "cifar10" else ["train"]
    raw: dict = {"train_x": [], "train_y": [], "test_x": None, "test_y": None}

    def batch(name: str) -> tuple[str, str, np.ndarray, list[int]]:
        x = rng.integers(0, 256, size=(n_per_file, 3072), dtype=np.uint8)
        y = [int(v) for v in rng.integers(0, n_classes, size=n_per_file)]
        obj = {
            "batch_label": name,
            label_key: y,
            "data": x,
            "filenames": [f"{name}_{i}.png" for i in range(n_per_file)],
        }
        if kind == "cifar100":
            obj["coarse_labels"] = [v // 5 for v in y]
        return name, _write(folder / name, obj), x, y

    train_list = []
    for name in names:
        _, md5, x, y = batch(name)
        train_list.append([name, md5])
        raw["train_x"].append(x)
        raw["train_y"] += y
    test_name = "test_batch" if kind == "cifar10" else "test"
    _, test_md5, raw["test_x"], raw["test_y"] = batch(test_name)
    raw["train_x"] = np.concatenate(raw["train_x"])
    if kind == "cifar10":
        meta = {"filename": "batches.meta", "key": "label_names"}
        meta_obj = {"label_names": [f"c{i}" for i in range(10)], "num_cases_per_batch": 4}
    else:
        meta = {"filename": "meta", "key": "fine_label_names"}
        meta_obj = {
            "fine_label_names": [f"f{i}" for i in range(100)],
            "coarse_label_names": [f"k{i}" for i in range(20)],
        }
    meta["md5"] = _write(folder / meta["filename"], meta_obj)
    cls = type(
        f"Fixture{base.__name__}",
        (base,),
        {"train_list": train_list, "test_list": [[test_name, test_md5]], "meta": meta},
    )
    return cls, raw


@pytest.mark.parametrize("kind", ["cifar10", "cifar100"])
def test_cifar_from_files_in_cifar_format(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls, raw = _fake_cifar(tmp_path, kind)
    monkeypatch.setitem(D.TORCHVISION_CLASSES, kind, cls)
    data = DATASETS[kind].factory(data_dir=str(tmp_path))
    n_train = len(raw["train_y"])
    assert data.x_train.shape == (n_train, 3072) and data.x_train.dtype == torch.float32
    assert data.x_test.shape == (4, 3072) and data.y_test.dtype == torch.int64
    assert data.y_train.tolist() == raw["train_y"] and data.y_test.tolist() == raw["test_y"]
    assert data.num_classes == (10 if kind == "cifar10" else 100) and data.in_dim == 3072
    mean, std = (torch.tensor(v).repeat_interleave(1024) for v in D.CIFAR_STATS[kind])
    expected = (torch.from_numpy(raw["train_x"]).float() / 255 - mean) / std  # CHW rows
    torch.testing.assert_close(data.x_train, expected)
    sub = DATASETS[kind].factory(data_dir=str(tmp_path), n_train=3, n_test=2)
    assert torch.equal(sub.x_train, data.x_train[:3]) and len(sub.y_test) == 2
    with pytest.raises(ValueError, match="n_train=999"):
        DATASETS[kind].factory(data_dir=str(tmp_path), n_train=999)


def test_cifar_run_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cls, _ = _fake_cifar(tmp_path, "cifar10")
    monkeypatch.setitem(D.TORCHVISION_CLASSES, "cifar10", cls)
    out = run(
        {
            "data": {"name": "cifar10", "data_dir": str(tmp_path)},
            "model": {"d": 8, "blocks": 1},
            "method": "dfa",
            "train": {"epochs": 1, "batch_size": 8},
        },
        device="cpu",
    )
    assert out.result["status"] == "ok" and len(out.result["log"]) == 2


def test_missing_cifar_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(D.DataNotFoundError) as info:
        DATASETS["cifar10"].factory(data_dir=str(tmp_path / "nowhere"))
    msg = str(info.value)
    assert (
        str(tmp_path / "nowhere") in msg
        and "download: true" in msg
        and "FASPEC_DATA_DIR" in msg
        and "--data-dir" not in msg
    )
    monkeypatch.setenv("FASPEC_DATA_DIR", str(tmp_path / "env"))
    assert D.default_data_dir() == tmp_path / "env"
    with pytest.raises(D.DataNotFoundError, match="env"):
        DATASETS["cifar100"].factory()


def test_corrupted_cifar_is_a_clear_error(tmp_path: Path) -> None:
    _fake_cifar(tmp_path, "cifar10")  # real md5 table: our files do not match it
    with pytest.raises(D.DataNotFoundError, match="corrupted"):
        DATASETS["cifar10"].factory(data_dir=str(tmp_path))


def test_teacher_task() -> None:
    a = D.teacher(n_train=512, n_test=256)
    b = D.teacher(n_train=512, n_test=256)
    c = D.teacher(n_train=512, n_test=256, seed=1)
    assert a.x_train.shape == (512, 16) and a.x_test.shape == (256, 16)
    assert a.num_classes == 10 and a.in_dim == 16
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)
    assert len(a.y_train.unique()) >= 5  # not a degenerate argmax
    full = D.teacher()
    assert (len(full.x_train), len(full.x_test)) == (16384, 2048)
    assert torch.equal(full.x_train[:512], a.x_train)  # one stream: train first


def test_ladder_task() -> None:
    a = D.ladder(n_train=256, n_test=128)
    assert a.x_train.shape == (256, 32) and a.num_classes == 10
    assert torch.equal(a.y_train, D.ladder(n_train=256, n_test=128).y_train)
    assert torch.equal(a.x_test, D.ladder(n_train=100, n_test=128).x_test)  # own streams
    assert not torch.equal(a.y_train, D.ladder(n_train=256, n_test=128, alpha=0.0).y_train)
    assert len(a.y_train.unique()) >= 3


def test_describe_needs_no_data() -> None:
    cfg = normalize_config({"data": {"name": "cifar100", "data_dir": "/nonexistent"}})
    assert D.describe(cfg["data"]) == {"in_dim": 3072, "num_classes": 100}
    assert D.describe(normalize_config({})["data"]) == {"in_dim": 16, "num_classes": 10}


def test_teacher_balanced_keeps_the_teacher_and_balances_its_classes() -> None:
    """Same teacher and inputs as `teacher`; labels = argmax after per-class offsets fitted on
    the training inputs, so every class holds 1/C of the training labels (the argmax teacher
    gives one class about half of them)."""
    kw = {"n_train": 4096, "n_test": 1024, "seed": 3}
    bal = DATASETS["teacher_balanced"].factory(**kw)
    arg = DATASETS["teacher"].factory(**kw)
    assert torch.equal(bal.x_train, arg.x_train) and torch.equal(bal.x_test, arg.x_test)
    share = torch.bincount(bal.y_train, minlength=10).double() / 4096
    assert (share - 0.1).abs().max() < 0.01, share
    assert torch.bincount(arg.y_train, minlength=10).max() / 4096 > 0.2  # the skew it removes
    test_share = torch.bincount(bal.y_test, minlength=10).double() / 1024
    assert (test_share - 0.1).abs().max() < 0.05, test_share
    again = DATASETS["teacher_balanced"].factory(**kw)
    assert torch.equal(again.y_train, bal.y_train) and torch.equal(again.y_test, bal.y_test)
    # the labels are still the teacher's argmax wherever the offsets do not decide
    assert (bal.y_train == arg.y_train).double().mean() > 0.3


def test_balance_offsets_balance_a_skewed_score_table() -> None:
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(3000, 3, generator=g) + torch.tensor([2.0, 0.0, -1.0])
    y = (scores.double() - D.balance_offsets(scores)).argmax(dim=1)
    share = torch.bincount(y, minlength=3).double() / 3000
    assert (share - 1 / 3).abs().max() < 0.01, share
