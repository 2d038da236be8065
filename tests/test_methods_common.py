"""Options that hold for every method (penalty, random targets, checkpoints), the support matrix,
and the arch contract of ViT-Mini, SmallCNN and StudentNet."""

from __future__ import annotations

import io

import pytest
import torch

from faspec.train import ConfigError, build, load_checkpoint, normalize_config, run
from faspec.train.data import load_data
from faspec.train.methods import PC, CreditBridge, StateBridge, unit_forward
from faspec.train.models import ResMLP, SmallCNN, ViTMini
from faspec.train.registry import ARCHS, DATASETS, METHODS

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


LADDER = {"name": "ladder", "in_dim": 8, "width": 8, "n_train": 256, "n_test": 64}
SYNTH = {"name": "cifar_synth", "n_train": 64, "n_test": 32}
TINY_ARCHS = {
    "resmlp": ({"arch": "resmlp", "d": 8, "blocks": 2}, LADDER),
    "student": ({"arch": "student", "d": 8, "blocks": 2}, LADDER),
    "vit": ({"arch": "vit", "d": 8, "blocks": 2, "patch": 16, "heads": 2, "mlp": 1}, SYNTH),
    "cnn": ({"arch": "cnn", "width": 2, "fc": 8}, SYNTH),
}
FAST = {
    "pc": {"steps": 3},
    "ep": {"free_steps": 3, "nudged_steps": 2},
    "sb": {"hidden": 8},
    "cb": {"hidden": 8},
}
SUPPORTED = {  # the support matrix of docs/methods.md
    "resmlp": {"bp", "fa", "dfa", "pc", "ep", "sb", "cb", "frozen"},
    "student": {"bp", "fa", "dfa", "pc", "ep", "sb", "cb", "frozen"},
    "vit": {"bp", "dfa", "pc", "sb", "cb", "frozen"},
    "cnn": {"bp", "dfa", "pc", "ep", "sb", "cb", "frozen"},
}


def tiny(name: str, arch: str = "resmlp", **over: dict) -> dict:
    model, data = TINY_ARCHS[arch]
    cfg = {
        "seed": 7,
        "method": {"name": name, **FAST.get(name, {})},
        "model": dict(model),
        "data": dict(data),
        "train": {"epochs": 2, "batch_size": 64},
        "measure": {"eval_batch": 32, "rho_dirs": 2},
    }
    for section, values in over.items():
        cfg[section].update(values)
    return cfg


# ---------------------------------------------------------------- support matrix ---------


def test_registered_names() -> None:
    assert {"bp", "fa", "dfa", "pc", "ep", "sb", "cb", "frozen"} <= set(METHODS)
    assert {"resmlp", "student", "vit", "cnn"} <= set(ARCHS)
    assert {"teacher", "ladder", "cifar10", "cifar100", "cifar_synth"} <= set(DATASETS)


@pytest.mark.parametrize("arch", sorted(TINY_ARCHS))
def test_support_matrix(arch: str) -> None:
    for method in ("bp", "fa", "dfa", "pc", "ep", "sb", "cb", "frozen"):
        if method in SUPPORTED[arch]:
            normalize_config(tiny(method, arch))
        else:
            with pytest.raises(ConfigError) as err:
                normalize_config(tiny(method, arch))
            assert err.value.path == "method.name"
            if method == "ep":  # refused by its own check: implemented for the MLPs only
                assert arch in err.value.message and "resmlp" in err.value.message
            else:
                assert "equal_width" in err.value.message and "resmlp" in err.value.hint


@pytest.mark.parametrize(
    ("over", "path"),
    [
        ({"model": {"arch": "vit"}}, "model.arch"),  # ViT on the (non-image) ladder
        ({"model": {"arch": "cnn"}, "data": {"name": "teacher"}}, "model.arch"),
        ({"model": {"arch": "vit", "patch": 5}, "data": SYNTH}, "model"),
        ({"model": {"arch": "vit", "d": 10, "heads": 4}, "data": SYNTH}, "model.heads"),
        ({"model": {"arch": "cnn", "channels": 1}, "data": SYNTH}, "model.channels"),
        ({"data": {**SYNTH, "grid": 3}, "model": {"arch": "cnn"}}, "data.grid"),
        ({"method": {"name": "cb", "ema": 1.5}}, "method.ema"),
        ({"method": {"name": "sb", "warmup": 2.0}}, "method.warmup"),
        ({"method": {"name": "pc", "credit": "energy"}}, "method.credit"),
        ({"method": {"name": "pc", "beta": 0}}, "method.beta"),
        ({"method": {"name": "pc", "steps": 2.5}}, "method.steps"),
        ({"method": {"name": "ep", "beta": 0}}, "method.beta"),
        ({"method": {"name": "ep", "free_steps": 0}}, "method.free_steps"),
        ({"method": {"name": "ep", "nudge": "both"}}, "method.nudge"),
        ({"method": {"name": "ep", "predict": "ff"}}, "method.predict"),
    ],
)
def test_invalid_configs_are_rejected(over: dict, path: str) -> None:
    cfg = {"method": {"name": "bp"}, "data": LADDER, **over}
    with pytest.raises(ConfigError) as err:
        normalize_config(cfg)
    assert err.value.path == path, err.value


def test_defaults_are_filled_and_stable() -> None:
    for method, keys in {
        "pc": {"beta", "steps", "step_size", "credit", "nudge", "clamp_h0"},
        "ep": {"beta", "free_steps", "nudged_steps", "step_size", "self_weight", "nudge"}
        | {"start", "predict"},
        "sb": {"condition", "hidden", "depth", "act", "normalize", "warmup"},
        "cb": {"tgw", "ema", "noise", "noise_samples", "tau", "warmup", "value_weight"},
    }.items():
        cfg = normalize_config({"method": method, "data": LADDER})
        assert keys | {"penalty", "targets", "version"} <= set(cfg["method"])
        assert normalize_config(cfg) == cfg
    assert normalize_config({"method": "cb"})["method"]["warmup"] == 0.2
    assert normalize_config({"method": "sb"})["method"]["warmup"] == 0.0


# ---------------------------------------------------------------- architectures ----------


@pytest.mark.parametrize("arch", sorted(TINY_ARCHS))
def test_arch_contract(arch: str) -> None:
    cfg = normalize_config(tiny("bp", arch))
    data = load_data(cfg["data"])
    model, _ = build(cfg, data.in_dim, data.num_classes)
    model.eval()
    x = data.x_test[:5]
    logits, hs = model(x, return_hidden=True)
    assert logits.shape == (5, data.num_classes)
    assert len(hs) == len(model.blocks) + 1 == len(model.widths)
    assert [h.shape for h in hs] == [(5, w) for w in model.widths]  # flat per-sample states
    torch.testing.assert_close(hs[0], model.embed(x))
    for i, block in enumerate(model.blocks):
        torch.testing.assert_close(hs[i + 1], model.combine(hs[i], block(hs[i])))
    torch.testing.assert_close(logits, model.head_logits(hs[-1]))
    fwd = unit_forward(model, x, local=True)
    torch.testing.assert_close(fwd.logits, logits)


def test_vit_shapes_and_cls_token() -> None:
    torch.manual_seed(0)
    model = ViTMini(3072, 10)  # the paper's ViT-Mini: d=128, 4 blocks, patch 4, 4 heads
    assert model.tokens == 65 and model.widths == [65 * 128] * 5
    assert isinstance(model.out_ln, torch.nn.LayerNorm) and model.head.in_features == 128
    _, hs = model(torch.randn(8, 3072), return_hidden=True)
    cls_norm = model.cls(hs[0]).norm(dim=-1).median().item()
    assert 0.1 < cls_norm < 1.5  # the notes: the cls token starts tiny
    assert isinstance(ViTMini(3072, 10, terminal_ln=False).out_ln, torch.nn.Identity)


def test_cnn_shapes_and_batchnorm() -> None:
    torch.manual_seed(0)
    model = SmallCNN(3072, 10)
    assert model.widths == [32 * 16 * 16, 64 * 8 * 8, 128 * 4 * 4, 256]
    assert isinstance(model.out_ln, torch.nn.Identity) and len(model.blocks) == 3
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 3
    model.eval()  # eval: samples are independent (running statistics)
    x = torch.randn(4, 3072)
    torch.testing.assert_close(model(x)[:1], model(x[:1]))


def test_student_is_phi_resmlp_without_terminal_ln() -> None:
    cfg = normalize_config({"model": {"arch": "student", "alpha": 0.25}, "data": LADDER})
    assert cfg["model"]["d"] == 128
    model, _ = build(cfg, 8, 10)
    assert isinstance(model, ResMLP) and isinstance(model.out_ln, torch.nn.Identity)
    assert model.blocks[0].act.alpha == 0.25


def test_cifar_synth() -> None:
    cfg = normalize_config({"data": {"name": "cifar_synth", "n_train": 128, "n_test": 64}})
    data = load_data(cfg["data"])
    assert data.x_train.shape == (128, 3072) and data.in_shape == (3, 32, 32)
    assert len(set(data.y_train.tolist())) >= 5
    bigger = load_data({**cfg["data"], "n_train": 256})
    assert torch.equal(bigger.x_test, data.x_test) and torch.equal(bigger.y_test, data.y_test)
    assert torch.equal(bigger.x_train[:128], data.x_train)


# ---------------------------------------------------------------- every method -----------


@pytest.mark.parametrize(
    "make",
    [
        lambda m: PC(m, 5, torch.Generator(), steps=3),
        lambda m: StateBridge(m, 5, torch.Generator().manual_seed(0), hidden=8),
        lambda m: CreditBridge(m, 5, torch.Generator().manual_seed(0), hidden=8),
    ],
    ids=["pc", "sb", "cb"],
)
def test_penalty_adds_two_lambda_f_to_block_output_gradient(make: object) -> None:
    """With the same credits, λ changes each block's parameter gradient by exactly
    J_θᵀ(2λ f_l / N): the gradient of λ·mean_batch‖f_l‖² (and the embed's not at all)."""
    torch.manual_seed(0)
    model = ResMLP(9, 5, d=10, blocks=2, hidden=8).double()
    x = torch.randn(6, 9, dtype=torch.float64)
    y = torch.randint(5, (6,))
    lam = 0.37

    def grads(penalty: float) -> dict[str, torch.Tensor]:
        method = make(model)  # type: ignore[operator]
        method.penalty = penalty
        model.zero_grad()
        method.loss(model, x, y)[0].backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    g0, g1 = grads(0.0), grads(lam)
    model.zero_grad()
    fwd = unit_forward(model, x, local=True)
    sum(lam * f.pow(2).sum(-1).mean() for f in fwd.units[1:]).backward()
    for n, p in model.named_parameters():
        expected = p.grad if p.grad is not None else torch.zeros_like(g0[n])
        torch.testing.assert_close(g1[n] - g0[n], expected, msg=n)
        if n.startswith("embed") or n.startswith("head") or n.startswith("out_ln"):
            torch.testing.assert_close(g1[n], g0[n], msg=n)


@pytest.mark.parametrize("method", ["pc", "ep", "sb", "cb"])
def test_random_targets_every_batch_test_labels_untouched(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = METHODS[method].factory
    seen_train: list[torch.Tensor] = []
    seen_eval: list[torch.Tensor] = []
    real_loss, real_credits = cls.loss, cls.credits

    def spy_loss(self, model, x, y):  # noqa: ANN001, ANN202
        seen_train.append(y.clone())
        return real_loss(self, model, x, y)

    def spy_credits(self, model, x, y):  # noqa: ANN001, ANN202
        seen_eval.append(y.clone())
        return real_credits(self, model, x, y)

    monkeypatch.setattr(cls, "loss", spy_loss)
    monkeypatch.setattr(cls, "credits", spy_credits)
    cfg = normalize_config(
        tiny(
            method,
            method={"targets": "random"},
            train={"batch_size": 256, "epochs": 2},
            measure={"rho_dirs": 0, "stability_batch": 16},
        )
    )
    data = load_data(cfg["data"])
    y_test = data.y_test.clone()
    run(cfg, device="cpu")
    assert len(seen_train) == 2
    for y in seen_train:
        assert not torch.equal(y.sort().values, data.y_train.sort().values)
    assert not torch.equal(seen_train[0], seen_train[1])
    assert torch.equal(data.y_test, y_test)
    assert seen_eval and all(torch.equal(y, data.y_test[: len(y)]) for y in seen_eval)


@pytest.mark.parametrize(
    ("method", "arch"),
    [("sb", "resmlp"), ("cb", "resmlp"), ("fa", "student"), ("dfa", "cnn"), ("cb", "vit")],
)
def test_feedback_state_saved_and_restored_bit_identically(method: str, arch: str) -> None:
    cfg = normalize_config(tiny(method, arch, train={"lr": 1e-2}, measure={"rho_dirs": 0}))
    model0, method0 = build(cfg, *_shape(cfg))
    init = {k: v.clone() for k, v in method0.state_dict().items()}
    out = run(cfg, device="cpu")
    saved = torch.load(io.BytesIO(out.checkpoint), weights_only=True)
    model1, method1 = load_checkpoint(cfg, out.checkpoint)
    assert set(saved["method"]) == set(init) == set(method1.state_dict())
    for k, v in saved["method"].items():
        assert torch.equal(method1.state_dict()[k], v), k
        if k.startswith("B"):  # fixed feedback: neither trained nor decayed
            assert torch.equal(v, init[k]), k
    for k, v in saved["model"].items():
        assert torch.equal(model1.state_dict()[k], v), k
    if method in ("sb", "cb"):  # the learned feedback did train and is what was restored
        assert not torch.equal(saved["method"]["net.inp.0.weight"], init["net.inp.0.weight"])
        trainable = {id(p) for p in method1.trainable_parameters(model1)}
        assert {id(p) for p in method1.net.parameters()} <= trainable
    if method == "cb":
        assert any(k.startswith("target.") for k in saved["method"])


def _shape(cfg: dict) -> tuple[int, int]:
    from faspec.train.data import describe

    info = describe(cfg["data"])
    return info["in_dim"], info["num_classes"]


@pytest.mark.parametrize("arch", sorted(TINY_ARCHS))
def test_every_supported_method_runs_on_every_arch(arch: str) -> None:
    for method in sorted(SUPPORTED[arch]):
        out = run(tiny(method, arch, measure={"rho_dirs": 0, "stability_batch": 16}), "cpu")
        assert out.result["status"] == "ok", (arch, method)
        entry = out.result["log"][-1]
        assert entry["test_acc"] is not None
        assert (entry["cos_layers"] is None) == (method == "frozen"), (arch, method)


def test_one_step_of_every_method_on_every_arch() -> None:
    """Loss and credits of every supported (method, arch) pair: finite, one credit per h_l."""
    for arch, names in SUPPORTED.items():
        for name in sorted(names):
            cfg = normalize_config(tiny(name, arch))
            data = load_data(cfg["data"])
            model, method = build(cfg, data.in_dim, data.num_classes)
            method.begin_epoch(1, 2)
            loss, ce = method.loss(model, data.x_train[:16], data.y_train[:16])
            loss.backward()
            assert torch.isfinite(loss) and torch.isfinite(ce), (arch, name)
            model.eval()
            credits = method.credits(model, data.x_test[:4], data.y_test[:4])
            if name == "frozen":
                assert credits is None
            else:
                assert [a.shape[1] for a in credits] == model.widths, (arch, name)
                assert all(torch.isfinite(a).all() for a in credits), (arch, name)


def test_plugin_method_through_an_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party package exposes a `Component` under the `faspec.methods` entry-point
    group; once loaded, a config names it like a built-in and it trains."""
    import importlib.metadata

    from faspec.train import registry
    from faspec.train.methods import DFA
    from faspec.train.methods.base import COMMON_OPTIONS
    from faspec.train.registry import Component, Option

    class HalfDFA(DFA):
        def __init__(self, model, num_classes, generator, scale=0.5, **options):  # noqa: ANN001
            super().__init__(model, num_classes, generator, **options)
            self.scale = scale

        def credits_from(self, model, fwd, y):  # noqa: ANN001, ANN201
            return [self.scale * a for a in super().credits_from(model, fwd, y)]

    comp = Component(
        "half_dfa",
        1,
        HalfDFA,
        {**COMMON_OPTIONS, "scale": Option(float, 0.5, "credit scale")},
        doc="DFA at half scale",
        kind="method",  # as faspec.plugin.method declares it; a kind-less one is refused
    )

    class EntryPoint:
        name, value = "half_dfa", "pkg:component"

        def load(self) -> Component:
            return comp

    real = importlib.metadata.entry_points

    def fake(**kw):  # noqa: ANN003, ANN202 - other callers (torch's triton) keep the real ones
        if kw.get("group") in registry.ENTRY_POINT_GROUPS:
            return [EntryPoint()] if kw["group"] == "faspec.methods" else []
        return real(**kw)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry, "PLUGIN_ERRORS", [])  # what this test records stays here
    monkeypatch.delitem(METHODS, "half_dfa", raising=False)
    try:
        registry.load_plugins()
        assert METHODS["half_dfa"] is comp
        cfg = normalize_config(tiny("half_dfa", method={"scale": 0.25}, measure={"rho_dirs": 0}))
        assert cfg["method"] == {**cfg["method"], "name": "half_dfa", "version": 1, "scale": 0.25}
        assert run(cfg, device="cpu").result["status"] == "ok"
    finally:
        METHODS.pop("half_dfa", None)
